"""Memory-bounded validation: batches, projected group reads and spilled failures change no count.

The engine reads a Parquet input batch by batch (row rules), only the key columns (group rules,
a large table one key-hash partition at a time), and writes a rule's failing rows to a spill file once they pass SPILL_BYTES. These tests force
every one of those paths on small data (tiny batches, spill from the first row) and compare
with the in-memory, one-batch evaluation: same counts, same keys, same failure rows.
"""
from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

import kikan_hub.validation.group_checks as group_checks
import kikan_hub.validation.engine as engine
from kikan_hub.validation.engine import validate_tables
from kikan_hub.validation.reports import write_reports
from kikan_hub.validation.synthetic import m11_complete


def _summary(result) -> dict:
    return {r.id: (r.failed, r.total, r.level, r.status) for r in result.rules}


def _keys(result) -> dict:
    return {r.id: sorted(map(lambda k: tuple(map(str, k.values())), r.keys)) for r in result.rules}


def _frames_equal(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    assert a.height == b.height
    assert a.equals(b), (a.head(3), b.head(3))


@pytest.fixture()
def staged(tmp_path, planted):
    tables, truth = planted
    paths = {}
    for name, df in tables.items():
        paths[name] = tmp_path / f"{name}.parquet"
        df.write_parquet(paths[name], row_group_size=97)
    return tables, truth, paths


def test_batches_and_spill_change_nothing(staged, tmp_path, monkeypatch):
    tables, truth, paths = staged
    whole = validate_tables(tables, batch_rows=10 ** 9)
    monkeypatch.setattr(engine, "SPILL_BYTES", 0)         # every failing row goes to the spill file
    monkeypatch.setattr(group_checks, "COMPACT_ROWS", 113)      # group rules read their columns in many slices
    monkeypatch.setattr(group_checks, "PARTITION_ROWS", 150)    # ... and large tables in key-hash partitions
    spilled = validate_tables(paths, batch_rows=101, spill_dir=tmp_path)
    assert _summary(whole) == _summary(spilled)
    assert _keys(whole) == _keys(spilled)
    assert whole.table_rows == spilled.table_rows
    assert any(r.failures_path is not None for r in spilled.rules)
    for a, b in zip(whole.rules, spilled.rules):
        assert a.id == b.id
        if a.failed:
            assert b.failures_path is not None and b.failures_path.parent.parent == tmp_path, b.id
            assert b.failure_rows == a.failure_rows == a.failures.height
            _frames_equal(a.failures, b.failures)
            _frames_equal(a.sample, b.sample)
        assert b.failed == len(truth.get(b.id, set())), b.id
    # the failure files and the reports are the same whichever way the failures were kept
    da, db = tmp_path / "a", tmp_path / "b"
    write_reports(da, whole, {})
    write_reports(db, spilled, {})
    for p in sorted((da / "report" / "failures").glob("*.parquet")):
        _frames_equal(pl.read_parquet(p), pl.read_parquet(db / "report" / "failures" / p.name))
    ra = json.loads((da / "report" / "report.json").read_text(encoding="utf-8"))
    rb = json.loads((db / "report" / "report.json").read_text(encoding="utf-8"))
    strip = lambda rep: [{k: v for k, v in r.items()} for r in rep["rules"]]  # noqa: E731
    assert strip(ra) == strip(rb)
    # the spill directory goes with the result
    spill_dir = next(r.failures_path.parent for r in spilled.rules if r.failures_path is not None)
    del spilled, b
    import gc

    gc.collect()
    assert not spill_dir.exists()


def test_row_order_does_not_matter(planted):
    """Group rules skip the sort when the rows come sorted; shuffled rows take the sorting path."""
    tables, _truth = planted
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=3) for k, v in tables.items()}
    assert _summary(validate_tables(tables)) == _summary(validate_tables(shuffled))
    assert _keys(validate_tables(tables)) == _keys(validate_tables(shuffled))


def test_keys_that_are_not_plain_digits_stay_strings():
    """Keys of digits become integer codes ("1" + digits: leading zeros kept); other keys stay strings."""
    for ids in (["01", "1", "001"], ["A1", "01", "1"], ["1" * 19, "01", "1"]):
        df = pl.DataFrame({"atena_no": [ids[0], ids[0], ids[1], ids[1], ids[2]], "rireki_no": [1, 2, 1, 3, 1]})
        r = validate_tables({"juki_jumin": df}, gyomu="juki")["JUKI-RIREKI"]
        assert (r.failed, r.total) == (1, 3), ids
        assert r.keys == [{"atena_no": ids[1]}]
        assert r.failures.get_column("_seqs").to_list() == ["1,3"]


def test_setainushi_with_leading_zero_households():
    d = dt.date
    a = list(m11_complete(pl.Series(range(3)).to_numpy() + 123450000, 10))
    rows = [  # "07" and "007" are two households: each has its own 世帯主 → no failure; "7" has none
        {"atena_no": a[0], "rireki_no": 1, "setai_no": "07", "zokugara": "01", "idou_date": d(2000, 1, 1), "idou_jiyu": "11"},
        {"atena_no": a[1], "rireki_no": 1, "setai_no": "007", "zokugara": "01", "idou_date": d(2000, 1, 1), "idou_jiyu": "11"},
        {"atena_no": a[2], "rireki_no": 1, "setai_no": "7", "zokugara": "02", "idou_date": d(2000, 1, 1), "idou_jiyu": "11"},
    ]
    r = validate_tables({"juki_jumin": pl.DataFrame(rows)}, gyomu="juki")["JUKI-SETAINUSHI"]
    assert (r.failed, r.total) == (1, 3)
    assert r.failures.get_column("setai_no").to_list() == ["7"]
