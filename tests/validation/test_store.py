"""validate_store on SQLite and on the real PostgreSQL server gives the counts validate_tables gives."""
from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade
from kikan_hub.store.schema import build_metadata
from kikan_hub.store.frames import validate_store
from kikan_hub.validation.engine import validate_tables
from kikan_hub.validation.synthetic import build


def test_validate_store_matches_tables(store_url):
    tables, truth = build(households=120, seed=21)
    juki = {k: v for k, v in tables.items() if k in ("juki_jumin", "juki_setai")}
    engine = open_engine(store_url)
    upgrade(engine)
    md = build_metadata()
    with engine.begin() as conn:
        for name, df in juki.items():
            conn.execute(sa.delete(md.tables[name]))
            conn.execute(sa.insert(md.tables[name]), df.to_dicts())
    from_store = validate_store(engine, gyomu="juki")
    in_memory = validate_tables(juki, gyomu="juki")
    engine.dispose()
    got = {r.id: r.failed for r in from_store.rules if r.status == "checked"}
    want = {r.id: r.failed for r in in_memory.rules if r.status == "checked"}
    assert got == want
    for rid in ("JUKI-SETAINUSHI", "JUKI-DATE", "ISL-M11.juki_setai", "JUKI-RIREKI"):
        assert got[rid] == len(truth[rid]) > 0, rid
    assert from_store.table_rows == {k: v.height for k, v in juki.items()}


def test_store_streamed_to_parquet_equals_the_whole_read(store_url, tmp_path):
    """validate_store reads the store batch by batch (bounded memory): the Parquet files it judges hold
    exactly the rows and types of a whole read, across many small batches."""
    from kikan_hub.store.frames import read_store_tables, store_tables_to_parquet

    tables, _truth = build(households=30, seed=5)
    engine = open_engine(store_url)
    upgrade(engine)
    md = build_metadata()
    with engine.begin() as conn:
        conn.execute(sa.delete(md.tables["juki_jumin"]))
        conn.execute(sa.insert(md.tables["juki_jumin"]), tables["juki_jumin"].to_dicts())
    whole = read_store_tables(engine, ["juki_jumin", "juki_setai"])
    paths = store_tables_to_parquet(engine, tmp_path, ["juki_jumin", "juki_setai"], batch_rows=7)
    engine.dispose()
    assert set(paths) == set(whole) == {"juki_jumin"}          # an empty table is not judged, as before
    streamed = pl.read_parquet(paths["juki_jumin"])
    assert streamed.height == tables["juki_jumin"].height > 7
    assert streamed.schema == whole["juki_jumin"].schema
    assert streamed.equals(whole["juki_jumin"])
