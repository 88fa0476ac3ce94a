"""Opening the canonical store: SQLite under var/ by default, any SQLAlchemy URL by option."""
from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect


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



def open_existing_engine(url: str | None = None) -> Engine:
    """A store that must already exist (read-only commands): nothing is created, no directory, no file.

    A SQLite path that is not there, a server that does not answer, or a database without the
    hub's tables is a StoreError naming the URL (a typo must not turn into an empty store that says ok).
    """
    url = url or default_store_url()
    hint = "（読み取りのコマンドはストアを作りません。`kikan rehearse` でロードしたストアを指定してください）"
    from kikan_hub.store.schema import LEDGER

    shown = url
    try:
        if url.startswith("sqlite:///"):
            db = Path(url.removeprefix("sqlite:///"))
            if not db.is_file():
                raise StoreError(f"ストアがありません: {url} — ファイル {db} がありません{hint}")
            # looked at read-only first: opening through the engine would switch the file to WAL
            with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
                has_ledger = conn.execute("select 1 from sqlite_master where type = 'table' and name = ?",
                                          (LEDGER,)).fetchone() is not None
            engine = open_engine(url)
        else:
            engine = open_engine(url)
            shown = engine.url.render_as_string(hide_password=True)
            try:
                with engine.connect() as conn:
                    has_ledger = inspect(conn).has_table(LEDGER)
            except Exception:
                engine.dispose()
                raise
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 — unreachable server, no such database, not a database file
        raise StoreError(f"ストアを開けません: {shown} — {getattr(exc, 'orig', None) or exc}") from None
    if not has_ledger:
        engine.dispose()
        raise StoreError(f"kikan-hub のストアではありません（実行台帳 {LEDGER} がありません）: {shown}{hint}")
    return engine
