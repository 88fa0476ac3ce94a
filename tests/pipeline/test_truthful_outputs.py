"""Truthful outputs (issue 16 point 5): a rejected run says 0 loaded and N staged in summary.json,
report.html, report.xlsx and on the console; the gate line names the level reached and the rules
that reached it; summary.json is JSON all the way down (no Python reprs)."""
from __future__ import annotations

import json
import re

import openpyxl
import pytest
from kikan_testenv import run_kikan as kikan

RECORD = 402  # layout_jumin.yaml: 400 bytes + CRLF


@pytest.fixture(scope="module")
def rejected(tmp_path_factory):
    """A sample whose JUMIN.DAT lost one resident record: the trailer count disagrees (CTL-COUNT, critical)."""
    work = tmp_path_factory.mktemp("rej")
    ex = work / "extract"
    assert kikan("sample", "--residents", "120", "--out", str(ex), "--seed", "7", "--quiet").returncode == 0
    data = (ex / "JUMIN.DAT").read_bytes()
    (ex / "JUMIN.DAT").write_bytes(data[:RECORD] + data[2 * RECORD:])
    proc = kikan("rehearse", str(ex / "manifest.yaml"), "--store", f"sqlite:///{work / 'k.db'}", "--run-dir", str(work / "run"))
    return proc, work / "run"


def test_rejected_run_loads_nothing_in_summary(rejected):
    proc, run = rejected
    assert proc.returncode == 1, proc.stdout + proc.stderr
    s = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert s["status"] == "rejected"
    assert s["records_loaded"] == 0 and s["records_staged"] > 0
    assert s["records_read"] == s["records_staged"] + s["records_quarantined"]
    for rts in s["files"].values():
        for c in rts.values():
            assert c["loaded"] == 0 and c["read"] == c["staged"] + c["quarantined"]
    assert s["gate"]["outcome"] == "critical" and "CTL-COUNT" in s["gate"]["decided_by"]


def test_rejected_run_loads_nothing_in_the_reports(rejected):
    _, run = rejected
    s = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    page = (run / "report" / "report.html").read_text(encoding="utf-8")
    assert re.search(r'id="loaded-total">0<', page)
    assert f"{s['records_staged']:,}" in page and "不採用" in page
    wb = openpyxl.load_workbook(run / "report" / "report.xlsx", read_only=True)
    total = list(wb["件数照合"].iter_rows(values_only=True))[-1]
    assert total[:7] == ("合計", None, s["records_read"], s["records_staged"], 0, s["records_quarantined"], "○")


def test_console_tells_the_same_and_the_gate_line_the_level_reached(rejected):
    proc, run = rejected
    s = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    text = proc.stdout
    assert f"変換済 {s['records_staged']:,}" in text and "ロード 0" in text and "不採用" in text
    # the record table's title shows that table's level, the gate line the run's and why
    assert f"読込・変換の検査（隔離）: {s['gate']['records_outcome']}" in text
    assert re.search(r"ゲート判定: critical（[^）]*CTL-COUNT", text)
    assert f"loaded {s['records_staged']:,}" not in text


def test_summary_is_json_all_the_way_down(rejected):
    _, run = rejected
    s = json.loads((run / "summary.json").read_text(encoding="utf-8"))

    def strings(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)
        elif isinstance(v, str):
            yield v
    reprs = [x for x in strings(s) if x.startswith(("{'", "['", "PosixPath(", "Decimal("))]
    assert reprs == []
    assert isinstance(s["reports"]["validation"]["all"], dict)
    assert s["reports"]["validation"]["all"]["html"].endswith("report.html")
