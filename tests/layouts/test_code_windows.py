"""年度 windows in code tables (valid, standard_rate) are well formed: they name real codes, from ≤ to,
and the rate windows of a code never overlap (one rate per 年度)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CODES = Path(__file__).resolve().parents[2] / "kikan_hub" / "layouts" / "intermediate_standard" / "codes"
WITH_WINDOWS = [p for p in sorted(CODES.glob("*.yaml"))
                if {"valid", "standard_rate"} & set(yaml.safe_load(p.read_text(encoding="utf-8")))]


def test_some_tables_have_windows():
    names = {p.stem for p in WITH_WINDOWS}
    assert {"kei_shashu_kubun", "kei_juka_keika", "kafu_hitorioya", "kojo_shurui", "zei_kojin_kintowari"} <= names


@pytest.mark.parametrize("path", WITH_WINDOWS, ids=[p.name for p in WITH_WINDOWS])
def test_windows_well_formed(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    codes = set(data["codes"])
    for code, w in (data.get("valid") or {}).items():
        assert code in codes, f"{path.name}: valid names unknown code {code}"
        assert set(w) <= {"from", "to"} and w, code
        assert w.get("from", 0) <= w.get("to", 9999), code
    for code, windows in (data.get("standard_rate") or {}).items():
        assert code in codes, f"{path.name}: standard_rate names unknown code {code}"
        spans = sorted((w.get("from", 0), w.get("to", 9999)) for w in windows)
        for (a_from, a_to), (b_from, _b_to) in zip(spans, spans[1:]):
            assert a_to < b_from, f"{path.name} {code}: overlapping rate windows"
        assert all(isinstance(w["rate"], int) and w["rate"] > 0 for w in windows)


def test_shin_kijun_gentsuki_is_2000_yen():
    """地方税法 第463条の15第1項第1号ハ: 二輪 125cc以下かつ最高出力4.0kW以下 年額2,000円 (not the 2,400円 of ニ)."""
    data = yaml.safe_load((CODES / "kei_shashu_kubun.yaml").read_text(encoding="utf-8"))
    assert "第1号ハ" in data["codes"]["106"]
    assert data["standard_rate"]["106"][-1]["rate"] == 2000 and data["standard_rate"]["103"][-1]["rate"] == 2400


def test_honnin_has_no_dokyo_tokubetsu_shogaisha():
    """同居特別障害者 is a 配偶者・扶養親族 category (第314条の2), never the 本人."""
    honnin = yaml.safe_load((CODES / "honnin_shogaisha_kubun.yaml").read_text(encoding="utf-8"))["codes"]
    taisho = yaml.safe_load((CODES / "shogaisha_kubun.yaml").read_text(encoding="utf-8"))["codes"]
    assert "同居特別障害者" in taisho.values() and "同居特別障害者" not in honnin.values()
