"""A fresh clone with nothing beside it: the product never looks at ../shared, the tests skip
with a one-line reason where the machine lacks something (and fail instead under CI=true), and a
throwaway PostgreSQL is started when the server is installed (issue 16, point 1)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kikan_testenv
from kikan_hub.gaiji import paths

PACKAGE = Path(__file__).resolve().parents[1] / "kikan_hub"


def test_product_never_names_a_folder_beside_the_project():
    offenders = []
    for py in PACKAGE.rglob("*.py"):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}  # docstrings may tell the tests' story
        for node in ast.walk(tree):
            if id(node) not in docs and isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    node.value == "shared" or "../shared" in node.value):
                offenders.append(f"{py.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []


def test_reference_data_has_no_default(monkeypatch):
    monkeypatch.delenv("KIKAN_REFERENCE_DATA", raising=False)
    assert paths.reference_data() is None
    monkeypatch.setenv("KIKAN_REFERENCE_DATA", "/some/where")
    assert paths.reference_data() == Path("/some/where")


def test_missing_reference_data_skips_naming_the_variable_and_fails_under_ci(monkeypatch):
    monkeypatch.delenv("KIKAN_REFERENCE_DATA", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="KIKAN_REFERENCE_DATA") as skipped:
        kikan_testenv.need_reference("mj")
    assert "\n" not in str(skipped.value)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="KIKAN_REFERENCE_DATA"):
        kikan_testenv.need_reference("mj")


def test_missing_chromium_skips_and_fails_under_ci(monkeypatch):
    monkeypatch.setenv("KIKAN_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium"):
        kikan_testenv.need_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium"):
        kikan_testenv.need_chromium()


def test_throwaway_postgres_starts_answers_and_goes(monkeypatch):
    """The cluster `make test` starts when PostgreSQL is installed: real server, removed afterwards."""
    bindir = kikan_testenv._pg_bin()
    if bindir is None:
        kikan_testenv.unavailable("no PostgreSQL server binaries here (install Debian `postgresql`)")
    import sqlalchemy as sa

    server = kikan_testenv.ThrowawayPostgres(bindir)
    try:
        url = server.start()
        eng = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with eng.connect() as c:
            assert c.execute(sa.text("select 1")).scalar() == 1
        eng.dispose()
    finally:
        server.stop()
    assert not server.dir.exists()
