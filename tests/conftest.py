"""Shared fixtures: reference data by path, store URLs for SQLite and a real PostgreSQL server."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def reference_data() -> Path:
    path = Path(os.environ.get("KIKAN_REFERENCE_DATA", PROJECT.parent / "shared" / "data"))
    assert path.is_dir(), f"reference data not found at {path} (set KIKAN_REFERENCE_DATA)"
    return path


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    return PROJECT.parent / "shared" / "specs"


def _pg_admin_url() -> str | None:
    url = os.environ.get("KIKAN_TEST_PG_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI must provide a PostgreSQL server (KIKAN_TEST_PG_URL, started by .ci/services.sh)")
    return url


@pytest.fixture
def pg_url() -> str:
    """A fresh database on the real PostgreSQL server for one test."""
    admin = _pg_admin_url()
    if not admin:
        pytest.skip("no PostgreSQL server here: run `source .ci/services.sh` (CI always does)")
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
