"""Opening the canonical store: SQLite under var/ by default, any SQLAlchemy URL by option."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event


class StoreError(Exception):
    """A store problem a user can act on (bad URL, unreachable server, no permission, disk full)."""


def default_store_url() -> str:
    return os.environ.get("KIKAN_STORE_URL") or f"sqlite:///{Path('var') / 'kikan.db'}"


def open_engine(url: str | None = None) -> Engine:
    url = url or default_store_url()
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"ストアのディレクトリを作れません {db.parent}: {exc.strerror}") from None
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # bad URL / missing driver: a usage error
        raise StoreError(f"ストアの URL を使えません {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _rec):  # WAL keeps readers going during a rehearsal load
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    return engine

