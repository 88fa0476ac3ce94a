"""Fixtures for the business modules: a migrated store on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade


@pytest.fixture
def engine(store_url):
    eng = open_engine(store_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    eng = open_engine(f"sqlite:///{tmp_path / 'kikan.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()
