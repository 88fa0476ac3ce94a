"""Alembic migrations of the canonical store, run programmatically on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from kikan_hub.store.engine import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine) -> None:
    cfg = alembic_config(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            # A 業務 definition added since the store was made lands as a new table.
            from kikan_hub.store.schema import build_metadata
            md = build_metadata()
            md.create_all(conn, checkfirst=True)
            _add_missing_columns(conn, md)
    except OperationalError as exc:
        raise StoreError(f"ストアを準備できません ({engine.url.render_as_string()}): {exc.orig}") from None


def _add_missing_columns(conn, md) -> None:
    """A column a definition derives since the store was made (all canonical columns are nullable)
    lands in the existing table; rows loaded before have NULL there until their source is loaded again."""
    from sqlalchemy import inspect
    from sqlalchemy.schema import CreateColumn

    insp = inspect(conn)
    existing_tables = set(insp.get_table_names())
    for table in md.sorted_tables:
        if table.name not in existing_tables:
            continue
        have = {c["name"] for c in insp.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have and col.nullable:
                ddl = CreateColumn(col).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}')
