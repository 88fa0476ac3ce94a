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
