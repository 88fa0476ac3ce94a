"""Content hashes of canonical tables: the proof that two stores (or a store and a re-import) agree."""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib

from sqlalchemy import Engine, select

from kikan_hub.layouts.isl import all_tables
from kikan_hub.store.schema import build_metadata


def _norm(v) -> str:
    if v is None:
        return "\x00"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def table_content_hash(engine: Engine, table_id: str, include_lineage: bool = False, metadata=None) -> tuple[int, str]:
    """(row count, SHA-256) over the rows in primary-key order, database-independent."""
    table = all_tables()[table_id]
    sql_table = (metadata or build_metadata()).tables[table_id]
    cols = [c.name for c in table.columns if include_lineage or c.role != "lineage"]
    h = hashlib.sha256()
    n = 0
    stmt = select(*[sql_table.c[c] for c in cols]).order_by(*[sql_table.c[k] for k in table.primary_key])
    with engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=10000).execute(stmt):
            h.update("\x1f".join(_norm(v) for v in row).encode("utf-8"))
            h.update(b"\x1e")
            n += 1
    return n, h.hexdigest()


def store_content_hashes(engine: Engine, table_ids: list[str] | None = None, include_lineage: bool = False) -> dict:
    ids = table_ids or sorted(all_tables())
    md = build_metadata()  # once, not per table: building it parses every definition's tables
    return {t: table_content_hash(engine, t, include_lineage, md) for t in ids}
