"""Shared fixtures: reference data by path, store URLs for SQLite and a real PostgreSQL server.

A fresh clone runs with nothing beside it: PostgreSQL is started for the session when it is
installed (kikan_testenv), tests that need what is missing skip with a one-line reason, and
under CI=true they fail instead.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from kikan_testenv import need_reference, start_postgres_if_installed, unavailable

PROJECT = Path(__file__).resolve().parents[1]
_PG_SKIP = "KIKAN_TEST_PG_UNAVAILABLE"  # the controller's reason, inherited by xdist workers
_server = None


def pytest_configure(config) -> None:
    """Start a throwaway PostgreSQL once (in the xdist controller; workers inherit the URL)."""
    global _server
    if hasattr(config, "workerinput") or os.environ.get("KIKAN_TEST_PG_URL"):
        return
    _server, why_not = start_postgres_if_installed()
    if why_not:
        os.environ[_PG_SKIP] = why_not


def pytest_unconfigure(config) -> None:
    if _server is not None:
        _server.stop()
        os.environ.pop("KIKAN_TEST_PG_URL", None)


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The official reference files (KIKAN_REFERENCE_DATA); no default folder."""
    return need_reference()


def _pg_admin_url() -> str:
    url = os.environ.get("KIKAN_TEST_PG_URL")
    if not url:
        unavailable(os.environ.get(_PG_SKIP) or "no PostgreSQL server (set KIKAN_TEST_PG_URL)")
    return url


@pytest.fixture
def pg_url() -> str:
    """A fresh database on the real PostgreSQL server for one test."""
    admin = _pg_admin_url()
    import sqlalchemy as sa

    name = f"kikan_t_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(admin.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with eng.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """Both databases: every store test runs on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kikan.db'}"
    return request.getfixturevalue("pg_url")
