"""`kikan validate --store … --run-dir … --ge-suite DIR`: report/ from the store, GE suite + offline Data Docs."""
from __future__ import annotations

import json

import pytest
from kikan_testenv import chromium_path, in_ci
import sqlalchemy as sa
from typer.testing import CliRunner

from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade
from kikan_hub.store.schema import build_metadata
from kikan_hub.validation.ge_export import expectation_specs
from kikan_hub.validation.synthetic import build


def test_expectation_specs_are_honest():
    specs = {s["rule_id"]: s for s in expectation_specs(gyomu="juki")}
    assert specs["JUKI-SETAINUSHI"]["equivalence"] == "none" and not specs["JUKI-SETAINUSHI"]["expectations"]
    assert specs["ISL-M11.juki_jumin"]["equivalence"] == "partial"
    assert specs["ISL-CODE.juki_jumin"]["equivalence"] == "exact"
    e = specs["ISL-CODE.juki_jumin"]["expectations"][0]
    assert e["type"] == "expect_column_values_to_be_in_set" and e["meta"]["rule_id"] == "ISL-CODE.juki_jumin"


@pytest.fixture
def store_with_data(tmp_path):
    tables, truth = build(households=60, seed=4)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    engine = open_engine(url)
    upgrade(engine)
    md = build_metadata()
    with engine.begin() as conn:
        for name in ("juki_jumin", "juki_setai"):
            conn.execute(sa.insert(md.tables[name]), tables[name].to_dicts())
    engine.dispose()
    return url, truth


def _app():
    import typer

    from kikan_hub.api.cli_validate import validate_command

    app = typer.Typer()
    app.command("validate")(validate_command)
    app.command("noop")(lambda: None)
    return app


def test_validate_command_writes_reports(store_with_data, tmp_path):
    url, truth = store_with_data
    run = tmp_path / "run"
    out = CliRunner().invoke(_app(), ["validate", "--store", url, "--run-dir", str(run)])
    rep = json.loads((run / "report" / "report.json").read_text(encoding="utf-8"))
    assert out.exit_code == (1 if rep["gate"]["outcome"] == "critical" else 0), out.output
    got = {r["id"]: r["failed"] for r in rep["rules"]}
    for rid in ("JUKI-SETAINUSHI", "JUKI-ZOKUGARA", "ISL-M11.juki_setai"):
        assert got[rid] == len(truth[rid])
    assert (run / "report" / "report.xlsx").exists() and (run / "report" / "report_市民課.html").exists()


def test_ge_suite_and_offline_data_docs(store_with_data, tmp_path):
    url, truth = store_with_data
    run, ge = tmp_path / "run", tmp_path / "ge"
    out = CliRunner().invoke(_app(), ["validate", "--store", url, "--run-dir", str(run), "--ge-suite", str(ge)])
    assert out.exit_code in (0, 1) and out.exception is None or isinstance(out.exception, SystemExit), out.output
    suite = json.loads((ge / "gx" / "expectations" / "kikan_juki_jumin.json").read_text(encoding="utf-8"))
    types = {e["type"] for e in suite["expectations"]}
    assert {"expect_column_values_to_be_in_set", "expect_column_values_to_match_regex"} <= types
    pages = list((ge / "gx" / "uncommitted" / "data_docs" / "local_site").rglob("*.html"))
    assert len(pages) >= 3
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text
        assert not [m for m in __import__("re").findall(r'(?:src|href)=["\'](https?:)?//[^"\']+', text)], p
    if chromium_path() or in_ci():
        from cdp_pipe import open_offline

        for i, p in enumerate(pages[:3]):
            _, requests = open_offline(p.as_uri(), tmp_path / f"profile{i}")
            assert requests == [], (p.name, requests)
