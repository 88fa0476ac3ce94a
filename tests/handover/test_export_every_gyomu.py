"""Issue 13 (4): the ISL handover of every 業務 in one command — `kikan export isl` (no --gyomu) writes
every canonical table of every 業務 of the definitions, `kikan import isl` loads all of it into a fresh
store and `kikan verify-export` finds it identical; on SQLite and on the real PostgreSQL server.

The store holds rows of every table of every 業務 (every_gyomu.py: made from the definitions), so
each 業務's files carry data, not only headers.
"""
from __future__ import annotations

import json

from kikan_testenv import run_kikan as kikan

from kikan_hub.layouts.isl import all_tables
from kikan_hub.store.content import store_content_hashes

from .conftest import fill_store
from .every_gyomu import every_table_rows

ROWS = 3


def test_every_gyomu_is_exported_reimported_and_verified(store_url, fresh_url, tmp_path):
    tables = all_tables()
    rows = every_table_rows(ROWS)
    engine = fill_store(store_url, tmp_path, rows)
    out = tmp_path / "handover"
    p = kikan("export", "isl", "--store", store_url, "--out", str(out), "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {f["table"]: f["records"] for f in m["files"]} == {t: ROWS for t in tables}
    gyomu_ids = {t.gyomu_id for t in tables.values()}
    assert set(m["layout"]["definitions"]) == gyomu_ids
    # per 業務: its tables and records, what the receiving engineer checks first
    assert {g: (e["tables"], e["records"]) for g, e in m["gyomu"].items()} == \
        {g: (n, n * ROWS) for g in gyomu_ids for n in [sum(1 for t in tables.values() if t.gyomu_id == g)]}
    for g, e in m["gyomu"].items():
        assert f"{e['gyomu']} ({g})" in p.stdout, g

    target = fresh_url(store_url)
    p = kikan("import", "isl", str(out), "--store", target)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"loaded {ROWS * len(tables):,} records" in p.stdout
    p = kikan("verify-export", str(out), "--store", store_url)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"({len(tables)} tables)" in p.stdout
    from kikan_hub.store.engine import open_engine

    ids = sorted(tables)
    assert store_content_hashes(open_engine(target), ids, True) == store_content_hashes(engine, ids, True)


def test_gyomu_selects_and_all_is_every_gyomu(tmp_path):
    url = f"sqlite:///{tmp_path / 'src.db'}"
    tables = all_tables()
    picked = {"juki_jumin", "zei_kotei_tochi"}
    fill_store(url, tmp_path, {t: r for t, r in every_table_rows(2).items() if t in picked})
    p = kikan("export", "isl", "--store", url, "--out", str(tmp_path / "two"), "--gyomu", "juki", "--gyomu", "固定資産税",
              "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    m = json.loads((tmp_path / "two" / "manifest.json").read_text(encoding="utf-8"))
    assert set(m["gyomu"]) == {"juki", "zei_kotei"}
    assert {f["table"] for f in m["files"]} == {t for t, x in tables.items() if x.gyomu_id in ("juki", "zei_kotei")}
    # --all says it out loud: every 業務 of the definitions, empty ones as files of 0 records
    p = kikan("export", "isl", "--store", url, "--out", str(tmp_path / "all"), "--all", "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    m = json.loads((tmp_path / "all" / "manifest.json").read_text(encoding="utf-8"))
    assert {f["table"] for f in m["files"]} == set(tables)
    assert sum(f["records"] for f in m["files"]) == 4 and m["gyomu"]["kokuho"]["records"] == 0
    p = kikan("export", "isl", "--store", url, "--out", str(tmp_path / "both"), "--all", "--gyomu", "juki")
    assert p.returncode == 2 and "--all" in p.stdout + p.stderr and "Traceback" not in p.stderr
