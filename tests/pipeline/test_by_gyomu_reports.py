"""Issue 13 (4): a rehearsal of several 業務 accounts per 業務 (summary.json ``by_gyomu``, the console,
report.html / report.xlsx) and writes a report for every 担当課 whose 業務 are in the run — one
whose records all passed says 全件合格 with its counts; one with quarantined records shows them masked.

The run: the sample's 住民記録 (市民課) + 軽自動車税 (市民税課) + 固定資産税 (資産税課) in one manifest
(merged_sample.py), generated clean; one 住民 record gets an impossible 処理日 (MAP-DATE, quarantined).
XREF-ATENA* are lowered to error for the run (the sample's 住登外 file is not part of it), so it loads.
A second run drops one resident record (trailer count: CTL-COUNT critical) and is rejected.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml
from kikan_testenv import need_chromium, run_kikan as kikan
from merged_sample import merge_zei

RECORD = 642              # layout_jumin.yaml: record_length 640 + CRLF
SHORI_DATE = 333          # 処理日 (西暦): start 334, length 8 → 0-based offset in the record
NAME = (27, 24)           # 氏名: start 28, length 24
REASON = "見本の住登外ファイルはこのリハーサルに含めない (テスト)"
RULES = {"XREF-ATENA": {"severity": "error", "reason": REASON}, "XREF-ATENA-ZEI": {"severity": "error", "reason": REASON}}
GYOMU_OF_FILE = (("ZEI_KEI_", "zei_kei"), ("ZEI_KOTEI_", "zei_kotei"), ("", "juki"))


def _gyomu(file_id: str) -> str:
    return next(g for prefix, g in GYOMU_OF_FILE if file_id.startswith(prefix))


def _plant_bad_date(jumin: Path) -> tuple[int, str]:
    """The first resident record whose name is plain CP932 gets 処理日 20241399; returns (record no, name)."""
    data = bytearray(jumin.read_bytes())
    for i in range(1, len(data) // RECORD):
        rec = data[i * RECORD:(i + 1) * RECORD]
        if rec[:1] != b"2":          # resident records (layout_jumin.yaml code "2")
            continue
        name = bytes(rec[NAME[0]:NAME[0] + NAME[1]]).decode("cp932", errors="replace").strip("\u3000 ")
        if len(name) >= 3 and "\ufffd" not in name and not any(0xE000 <= ord(c) <= 0xF8FF for c in name):
            at = i * RECORD + SHORI_DATE
            data[at:at + 8] = b"20241399"
            jumin.write_bytes(bytes(data))
            return i + 1, name
    raise AssertionError("no resident record with a plain name")


def _records_of(path: Path, layout: Path) -> int:
    """Records the old system wrote: fixed-width records (record_length + CRLF; an EOF byte after the
    last), or CSV lines (the header line included)."""
    data = path.read_bytes()
    spec = yaml.safe_load(layout.read_text(encoding="utf-8"))
    if spec.get("record_length"):
        return len(data) // (spec["record_length"] + (2 if spec.get("terminator") == "crlf" else 0))
    return len(data.splitlines())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    work = tmp_path_factory.mktemp("by_gyomu")
    ex = work / "extract"
    p = kikan("sample", "--residents", "150", "--out", str(ex), "--seed", "7", "--defect-rate", "0", "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    record_no, name = _plant_bad_date(ex / "JUMIN.DAT")
    rej = work / "rejected"
    shutil.copytree(ex, rej)
    data = (rej / "JUMIN.DAT").read_bytes()
    (rej / "JUMIN.DAT").write_bytes(data[:RECORD * 3] + data[RECORD * 4:])   # one resident record fewer
    runs = {}
    for key, d in (("ok", ex), ("rejected", rej)):
        manifest = merge_zei(d, ("ZEI_KEI_", "ZEI_KOTEI_"), RULES)
        runs[key] = kikan("rehearse", str(manifest), "--store", f"sqlite:///{work / (key + '.db')}",
                          "--run-dir", str(work / f"run_{key}"))
    return {"ex": ex, "work": work, "runs": runs, "record_no": record_no, "name": name,
            "summary": {k: json.loads((work / f"run_{k}" / "summary.json").read_text(encoding="utf-8")) for k in runs}}


def test_by_gyomu_counts_every_record_of_each_gyomu_files(world):
    assert world["runs"]["ok"].returncode == 0, world["runs"]["ok"].stdout + world["runs"]["ok"].stderr
    s = world["summary"]["ok"]
    manifest_files = {i["id"]: (Path(i["path"]), Path(i["layout"])) for i in s["inputs"]}
    expected: dict[str, dict] = {}
    for fid, rts in s["files"].items():
        e = expected.setdefault(_gyomu(fid), {"read": 0, "written": 0, "staged": 0, "quarantined": 0, "files": set()})
        e["written"] += _records_of(*manifest_files[fid])      # what the file holds, counted apart from the hub
        e["files"].add(fid)
        for c in rts.values():
            e["read"] += c["read"]
            e["staged"] += c["staged"]
            e["quarantined"] += c["quarantined"]
    by = s["by_gyomu"]
    assert set(by) == {"juki", "zei_kei", "zei_kotei"}
    for g, e in expected.items():
        b = by[g]
        assert b["records_read"] == e["read"] == e["written"], g
        assert (b["records_staged"], b["records_loaded"], b["records_quarantined"]) == (e["staged"], e["staged"], e["quarantined"]), g
        assert b["records_read"] == b["records_staged"] + b["records_quarantined"]
        assert set(b["files"]) == e["files"]
        assert b["data_records_loaded"] == b["records_loaded"] - b["control_records"], g  # no control record quarantined
    assert by["juki"]["records_quarantined"] == by["juki"]["data_records_quarantined"] == 1   # the planted 処理日
    assert by["zei_kei"]["records_quarantined"] == by["zei_kotei"]["records_quarantined"] == 0
    assert (by["juki"]["division"], by["zei_kei"]["division"], by["zei_kotei"]["division"]) == ("市民課", "市民税課", "資産税課")
    for key in ("records_read", "records_staged", "records_loaded", "records_quarantined"):
        assert sum(b[key] for b in by.values()) == s[key], key


def test_a_rejected_run_loads_zero_for_every_gyomu(world):
    assert world["runs"]["rejected"].returncode == 1
    s = world["summary"]["rejected"]
    assert s["status"] == "rejected" and "CTL-COUNT" in s["gate"]["decided_by"]
    for g, b in s["by_gyomu"].items():
        assert b["records_loaded"] == b["data_records_loaded"] == 0, g
        assert b["records_staged"] > 0 and b["records_read"] == b["records_staged"] + b["records_quarantined"], g
    page = (world["work"] / "run_rejected" / "report" / "report.html").read_text(encoding="utf-8")
    row = re.search(r'<tr data-gyomu="zei_kotei">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells[4] == "0" and cells[3] == f"{s['by_gyomu']['zei_kotei']['records_staged']:,}"


def test_console_shows_the_table_per_gyomu(world):
    out = world["runs"]["ok"].stdout
    s = world["summary"]["ok"]
    assert "業務別の件数" in out
    table = out[out.index("業務別の件数"):]
    head = next(line for line in table.splitlines() if "業務" in line and "担当課" in line)
    assert [h for h in ("業務", "担当課", "読込", "変換済", "ロード", "隔離") if h in head] == ["業務", "担当課", "読込", "変換済", "ロード", "隔離"]
    b = s["by_gyomu"]["zei_kotei"]
    assert re.search(rf"固定資産税\s*│\s*資産税課\s*│\s*{b['records_read']:,}\s*│\s*{b['records_staged']:,}\s*│\s*"
                     rf"{b['records_loaded']:,}\s*│\s*0\s*│", table), table


def test_report_html_and_xlsx_show_the_table_per_gyomu(world):
    rep_dir = world["work"] / "run_ok" / "report"
    s = world["summary"]["ok"]
    rep = json.loads((rep_dir / "report.json").read_text(encoding="utf-8"))
    assert {g["gyomu_id"]: (g["read"], g["loaded"], g["quarantined"]) for g in rep["by_gyomu"]} == \
        {g: (b["records_read"], b["records_loaded"], b["records_quarantined"]) for g, b in s["by_gyomu"].items()}
    wb = openpyxl.load_workbook(rep_dir / "report.xlsx", read_only=True)
    rows = list(wb["業務別"].iter_rows(values_only=True))
    assert rows[0][:6] == ("業務", "担当課", "読込", "変換済", "ロード", "隔離")
    got = {r[0]: r[1:7] for r in rows[1:] if r[0]}
    for b in s["by_gyomu"].values():
        assert got[b["gyomu"]] == (b["division"], b["records_read"], b["records_staged"], b["records_loaded"],
                                   b["records_quarantined"], "○")


def test_every_division_of_the_run_has_its_report(world):
    rep_dir = world["work"] / "run_ok" / "report"
    for div in ("市民課", "市民税課", "資産税課"):
        for ext in ("json", "html", "xlsx"):
            assert (rep_dir / f"report_{div}.{ext}").is_file(), (div, ext)
    kei = json.loads((rep_dir / "report_市民税課.json").read_text(encoding="utf-8"))
    assert kei["all_passed"] is True
    assert [g["gyomu_id"] for g in kei["by_gyomu"]] == ["zei_kei"]
    assert kei["rules"] and all(r["failed"] == 0 and r["gyomu"] == "zei_kei" for r in kei["rules"])   # the rules that ran
    kotei = json.loads((rep_dir / "report_資産税課.json").read_text(encoding="utf-8"))
    assert kotei["all_passed"] is False and [g["gyomu_id"] for g in kotei["by_gyomu"]] == ["zei_kotei"]
    assert any(r["id"].startswith("XREF-ATENA") and r["failed"] for r in kotei["rules"])
    assert all(r["division"] == "資産税課" for r in kotei["rules"])
    juki = json.loads((rep_dir / "report_市民課.json").read_text(encoding="utf-8"))
    assert [(q["id"], q["failed"]) for q in juki["quarantine"]["rules"]] == [("MAP-DATE", 1)]
    [jumin] = [f for f in juki["quarantine"]["records"] if f["file_id"] == "JUMIN"]
    assert jumin["total"] == 1 and jumin["rows"][0][0] == world["record_no"]
    wb = openpyxl.load_workbook(rep_dir / "report_資産税課.xlsx", read_only=True)
    assert [r[0] for r in list(wb["業務別"].iter_rows(values_only=True))[1:] if r[0]] == ["固定資産税"]


def test_division_reports_mask_the_quarantined_records(world):
    rep_dir = world["work"] / "run_ok" / "report"
    name = world["name"]
    page = (rep_dir / "report_市民課.html").read_text(encoding="utf-8")
    assert name not in html.unescape(page) and name[0] in page
    wb = openpyxl.load_workbook(rep_dir / "report_市民課.xlsx", read_only=True)
    sheet = next(n for n in wb.sheetnames if n.startswith("隔離_JUMIN"))
    cells = [v for row in wb[sheet].iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert any("20241399" in v or "処理日" in v for v in cells)
    assert not any(name in v for v in cells)


def test_division_reports_in_chromium(world, tmp_path):
    need_chromium()
    sys.path.insert(0, str(Path(__file__).parents[1] / "validation"))
    from cdp_pipe import open_offline

    rep_dir = world["work"] / "run_ok" / "report"
    s = world["summary"]["ok"]
    dom, requests = open_offline((rep_dir / "report_市民税課.html").as_uri(), tmp_path / "p1")
    assert requests == []
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    b = s["by_gyomu"]["zei_kei"]
    assert "全件合格" in text and re.search(rf"軽自動車税 読込 {b['records_read']:,} 件・ロード {b['records_loaded']:,} 件", text)
    assert '<tr data-gyomu="zei_kei">' in dom and 'data-gyomu="juki"' not in dom
    dom, requests = open_offline((rep_dir / "report_市民課.html").as_uri(), tmp_path / "p2")
    assert requests == []
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    assert "全件合格" not in text and 'data-file="JUMIN"' in dom and world["name"] not in text
