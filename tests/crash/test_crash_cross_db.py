"""PostgreSQL first-class: the same rehearsal gives the same canonical content as on SQLite,
and the Alembic migrations run (up, down, up) on both with no drift from the definitions."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from crash_harness import snapshot
from kikan_hub.layouts.isl import all_tables
from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import alembic_config, upgrade
import kikan_hub.api.tables  # noqa: F401 — api/ and modules/ register their tables: the whole schema
import kikan_hub.modules.tables  # noqa: F401
from kikan_hub.store.schema import build_metadata


@pytest.mark.postgres
def test_rehearsal_content_identical_on_sqlite_and_postgresql(runner, extracts, references, pg_url, tmp_path):
    """Every canonical table (incl. lineage) and the control records hash the same on both servers,
    for a first load and for a replacing load, and the ledger counts agree."""
    for name in ("A", "B"):
        res = runner.run(extracts[name], pg_url, tmp_path / f"run_{name}")
        assert res["exit"] == 0, res["log"]
        pg = snapshot(pg_url)
        ref = references[name]
        assert dict(pg.content[0]) == dict(ref.content[0]), name
        assert pg.content[1] == ref.content[1], f"{name}: control records differ"
        assert pg.store_run_ids == ref.store_run_ids
        assert pg.ledger[-1][0] == ref.ledger[-1][0] and pg.ledger[-1][2:] == ref.ledger[-1][2:]
    assert sum(n for n, _ in dict(pg.content[0]).values()) > 800


def _drift(engine) -> list:
    """Differences between the live schema and the definitions (key columns are NOT NULL on both)."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), build_metadata())


def test_alembic_up_down_up_on_both(store_url):
    engine = open_engine(store_url)
    upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
    assert _drift(engine) == []
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    names = set(sa.inspect(engine).get_table_names())
    assert not (names & set(all_tables())), "downgrade left canonical tables"
    upgrade(engine)
    assert set(all_tables()) <= set(sa.inspect(engine).get_table_names())
    assert _drift(engine) == []
    engine.dispose()
