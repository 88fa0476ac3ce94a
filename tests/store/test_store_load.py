"""The store on SQLite and a real PostgreSQL server: derived tables, bulk load, atomic replace."""
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from kikan_hub.layouts.isl import get_table
from kikan_hub.mapping.engine import arrow_type
from kikan_hub.store.content import table_content_hash
from kikan_hub.store.engine import StoreError, open_engine
from kikan_hub.store.loader import StagedRun, load_run
from kikan_hub.store.migrate import upgrade


def staged_setai(tmp_path, rows):
    table = get_table("juki_setai")
    data = {}
    for c in table.columns:
        vals = [r.get(c.name) for r in rows]
        typ = pa.string() if c.role == "lineage" and c.type == "text" else (pa.int64() if c.role == "lineage" else arrow_type(c))
        data[c.name] = pa.array(vals, typ)
    path = tmp_path / "juki_setai.parquet"
    pq.write_table(pa.table(data), path)
    return path


def row(no, name, run="R1"):
    return {"setai_no": f"{no:010d}", "rireki_no": 1, "setainushi_atena_no": "0000000019", "setainushi_shimei": name,
            "jusho": "架空市松町一丁目1番地", "shori_date": dt.date(2024, 4, 1), "_run_id": run,
            "_source_file": "旧住記/SETAI", "_source_sha256": "ab" * 32, "_source_offset": no * 100, "_record_no": no}


def test_tables_derive_from_definitions(store_url):
    engine = open_engine(store_url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    insp = sa.inspect(engine)
    cols = {c["name"] for c in insp.get_columns("juki_jumin")}
    table = get_table("juki_jumin")
    assert cols == {c.name for c in table.columns}
    assert {"birth_date", "birth_date_literal", "birth_date_unknown", "_run_id", "_source_sha256", "_source_offset"} <= cols
    assert insp.get_pk_constraint("juki_jumin")["constrained_columns"] == ["atena_no", "rireki_no"]


def test_load_replaces_source_atomically(store_url, tmp_path):
    engine = open_engine(store_url)
    upgrade(engine)
    ledger = {"run_id": "R1", "source_system": "旧住記", "status": "loaded", "records_read": 2,
              "records_loaded": 2, "records_quarantined": 0}
    p = staged_setai(tmp_path, [row(1, "髙橋　𠮷郎"), row(2, "渡邊　太郎")])
    load_run(engine, StagedRun("R1", ["旧住記/SETAI"], {"juki_setai": p}, target_tables=["juki_setai"]), ledger, {})
    n, h1 = table_content_hash(engine, "juki_setai")
    assert n == 2
    with engine.connect() as c:
        names = c.execute(sa.text("select setainushi_shimei from juki_setai order by setai_no")).scalars().all()
        assert names == ["髙橋　𠮷郎", "渡邊　太郎"]
        assert c.execute(sa.text("select shori_date from juki_setai")).scalars().first() in (dt.date(2024, 4, 1), "2024-04-01")
    # The same load again replaces, never duplicates.
    load_run(engine, StagedRun("R1", ["旧住記/SETAI"], {"juki_setai": p}, target_tables=["juki_setai"]), ledger, {})
    assert table_content_hash(engine, "juki_setai") == (2, h1)
    # A load that fails half-way (duplicate primary key in the batch) leaves the store as it was.
    bad = staged_setai(tmp_path, [row(3, "甲"), row(3, "乙")])
    with pytest.raises(StoreError):
        load_run(engine, StagedRun("R2", ["旧住記/SETAI"], {"juki_setai": bad}, target_tables=["juki_setai"]),
                 dict(ledger, run_id="R2"), {})
    assert table_content_hash(engine, "juki_setai") == (2, h1)
    with engine.connect() as c:
        assert c.execute(sa.text("select count(*) from kikan_runs")).scalar() == 2


def test_bad_store_url_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError):
        open_engine("nosuchdb://x/y")
