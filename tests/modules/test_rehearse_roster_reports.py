"""Issue 14: the rosters appear with the division reports of a rehearsal — `kikan rehearse --rosters-as-of D`
writes 名簿_<担当課>.{json,html,xlsx} into RUN/report/ beside report_<担当課>.*, lists them in summary.json,
and their counts are those `kikan roster` lists for the same store and date."""
from __future__ import annotations

import csv
import json

from kikan_testenv import run_kikan as kikan


def test_rehearse_writes_the_roster_reports_beside_the_division_reports(tmp_path):
    sample, run, store = tmp_path / "sample", tmp_path / "run", f"sqlite:///{tmp_path / 'kikan.db'}"
    p = kikan("sample", "--residents", "400", "--out", str(sample), "--seed", "3", "--quiet")
    assert p.returncode == 0, p.stderr
    p = kikan("rehearse", str(sample / "manifest.yaml"), "--store", store, "--run-dir", str(run), "--quiet",
              "--rosters-as-of", "令和6年3月31日")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    report = run / "report"
    senkyo_json = report / "名簿_選挙管理委員会事務局.json"
    assert senkyo_json.is_file() and (report / "名簿_選挙管理委員会事務局.html").is_file()
    # the 担当課 are 表7's (codes/gyomu.yaml tantoka), the same names as the division reports
    assert (report / "名簿_学校教育課.xlsx").is_file()
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    rosters = summary["reports"]["rosters"]
    assert rosters["as_of"] == "令和6年3月31日" and "選挙管理委員会事務局" in rosters["by_division"]
    section = json.loads(senkyo_json.read_text(encoding="utf-8"))["rosters"][0]
    assert section["name"] == "senkyo" and section["as_of"] == "2024-03-31"
    listed = kikan("roster", "senkyo", "--as-of", "2024-03-31", "--store", store, "--out", str(tmp_path / "s.csv"))
    assert listed.returncode == 0, listed.stderr
    with open(tmp_path / "s.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_status = {k: sum(1 for r in rows if r["判定"] == k) for k in ("掲載", "表示")}
    assert by_status["掲載"] > 0
    assert {k: section["counts"][k] for k in by_status} == by_status


def test_a_rejected_rehearsal_writes_no_roster_report(tmp_path):
    sample, run = tmp_path / "sample", tmp_path / "run"
    assert kikan("sample", "--residents", "200", "--out", str(sample), "--seed", "4", "--quiet",
                 "--defect-rate", "0.12").returncode == 0
    p = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{tmp_path / 'k.db'}", "--run-dir",
              str(run), "--quiet", "--rosters-as-of", "2024-03-31")
    assert p.returncode == 1, p.stdout[-2000:]
    assert not list((run / "report").glob("名簿_*"))
    assert "名簿レポート" in p.stdout
