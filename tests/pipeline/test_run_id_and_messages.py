"""Issue 16 (13): the run id covers everything that decides the result; a quarantined record's
message lists every failing field, not only the first."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sample_copy import rehearse_in_process  # noqa: E402


@pytest.fixture
def sample(clean_copy) -> Path:
    return clean_copy


def _run_id(sample: Path) -> str:
    from kikan_hub.pipeline.manifest import load_manifest
    from kikan_hub.pipeline.run_id import compute_run_id

    return compute_run_id(load_manifest(sample / "manifest.yaml"))


def test_run_id_changes_with_the_rule_catalogue(sample, tmp_path, monkeypatch):
    from kikan_hub.validation import catalogue

    before = _run_id(sample)
    assert _run_id(sample) == before  # deterministic
    rules = tmp_path / "rules"
    shutil.copytree(catalogue.RULES_DIR, rules)
    p = rules / "juki.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("critical: 0.05", "critical: 0.5", 1), encoding="utf-8")
    monkeypatch.setattr(catalogue, "RULES_DIR", rules)
    assert _run_id(sample) != before


def test_run_id_changes_with_the_definitions_and_the_hub_version(sample, tmp_path, monkeypatch):
    from kikan_hub.layouts import isl
    from kikan_hub.pipeline import run_id

    before = _run_id(sample)
    defs = tmp_path / "isl"
    shutil.copytree(isl.definitions_dir(), defs)
    code = defs / "codes" / "zokugara.yaml"
    code.write_text(code.read_text(encoding="utf-8") + "\n# 改訂\n", encoding="utf-8")
    monkeypatch.setenv("KIKAN_ISL_DIR", str(defs))
    assert _run_id(sample) != before
    monkeypatch.delenv("KIKAN_ISL_DIR")
    assert _run_id(sample) == before
    monkeypatch.setattr(run_id, "hub_version", lambda: "9.9.9")
    assert _run_id(sample) != before


def test_quarantine_message_lists_every_failing_field(sample, tmp_path):
    # A resident record with an impossible 生年月日 (昭和64年1月8日) and a 異動日 with month 13.
    path = sample / "JUMIN.DAT"
    data = bytearray(path.read_bytes())
    # record 2: the first resident (the layout's record length + CRLF per record)
    rec = yaml.safe_load((sample / "layout_jumin.yaml").read_text(encoding="utf-8"))["record_length"] + 2
    data[rec + 82:rec + 89] = b"3640108"
    data[rec + 318:rec + 325] = b"4011301"
    path.write_bytes(bytes(data))
    result = rehearse_in_process(sample, tmp_path)
    q = pq.read_table(result.run_dir / "quarantine" / "JUMIN.parquet").to_pylist()
    row = next(r for r in q if r["offset"] == rec)
    assert row["rule_ids"] == "MAP-DATE"
    fields = row["field"].split(",")
    assert len(fields) == 2 and "birth_date" in fields[0] and "idou_date" in fields[1], row["field"]
    assert "生年月日" in row["message"] and "異動日" in row["message"], row["message"]
