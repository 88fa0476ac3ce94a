"""SQLAlchemy tables derived from the ISL definitions — never written by hand a second time."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Integer, LargeBinary, MetaData, Numeric,
                        PrimaryKeyConstraint, String, Table, Text)

from kikan_hub.layouts.isl import Table as IslTable
from kikan_hub.layouts.isl import all_tables

_SQL_TYPES = {
    "text": lambda c: Text(),
    "integer": lambda c: BigInteger(),
    "decimal": lambda c: Numeric(18, c.item.scale if c.item else 0),
    "date": lambda c: Date(),
    "flag": lambda c: Boolean(),
}

LEDGER = "kikan_runs"
CONTROL = "kikan_control_records"


def canonical_table(md: MetaData, t: IslTable) -> Table:
    cols = [Column(c.name, _SQL_TYPES[c.type](c), nullable=True, comment=(c.item.name if c.item else None))
            for c in t.columns]
    return Table(t.id, md, *cols, PrimaryKeyConstraint(*t.primary_key, name=f"pk_{t.id}"), comment=t.name)


def system_tables(md: MetaData) -> None:
    Table(LEDGER, md,
          Column("run_id", String(40), nullable=False),
          Column("attempt", Integer, nullable=False),
          Column("source_system", Text),
          Column("manifest_path", Text),
          Column("manifest_sha256", String(64)),
          Column("started_at", DateTime(timezone=True)),
          Column("finished_at", DateTime(timezone=True)),
          Column("status", String(20)),
          Column("records_read", BigInteger),
          Column("records_loaded", BigInteger),
          Column("records_quarantined", BigInteger),
          Column("summary_json", Text),
          PrimaryKeyConstraint("run_id", "attempt", name="pk_kikan_runs"),
          comment="移行リハーサル実行台帳")
    Table(CONTROL, md,
          Column("source_key", Text, nullable=False),
          Column("record_no", BigInteger, nullable=False),
          Column("record_type", Text),
          Column("source_offset", BigInteger),
          Column("source_sha256", String(64)),
          Column("raw", LargeBinary),
          Column("fields_json", Text),
          Column("_run_id", String(40)),
          PrimaryKeyConstraint("source_key", "record_no", name="pk_kikan_control_records"),
          comment="ヘッダ・トレーラ等の制御レコード")


# (the ISL tables it was built from, the metadata): rebuilt when the loaded definitions change.
_built: tuple[list[IslTable], MetaData] | None = None


def build_metadata() -> MetaData:
    """Every canonical, system, module and security table. Built once per loaded set of definitions:
    the interfaces ask for it on every request (支援措置 guard, audit, clients) and building ~170 tables
    takes a fifth of a second. Callers read the tables; none adds to the shared metadata."""
    global _built
    tables = list(all_tables().values())
    cached = _built
    if cached is not None and len(cached[0]) == len(tables) and all(a is b for a, b in zip(cached[0], tables)):
        return cached[1]
    md = _build_metadata(tables)
    _built = (tables, md)
    return md


def _build_metadata(tables: list[IslTable]) -> MetaData:
    md = MetaData()
    for t in tables:
        canonical_table(md, t)
    system_tables(md)
    from kikan_hub.store.module_tables import module_tables; module_tables(md)  # modules/ own these
    from kikan_hub.store.security_tables import security_tables; security_tables(md)  # api/ owns these
    return md
