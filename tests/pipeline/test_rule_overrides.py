"""Issue 16 (2): a manifest `rules:` section judges a rule differently for one rehearsal — thresholds
or severity in the catalogue's shape, each with a required reason shown in summary.json, the reports
and the ledger; unknown keys in any configuration file are exit 2 with the allowed keys listed."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from sample_copy import copy_sample, generate_sample, kikan, rehearse_in_process  # noqa: E402

from kikan_hub.pipeline.errors import ConfigError  # noqa: E402
from kikan_hub.pipeline.manifest import load_manifest  # noqa: E402
from kikan_hub.validation.engine import validate_run  # noqa: E402

REASON = "旧システムは世帯主変更の異動を持たないため。第2回リハーサルで再判定（情報政策課）"


@pytest.fixture(scope="module")
def base_sample(tmp_path_factory) -> Path:
    d = generate_sample(tmp_path_factory.mktemp("s") / "extract", residents=80, defect_rate=0.0)
    # Every resident written as 世帯主 (続柄 00): each household of two or more has several heads.
    data = bytearray((d / "JUMIN.DAT").read_bytes())
    for off in range(0, len(data) - 400, 402):
        if data[off:off + 1] == b"2":
            data[off + 109:off + 111] = b"00"
    (d / "JUMIN.DAT").write_bytes(bytes(data))
    return d


@pytest.fixture
def sample(base_sample, tmp_path) -> Path:
    return copy_sample(base_sample, tmp_path / "extract")


def _set_rules(sample: Path, rules) -> None:
    p = sample / "manifest.yaml"
    m = yaml.safe_load(p.read_text(encoding="utf-8"))
    m["rules"] = rules
    p.write_text(yaml.safe_dump(m, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _rule(summary: dict, rid: str) -> dict:
    return next(r for r in summary["validation"]["rules"] if r["rule_id"] == rid)


def test_override_thresholds_turns_a_rejection_into_a_load(sample, tmp_path):
    _set_rules(sample, {"JUKI-SETAINUSHI": {"thresholds": {"warn": 1, "error": 0.001, "critical": 0.01},
                                            "reason": "厳しく判定する"}})
    strict = rehearse_in_process(sample, tmp_path / "a")
    assert strict.exit_code == 1 and strict.summary["status"] == "rejected"
    assert _rule(strict.summary, "JUKI-SETAINUSHI")["level"] == "critical"

    _set_rules(sample, {"JUKI-SETAINUSHI": {"thresholds": {"warn": 1, "error": 0.01}, "reason": REASON}})
    res = rehearse_in_process(sample, tmp_path / "b")
    s = res.summary
    assert res.exit_code == 0 and s["status"] == "loaded"
    r = _rule(s, "JUKI-SETAINUSHI")
    assert r["failed"] > 0 and r["level"] == "error" and r["override"] == REASON
    assert s["run_id"] != strict.summary["run_id"]
    (o,) = s["rule_overrides"]
    assert o["rule_id"] == "JUKI-SETAINUSHI" and o["reason"] == REASON
    assert o["thresholds"] == {"warn": 1, "error": 0.01} and "critical" in o["before"]["thresholds"]

    # summary.json on disk, report.json / .html / .xlsx, and the ledger all carry the override and its reason
    on_disk = json.loads((res.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["rule_overrides"][0]["reason"] == REASON
    report = json.loads((res.run_dir / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["overrides"][0]["reason"] == REASON
    assert next(x for x in report["rules"] if x["id"] == "JUKI-SETAINUSHI")["override"]["reason"] == REASON
    html = (res.run_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="overrides"' in html and REASON in html
    wb = openpyxl.load_workbook(res.run_dir / "report" / "report.xlsx", read_only=True)
    rows = list(wb["ルール変更"].iter_rows(values_only=True))
    assert any(row[0] == "JUKI-SETAINUSHI" and row[3] == REASON for row in rows)
    with sa.create_engine(f"sqlite:///{tmp_path / 'b' / 'store.db'}").connect() as c:
        ledger = json.loads(c.execute(sa.text("select summary_json from kikan_runs where run_id = :r"),
                                      {"r": res.run_id}).scalar())
    assert ledger["rule_overrides"][0]["reason"] == REASON

    # `kikan validate --run-dir` judges the staged rows again with the same override
    again, _ = validate_run(res.run_dir)
    assert again["JUKI-SETAINUSHI"].level == "error"


def test_severity_override_caps_the_level(sample, tmp_path):
    _set_rules(sample, {"JUKI-SETAINUSHI": {"thresholds": {"warn": 1, "critical": 0.01}, "severity": "warn",
                                            "reason": REASON}})
    res = rehearse_in_process(sample, tmp_path)
    r = _rule(res.summary, "JUKI-SETAINUSHI")
    assert res.exit_code == 0 and r["failed"] > 0 and r["level"] == "warn"


def test_family_override_reaches_every_generated_rule(sample):
    _set_rules(sample, {"ISL-CODE": {"severity": "warn", "reason": REASON}})
    m = load_manifest(sample / "manifest.yaml")
    from kikan_hub.validation.catalogue import gate_rules
    from kikan_hub.validation.overrides import apply_overrides

    rules = [r for r in apply_overrides(gate_rules(), m.rule_overrides) if r.template == "ISL-CODE"]
    assert rules and all(r.level_cap == "warn" and r.override["reason"] == REASON for r in rules)


@pytest.mark.parametrize("rules, words", [
    ({"JUKI-SETAINUSI": {"severity": "warn", "reason": "x"}}, ["JUKI-SETAINUSI", "JUKI-SETAINUSHI"]),
    ({"JUKI-SETAINUSHI": {"severity": "warn"}}, ["rules.JUKI-SETAINUSHI: missing key 'reason'", "変更の理由"]),
    ({"JUKI-SETAINUSHI": {"severity": "warn", "reason": "  "}}, ["reason is required"]),
    ({"JUKI-SETAINUSHI": {"threshold": {"warn": 1}, "reason": "x"}}, ["threshold", "allowed keys", "thresholds"]),
    ({"JUKI-SETAINUSHI": {"thresholds": {"fatal": 1}, "reason": "x"}}, ["rules.JUKI-SETAINUSHI.thresholds: unknown key 'fatal'", "'warn', 'error', 'critical'"]),
    ({"JUKI-SETAINUSHI": {"severity": "low", "reason": "x"}}, ["severity"]),
    ({"JUKI-SETAINUSHI": {"reason": "x"}}, ["nothing to override"]),
])
def test_bad_overrides_are_refused(sample, rules, words):
    _set_rules(sample, rules)
    with pytest.raises(ConfigError) as e:
        load_manifest(sample / "manifest.yaml")
    for w in words:
        assert w in e.value.message, (w, e.value.message)


def test_unknown_manifest_keys_exit_2_with_allowed_keys(sample, tmp_path):
    p = sample / "manifest.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "rule:\n  JUKI-SETAINUSHI: {severity: warn, reason: x}\n",
                 encoding="utf-8")
    proc = kikan("rehearse", str(p), "--store", f"sqlite:///{tmp_path / 's.db'}", "--run-dir", str(tmp_path / "r"),
                 "--quiet")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Traceback" not in text
    assert "rule" in text and "allowed keys" in text and "rules" in text.split("allowed keys")[1]


def test_unknown_file_entry_key(sample):
    p = sample / "manifest.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("encoding: cp932}", "encoding: cp932, skip: 1}", 1),
                 encoding="utf-8")
    with pytest.raises(ConfigError, match=r"files\[0\]\(JUMIN\): unknown key 'skip' .*: id, path, layout, encoding \(line \d+\)$"):
        load_manifest(p)


def test_unknown_register_column(sample):
    p = sample / "gaiji_register.csv"
    p.write_text(p.read_text(encoding="utf-8").replace("glyph_note", "glyph_notes", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="glyph_notes.*allowed"):
        load_manifest(sample / "manifest.yaml")
