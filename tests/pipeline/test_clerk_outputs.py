"""What clerks read after a rehearsal (issue 16 point 6): the fidelity report names an unregistered
character by its vendor code (F940), not the private-use code point it decodes to; MAP-CODE names
the unknown value; reader messages are Japanese; report.xlsx has a sheet per file with every
quarantined record laid out by the layout, names and addresses masked."""
from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from kikan_testenv import run_kikan as kikan

from kikan_hub.layouts.legacy import load_legacy_layout
from kikan_hub.validation.masking import mask_name

ENGLISH_PHRASE = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")
VENDOR = bytes.fromhex("F940")  # CP932 user-defined area (U+E6D8), not in the sample's register


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("clerk")
    ex = work / "extract"
    assert kikan("sample", "--residents", "150", "--out", str(ex), "--seed", "5", "--quiet").returncode == 0
    assert "F940" not in (ex / "gaiji_register.csv").read_text(encoding="utf-8")
    lay = load_legacy_layout(ex / "layout_jumin.yaml")
    res = lay.record_type("resident")
    name, zoku, setai = res.field("shimei"), res.field("zokugara"), res.field("setai_no")
    data = bytearray((ex / "JUMIN.DAT").read_bytes())
    size = lay.record_length + 2
    r2, r3, r4 = size, 2 * size, 3 * size       # the first residents (record 1 is the header)
    data[r2 + name.offset: r2 + name.offset + 2] = VENDOR
    data[r3 + zoku.offset: r3 + zoku.offset + 2] = b"ZZ"
    data[r4 + setai.offset + 3] = ord("X")      # a reader rule (READ-NUMBER) too
    (ex / "JUMIN.DAT").write_bytes(bytes(data))
    proc = kikan("rehearse", str(ex / "manifest.yaml"), "--store", f"sqlite:///{work / 'k.db'}", "--run-dir",
                 str(work / "run"), "--quiet")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return work / "run", ex, lay


def quarantined(run_dir: Path, file_id: str = "JUMIN") -> list[dict]:
    p = run_dir / "quarantine" / f"{file_id}.parquet"
    return pq.read_table(p).to_pylist() if p.exists() else []


def test_fidelity_report_names_the_vendor_code(run):
    run_dir, _, _ = run
    rep = json.loads((run_dir / "report" / "gaiji_fidelity.json").read_text(encoding="utf-8"))
    codes = [e["移行元コード"] for e in rep["未解決外字"]["明細"]]
    assert codes == ["F940"]
    q = {r["record_no"]: r for r in quarantined(run_dir)}
    assert "GAIJI-UNRESOLVED" in q[2]["rule_ids"] and "F940" in q[2]["message"] and "U+" not in q[2]["message"]


def test_map_code_names_the_unknown_value(run):
    run_dir, _, _ = run
    q = {r["record_no"]: r for r in quarantined(run_dir)}
    assert "MAP-CODE" in q[3]["rule_ids"] and "「ZZ」" in q[3]["message"]
    for r in quarantined(run_dir) + quarantined(run_dir, "SETAI"):
        if r["rule_ids"].startswith("MAP-CODE"):
            assert re.search(r"コード値「[^」]+」", r["message"]), r["message"]


def test_quarantine_messages_are_japanese(run):
    run_dir, _, _ = run
    msgs = [r["message"] for f in ("JUMIN", "SETAI") for r in quarantined(run_dir, f)]
    q = {r["record_no"]: r for r in quarantined(run_dir)}
    assert "READ-NUMBER" in q[4]["rule_ids"] and "数字以外の文字" in q[4]["message"]
    assert msgs and [m for m in msgs if ENGLISH_PHRASE.search(m)] == []


def test_report_xlsx_has_every_quarantined_record_per_file_masked(run):
    run_dir, ex, lay = run
    from kikan_hub.adapters.codecs import get_codec
    from kikan_hub.adapters.preview import fixed_field

    wb = openpyxl.load_workbook(run_dir / "report" / "report.xlsx", read_only=True)
    files = [fid for fid in ("JUMIN", "SETAI") if quarantined(run_dir, fid)]
    assert "JUMIN" in files
    assert [n for n in wb.sheetnames if n.startswith("隔離_")] == [f"隔離_{fid}" for fid in files]
    for fid in files:
        q = quarantined(run_dir, fid)
        rows = list(wb[f"隔離_{fid}"].iter_rows(min_row=3, values_only=True))
        head, body = rows[0], rows[1:]
        assert head[:5] == ("レコード番号", "バイト位置", "レコード種別", "ルール", "内容")
        assert [(b[0], b[1], b[3]) for b in body] == [(r["record_no"], r["offset"], r["rule_ids"]) for r in q]
    # the resident's name is shown masked (first character of each part), never in full
    q = {r["record_no"]: r for r in quarantined(run_dir)}
    rows = list(wb["隔離_JUMIN"].iter_rows(min_row=3, values_only=True))
    col = rows[0].index("氏名(shimei)")
    by_no = {b[0]: b for b in rows[1:]}
    res = lay.record_type("resident")
    full = fixed_field(res.field("shimei"), q[3]["raw"], q[3]["offset"], get_codec("cp932"))["value"]
    assert full and by_no[3][col] == mask_name(full) and by_no[3][col] != full
    assert "＊" in by_no[2][col]
    zoku = rows[0].index("続柄(zokugara)")
    assert by_no[3][zoku] == "ZZ"
