"""Issue 16 (14): a record repeated inside an extract (same 宛名番号＋履歴番号 — re-extracts overlap)
is a rule, DUP-KEY: the first row loads, the repeats are quarantined naming the row they collide
with and whether they are identical or conflicting, and the load never fails on the key."""
from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

from kikan_hub.sample.assets_loader import ASSETS

sys.path.insert(0, str(Path(__file__).parent))
from sample_copy import copy_sample, generate_sample, rehearse_in_process  # noqa: E402

# JUMIN.DAT: the layout's record length + CRLF per record (read from the layout, not assumed)
REC = yaml.safe_load((ASSETS / "layout_jumin.yaml").read_text(encoding="utf-8"))["record_length"] + 2
FIRST = REC        # record 2: the first resident (record 1 is the header)


@pytest.fixture(scope="module")
def base_sample(tmp_path_factory) -> Path:
    return generate_sample(tmp_path_factory.mktemp("s") / "extract", residents=60, defect_rate=0.0)


def _with_repeats(sample: Path) -> tuple[bytes, bytes]:
    """Append an identical and a conflicting copy of the first resident before the trailer, and
    keep the trailer's count and hash total true to the file (so only DUP-KEY is at stake)."""
    p = sample / "JUMIN.DAT"
    data = p.read_bytes()
    eof = data.endswith(b"\x1a")
    body = data[:-1] if eof else data
    trailer = body[-REC:]
    first = body[FIRST:FIRST + REC]
    conflicting = bytearray(first)
    conflicting[220:227] = b"9999999"   # 郵便番号 differs
    count = int(trailer[1:11]) + 2
    total = int(trailer[11:29]) + 2 * int(first[1:11])
    trailer = trailer[:1] + f"{count:010d}{total:018d}".encode() + trailer[29:]
    p.write_bytes(body[:-REC] + first + bytes(conflicting) + trailer + (b"\x1a" if eof else b""))
    return first, bytes(conflicting)


def test_repeated_keys_are_quarantined_and_the_rest_loads(base_sample, tmp_path, store_url):
    sample = copy_sample(base_sample, tmp_path / "extract")
    first, _ = _with_repeats(sample)
    res = rehearse_in_process(sample, tmp_path, store_url)
    s = res.summary
    assert res.exit_code == 0 and s["status"] == "loaded", s["gate"]
    assert all(c["ok"] for c in s["control"])
    assert s["duplicate_keys"] == {"juki_jumin": {"identical": 1, "conflicting": 1}}
    assert next(r for r in s["gate"]["rules"] if r["rule_id"] == "DUP-KEY")["failed"] == 2
    assert s["records_read"] == s["records_loaded"] + s["records_quarantined"]

    q = [r for r in pq.read_table(res.run_dir / "quarantine" / "JUMIN.parquet").to_pylist() if r["rule_ids"] == "DUP-KEY"]
    assert len(q) == 2
    size = (sample / "JUMIN.DAT").stat().st_size
    assert {r["offset"] for r in q} == {size - 1 - 3 * REC, size - 1 - 2 * REC}
    ident, confl = sorted(q, key=lambda r: r["offset"])
    assert f"byte offset {FIRST} (レコード 2)" in ident["message"] and "同一内容" in ident["message"]
    assert f"byte offset {FIRST} (レコード 2)" in confl["message"] and "内容が異なる" in confl["message"]
    assert ident["raw"] == first[:REC - 2] and "atena_no" in ident["field"] and "rireki_no" in ident["field"]

    atena, rireki = first[1:11].decode(), int(first[11:15])
    eng = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with eng.connect() as c:
        rows = c.execute(sa.text("select yubin_no, _source_offset from juki_jumin where atena_no = :a and rireki_no = :r"),
                         {"a": atena, "r": rireki}).all()
    eng.dispose()
    assert rows == [(first[220:227].decode(), FIRST)]  # the first row, as written


def test_no_repeats_no_rule(base_sample, tmp_path):
    res = rehearse_in_process(copy_sample(base_sample, tmp_path / "extract"), tmp_path)
    assert res.summary["duplicate_keys"] == {}
    assert "DUP-KEY" not in {r["rule_id"] for r in res.summary["gate"]["rules"]}


def test_key_index_across_batches_and_collisions_of_the_first_hash():
    import numpy as np
    import pyarrow as pa

    from kikan_hub.layouts.isl import all_tables
    from kikan_hub.pipeline.duplicates import KeyIndex

    table = all_tables()["juki_setai"]
    idx = KeyIndex()

    def batch(keys, yubin):
        data = {"setai_no": pa.array([k[0] for k in keys]), "rireki_no": pa.array([k[1] for k in keys], pa.int64()),
                "yubin_no": pa.array(yubin)}
        n = len(keys)
        raw = pa.array([f"{k[0]},{k[1]},{y}".encode() for k, y in zip(keys, yubin)], pa.binary())
        return data, pa.array(np.arange(n) * 10, pa.int64()), pa.array(np.arange(n) + 1, pa.int64()), raw

    d, o, r, raw = batch([("1", 1), ("1", 2), ("1", 1)], ["a", "b", "a"])
    f = idx.check(table, d, o, r, "F", raw)
    assert f.mask.tolist() == [False, False, True] and "byte offset 0" in f.messages[2]
    d, o, r, raw = batch([("2", 1), ("1", 2)], ["c", "x"])
    f = idx.check(table, d, o, r, "G", raw)
    assert f.mask.tolist() == [False, True] and "F の byte offset 10 (レコード 2)" in f.messages[1]
    assert "内容が異なる" in f.messages[1]
    # a shared first hash is not a duplicate unless the second hash agrees
    seen = idx.seen["juki_setai"]
    seen.h2[:] = seen.h2 ^ np.uint32(1)
    d, o, r, raw = batch([("1", 1)], ["a"])
    assert not idx.check(table, d, o, r, "H", raw).mask.any()
    assert idx.summary() == {"juki_setai": {"identical": 1, "conflicting": 1}}
