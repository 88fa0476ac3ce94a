from __future__ import annotations

import pyarrow as pa
import pytest

from kikan_hub.gaiji.errors import GaijiError
from kikan_hub.gaiji.resolve import Resolver

HEADER = "source_system,source_code,pua,glyph_note,mj,gj,ucs,status,decided_by,decided_at\n"


@pytest.fixture
def register(tmp_path):
    p = tmp_path / "gaiji_register.csv"
    p.write_text(HEADER +
                 "旧住記,F040,U+E000,はしご高,MJ028902,,9AD9,同定済,tanaka,2024-04-01T10:00:00+09:00\n"
                 "旧住記,F041,U+E001,,MJ000007,,,同定済,tanaka,2024-04-01T10:00:00+09:00\n"
                 "旧住記,F042,U+E002,読み:たか 11画,,,,未同定,,\n"
                 "旧住記,F043,U+E003,,,GJ000001,,同定済,tanaka,2024-04-01T10:00:00+09:00\n"
                 "旧住記,F044,U+E004,,,,5F8A E0101,同定済,tanaka,2024-04-01T10:00:00+09:00\n", encoding="utf-8")
    return p


def test_ucs_rows_resolve_without_index(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(HEADER + "旧住記,F040,U+E000,,MJ028902,,9AD9,同定済,t,2024-04-01\n", encoding="utf-8")
    r = Resolver.from_register(p)
    out, unresolved = r.resolve_array(pa.array(["\ue000橋", "田中"]))
    assert out.to_pylist() == ["髙橋", "田中"] and unresolved == []


def test_mj_only_rows_need_the_index(register):
    with pytest.raises(GaijiError, match="MJ index"):
        Resolver.from_register(register)


def test_resolution_and_unresolved_reporting(register, mj_index):
    r = Resolver.from_register(register, mj_index, gj_code_points={"GJ000001": "U+F0001"})
    arr = pa.array(["山田", "\ue000橋", None, "\ue001\ue002子\ue002", "\ue003", "\ue004", "\ue7ff"])
    out, unresolved = r.resolve_array(arr)
    assert out.to_pylist() == ["山田", "髙橋", None, "\u3404\U000E0101\ue002子\ue002", "\U000F0001",
                               "\u5f8a\U000E0101", "\ue7ff"]
    assert unresolved == [(3, "\ue002", "F042"), (3, "\ue002", "F042"), (6, "\ue7ff", "U+E7FF")]
    assert "\ufffd" not in "".join(v for v in out.to_pylist() if v)
    out2, un2, hits = r.resolve_array(arr, with_hits=True)
    assert hits == {"F040": 1, "F041": 1, "F043": 1, "F044": 1}


def test_gj_without_configuration_stays_unresolved(register, mj_index):
    r = Resolver.from_register(register, mj_index)
    out, unresolved = r.resolve_array(pa.array(["\ue003"]))
    assert out.to_pylist() == ["\ue003"] and unresolved == [(0, "\ue003", "F043")]


def test_plain_values_never_leave_arrow(register, mj_index):
    r = Resolver.from_register(register, mj_index)
    arr = pa.array(["山田"] * 10, type=pa.large_string())
    out, unresolved = r.resolve_array(arr)
    assert out is arr and unresolved == []
    chunked = pa.chunked_array([["\ue000"], ["x"]])
    assert r.resolve_array(chunked)[0].to_pylist() == ["髙", "x"]


def test_empty_resolver_reports_everything():
    out, unresolved = Resolver.empty().resolve_array(pa.array(["a\ue010"]))
    assert out.to_pylist() == ["a\ue010"] and unresolved == [(0, "\ue010", "U+E010")]


def test_conflicting_claims_on_one_pua(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(HEADER + "A,F040,U+E000,,,,9AD9,同定済,t,x\nB,F040,U+E000,,,,9AD8,同定済,t,x\n", encoding="utf-8")
    with pytest.raises(GaijiError, match="source_system"):
        Resolver.from_register(p)
    assert Resolver.from_register(p, source_system="B").resolve_array(pa.array(["\ue000"]))[0].to_pylist() == ["高"]
