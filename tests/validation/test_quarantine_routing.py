"""Quarantine rules in the reports go to the division of the 業務 whose records they stopped.

The rehearsal attributes each record rule's failures to 業務 (summary gate rules' ``by_gyomu``,
see pipeline/accounting.py). A rule the catalogue gives no division (MAP-DATE, MAP-CODE) is reported to
each 業務's division; a rule with a division of its own (READ-*: 情報企画課) keeps it, and a
per-業務 report counts only that 業務's records.
"""
from __future__ import annotations

from kikan_hub.validation.engine import ValidationResult
from kikan_hub.validation.reports import build_report

SUMMARY = {"run_id": "Rroute01", "status": "loaded", "records_read": 100, "records_loaded": 94,
           "records_quarantined": 6,
           "gate": {"outcome": "warn", "rules": [
               {"rule_id": "MAP-CODE", "title": "コード表にないコード値", "division": "", "failed": 3,
                "level": "warn", "by_gyomu": {"juki": 2, "zei_kojin": 1}},
               {"rule_id": "READ-LENGTH", "title": "レコード長が定義と異なる", "division": "情報企画課", "failed": 3,
                "level": "warn", "by_gyomu": {"juki": 3}}]}}


def _quarantine(**cut) -> list[tuple[str, str, int]]:
    rep = build_report(ValidationResult([]), SUMMARY, **cut)
    return sorted((q["id"], q["division"], q["failed"]) for q in rep["quarantine"]["rules"])


def test_whole_report_splits_a_rule_without_division_by_gyomu():
    assert _quarantine() == sorted([("MAP-CODE", "市民課", 2), ("MAP-CODE", "市民税課", 1), ("READ-LENGTH", "情報企画課", 3)])


def test_each_division_sees_only_its_gyomu_records():
    assert _quarantine(division="市民税課") == [("MAP-CODE", "市民税課", 1)]
    # READ-LENGTH stays 情報企画課's rule, but 市民課 sees that 3 of its own records were stopped by it
    assert _quarantine(division="市民課") == [("MAP-CODE", "市民課", 2), ("READ-LENGTH", "情報企画課", 3)]
    assert _quarantine(division="情報企画課") == [("READ-LENGTH", "情報企画課", 3)]


def test_a_gyomu_of_two_divisions_is_in_both_reports():
    """表7: 健康管理 belongs to 健康増進課 and 母子保健課 (codes/gyomu.yaml tantoka lists both)."""
    from kikan_hub.validation.catalogue import divisions_for

    assert divisions_for("kenko") == ["健康増進課", "母子保健課"]
    assert divisions_for("juki") == ["市民課"]
    summary = {**SUMMARY, "gate": {"outcome": "warn", "rules": [
        {"rule_id": "MAP-DATE", "title": "存在しない年月日", "division": "", "failed": 4, "level": "warn",
         "by_gyomu": {"kenko": 3, "juki": 1}}]},
        "by_gyomu": {"kenko": {"gyomu": "健康管理", "division": "健康増進課", "divisions": ["健康増進課", "母子保健課"],
                               "files": ["KENSHIN"], "records_read": 10, "records_staged": 7, "records_loaded": 7,
                               "records_quarantined": 3}}}
    for div in ("健康増進課", "母子保健課"):
        rep = build_report(ValidationResult([]), summary, division=div)
        assert [(q["id"], q["failed"]) for q in rep["quarantine"]["rules"]] == [("MAP-DATE", 3)], div
        assert [(g["gyomu_id"], g["read"], g["quarantined"]) for g in rep["by_gyomu"]] == [("kenko", 10, 3)], div
        assert rep["all_passed"] is False
    rep = build_report(ValidationResult([]), summary, division="市民課")
    assert rep["by_gyomu"] == [] and [(q["id"], q["failed"]) for q in rep["quarantine"]["rules"]] == [("MAP-DATE", 1)]


def test_gyomu_report_counts_only_its_records():
    assert _quarantine(gyomu="zei_kojin") == [("MAP-CODE", "市民税課", 1)]
    assert _quarantine(gyomu="juki") == [("MAP-CODE", "市民課", 2), ("READ-LENGTH", "情報企画課", 3)]


def test_a_summary_without_by_gyomu_reads_as_before():
    old = {**SUMMARY, "gate": {"outcome": "warn", "rules": [
        {"rule_id": "MAP-DATE", "title": "存在しない年月日", "division": "市民課", "failed": 7, "level": "warn"}]}}
    rep = build_report(ValidationResult([]), old)
    assert [(q["id"], q["division"], q["failed"]) for q in rep["quarantine"]["rules"]] == [("MAP-DATE", "市民課", 7)]
