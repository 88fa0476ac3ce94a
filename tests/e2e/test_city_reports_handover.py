"""Issue 13 (4), whole city: one rehearsal of every 業務 accounts per 業務 as the ground truth does,
writes a report for every 担当課 of 表7, and hands every 業務 over (ISL export → import → verify).

The city comes from the sample's documented interface (kikan_hub.sample.city.generate_city; its
truth/summary.json ``by_gyomu`` counts per 業務). The per-file and per-defect checks of the city are
tests/e2e/test_city_rehearsal.py's (issue-13s); this file checks what the rehearsal makes of it:
summary.json ``by_gyomu``, report_<担当課>.{json,html,xlsx}, and the handover of every 業務 — exported
from SQLite, imported into the real PostgreSQL server (the next vendor's database need not be ours)
and into SQLite, verified with `kikan verify-export`.
"""
from __future__ import annotations

import json

import openpyxl
import pytest
from kikan_testenv import pg_database, run_kikan as kikan

from kikan_hub.validation.catalogue import divisions_for

RESIDENTS = 1_000
# 表7 of the city's plan: the 担当課 (issue 13, point 4)
TABLE7_DIVISIONS = {"市民税課", "資産税課", "納税課", "市民課", "国民健康保険課", "健康増進課", "母子保健課", "長寿支援課",
                    "介護保険課", "障がい福祉課", "家庭支援課", "農村整備課", "管理住宅課", "業務課", "学校教育課",
                    "社会教育青少年課", "選挙管理委員会事務局", "農業委員会事務局", "情報企画課"}


@pytest.fixture(scope="module")
def city_run(tmp_path_factory):
    from kikan_hub.sample.city import CityOptions, generate_city

    work = tmp_path_factory.mktemp("city_handover")
    city = work / "city"
    generate_city(CityOptions(residents=RESIDENTS, out=city, seed=11))
    store = f"sqlite:///{work / 'city.db'}"
    p = kikan("rehearse", str(city / "manifest.yaml"), "--store", store, "--run-dir", str(work / "run"), "--quiet")
    assert p.returncode in (0, 1), p.stdout[-3000:] + p.stderr[-3000:]
    summary = json.loads((work / "run" / "summary.json").read_text(encoding="utf-8"))
    truth = json.loads((city / "truth" / "summary.json").read_text(encoding="utf-8"))
    return {"work": work, "city": city, "store": store, "summary": summary, "truth": truth, "rehearse": p}


def test_by_gyomu_equals_the_truth(city_run):
    s, truth = city_run["summary"], city_run["truth"]
    assert s["status"] == "loaded", s["gate"]["decided_by"]
    for fid, rts in s["files"].items():
        for rt, c in rts.items():
            assert c["read"] == c["staged"] + c["quarantined"] and c["loaded"] == c["staged"], (fid, rt)
    by = s["by_gyomu"]
    assert set(by) == set(truth["by_gyomu"])
    for g, t in truth["by_gyomu"].items():
        b = by[g]
        assert b["records_read"] == t["records"], g
        assert (b["data_records_loaded"], b["data_records_quarantined"]) == (t["expected_loaded"], t["expected_quarantined"]), g
        assert b["records_read"] == b["records_staged"] + b["records_quarantined"], g
    for key in ("records_read", "records_loaded", "records_quarantined"):
        assert sum(b[key] for b in by.values()) == s[key], key


def test_a_report_for_every_division_of_table7(city_run):
    s = city_run["summary"]
    rep_dir = city_run["work"] / "run" / "report"
    divisions = {d for g in s["by_gyomu"] if g for d in divisions_for(g)}
    assert TABLE7_DIVISIONS <= divisions, sorted(TABLE7_DIVISIONS - divisions)
    passed = []
    for div in sorted(divisions):
        for ext in ("json", "html", "xlsx"):
            assert (rep_dir / f"report_{div}.{ext}").is_file(), (div, ext)
        rep = json.loads((rep_dir / f"report_{div}.json").read_text(encoding="utf-8"))
        mine = {g: b for g, b in s["by_gyomu"].items() if div in b["divisions"]}
        assert {r["gyomu_id"]: (r["read"], r["loaded"], r["quarantined"]) for r in rep["by_gyomu"]} == \
            {g: (b["records_read"], b["records_loaded"], b["records_quarantined"]) for g, b in mine.items()}, div
        failed = any(r["failed"] for r in rep["rules"]) or any(q["failed"] for q in rep["quarantine"]["rules"])
        assert rep["all_passed"] == (not failed and not any(b["records_quarantined"] for b in mine.values())), div
        page = (rep_dir / f"report_{div}.html").read_text(encoding="utf-8")
        assert ("全件合格" in page) == rep["all_passed"], div
        if rep["all_passed"]:
            passed.append(div)
        quarantined = sum(b["records_quarantined"] for b in mine.values())
        assert sum(f["total"] for f in rep["quarantine"]["records"]) == quarantined, div
        wb = openpyxl.load_workbook(rep_dir / f"report_{div}.xlsx", read_only=True)
        rows = [r for r in list(wb["業務別"].iter_rows(values_only=True))[1:] if r[0] and r[1]]
        assert sorted((r[0], r[2], r[5]) for r in rows) == \
            sorted((b["gyomu"], b["records_read"], b["records_quarantined"]) for b in mine.values()), div
    # the 担当課 table of the run's summary is the same one: every division of the run has a report entry
    assert {k.split(":", 1)[1] for k in s["reports"]["validation"] if k.startswith("division:")} >= divisions


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_every_gyomu_handed_over(city_run, target_kind, tmp_path):
    from kikan_hub.layouts.isl import all_tables
    from kikan_hub.store.content import store_content_hashes
    from kikan_hub.store.engine import open_engine

    s = city_run["summary"]
    out = tmp_path / "handover"
    p = kikan("export", "isl", "--all", "--store", city_run["store"], "--out", str(out), "--quiet")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {f["table"] for f in m["files"]} == set(all_tables())
    for g, e in s["gyomu"].items():         # rows of the 業務's tables this run loaded
        assert m["gyomu"][g]["records"] == e["loaded"], g
    assert {g for g, e in m["gyomu"].items() if e["records"]} == {g for g, e in s["gyomu"].items() if e["loaded"]}
    drop = None
    target = f"sqlite:///{tmp_path / 'next.db'}" if target_kind == "sqlite" else None
    if target is None:
        target, drop = pg_database("kikan_city")
    try:
        p = kikan("import", "isl", str(out), "--store", target)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        assert f"loaded {m['totals']['records']:,} records" in p.stdout
        p = kikan("verify-export", str(out), "--store", city_run["store"])
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        ids = sorted(all_tables())
        src, dst = open_engine(city_run["store"]), open_engine(target)
        try:
            assert store_content_hashes(dst, ids, True) == store_content_hashes(src, ids, True)
        finally:
            src.dispose()
            dst.dispose()
    finally:
        if drop:
            drop()
