"""SQLAlchemy tables derived from the ISL definitions — never written by hand a second time.

store/ builds the canonical tables (one per ISL table of every loaded definition, shipped or on
KIKAN_DEFINITIONS_PATH) and its own ledger tables. Packages above store/ own their tables: they
call ``register_tables`` when imported (modules/tables.py, api/tables.py), and every metadata built
afterwards carries them. store/ never imports them (the arrow: store ← modules ← api).
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table

from kikan_hub.layouts.isl import Table as IslTable
from kikan_hub.layouts.isl import all_tables
from kikan_hub.layouts.types import sql_type
from kikan_hub.store.system_tables import CONTROL, LEDGER, system_tables

__all__ = ["CONTROL", "LEDGER", "build_metadata", "canonical_metadata", "canonical_table", "register_tables",
           "registered_owners"]


TableDefiner = Callable[[MetaData], None]
_OWNERS: dict[str, TableDefiner] = {}


def register_tables(owner: str, define: TableDefiner) -> None:
    """``define(md)`` adds the tables (and indexes) ``owner`` keeps in the store to every metadata
    ``build_metadata()`` makes from now on. Registering the same owner again replaces its definer."""
    _OWNERS[owner] = define


def registered_owners() -> list[str]:
    return sorted(_OWNERS)


def canonical_table(md: MetaData, t: IslTable) -> Table:
    # Key columns are NOT NULL (PostgreSQL makes them so anyway; SQLite would accept a NULL key).
    key = set(t.primary_key)
    cols = [Column(c.name, sql_type(c), nullable=c.name not in key, comment=(c.item.name if c.item else None))
            for c in t.columns]
    return Table(t.id, md, *cols, PrimaryKeyConstraint(*t.primary_key, name=f"pk_{t.id}"), comment=t.name)


def canonical_metadata() -> MetaData:
    """The tables derived from the definitions alone (what a new 業務 adds), without any owner's."""
    return _canonical_metadata(list(all_tables().values()))


def _canonical_metadata(tables: list[IslTable]) -> MetaData:
    md = MetaData()
    for t in tables:
        canonical_table(md, t)
    return md


# (the ISL tables and owners it was built from, the metadata): rebuilt when either changes.
_built: tuple[list[IslTable], tuple[TableDefiner, ...], MetaData] | None = None


def build_metadata() -> MetaData:
    """Canonical tables, the store's ledger tables, then every registered owner's tables.

    Built once per loaded set of definitions and owners: the interfaces ask for it on every request
    (支援措置 guard, audit, clients) and building ~170 tables takes a fifth of a second. Callers read
    the tables; none adds to the shared metadata."""
    global _built
    tables = list(all_tables().values())
    owners = tuple(_OWNERS[o] for o in sorted(_OWNERS))
    cached = _built
    if (cached is not None and len(cached[0]) == len(tables) and all(a is b for a, b in zip(cached[0], tables))
            and cached[1] == owners):
        return cached[2]
    md = _canonical_metadata(tables)
    system_tables(md)
    for define in owners:
        define(md)
    _built = (tables, owners, md)
    return md
