"""An unidentified register character: quarantine exactly the records holding it, or load them flagged."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[2]


def kikan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], capture_output=True, text=True, cwd=PROJECT)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("g") / "extract"
    proc = kikan("sample", "--residents", "2000", "--out", str(out), "--seed", "3", "--unidentified-gaiji", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def unidentified_code(sample: Path) -> str:
    import csv

    with (sample / "gaiji_register.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["status"] != "同定済"]
    assert len(rows) == 1
    return rows[0]["source_code"]


def test_quarantine_policy(sample, tmp_path):
    code = unidentified_code(sample)
    proc = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{tmp_path / 's.db'}",
                 "--run-dir", str(tmp_path / "run"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    truth = pq.read_table(sample / "truth" / "records.parquet").to_pylist()
    expected = {(t["file_id"], t["record_no"]) for t in truth if t["expected_rule"] == "GAIJI-UNRESOLVED"}
    assert expected, "the sample must plant records with the unidentified character"
    got = set()
    for p in (tmp_path / "run" / "quarantine").glob("*.parquet"):
        for r in pq.read_table(p).to_pylist():
            if "GAIJI-UNRESOLVED" in r["rule_ids"]:
                got.add((r["file_id"], r["record_no"]))
                assert code in r["message"]
    assert got == expected
    report = json.loads((tmp_path / "run" / "report" / "gaiji_fidelity.json").read_text(encoding="utf-8"))
    entries = report["未解決外字"]["明細"]
    assert [e["移行元コード"] for e in entries] == [code]
    assert set(entries[0]["項目別件数"]) <= {"氏名", "世帯主の氏名", "筆頭者", "住所", "本籍", "方書", "転入前住所", "転出先住所", "町字"}
    assert sum(entries[0]["項目別件数"].values()) == entries[0]["件数"]


def test_flag_policy_loads_flagged(sample, tmp_path):
    flagged = tmp_path / "extract"
    import shutil

    shutil.copytree(sample, flagged)
    m = flagged / "manifest.yaml"
    m.write_text(m.read_text(encoding="utf-8").replace("unresolved_gaiji: quarantine", "unresolved_gaiji: flag"),
                 encoding="utf-8")
    db = tmp_path / "f.db"
    proc = kikan("rehearse", str(m), "--store", f"sqlite:///{db}", "--run-dir", str(tmp_path / "run"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    truth = pq.read_table(sample / "truth" / "records.parquet").to_pylist()
    expected = {(t["file_id"], t["record_no"]) for t in truth if t["expected_rule"] == "GAIJI-UNRESOLVED"}
    with sa.create_engine(f"sqlite:///{db}").connect() as c:
        rows = c.execute(sa.text("select _source_file, _record_no from juki_jumin where _flags like '%gaiji-unresolved%' "
                                 "union all select _source_file, _record_no from juki_setai where _flags like '%gaiji-unresolved%'")).all()
    got = {(src.split("/")[-1], n) for src, n in rows}
    assert got == expected
