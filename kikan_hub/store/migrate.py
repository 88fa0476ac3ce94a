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
            build_metadata().create_all(conn, checkfirst=True)
    except OperationalError as exc:
        raise StoreError(f"ストアを準備できません ({engine.url.render_as_string()}): {exc.orig}") from None
