"""Issue 12: one rule engine, one rule id per fact.

The record stage of a rehearsal (record_checks.py) and the gate on a store (engine.py) judge the
item rules with the same registered checks under the same ids: the same rows give the same
failures, whatever stage looks at them.
"""
from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from kikan_hub.layouts.isl import get_table
from kikan_hub.mapping.row_errors import RowErrors
from kikan_hub.validation.catalogue import full_catalogue, gate_rules
from kikan_hub.validation.check_digits import m11_complete
from kikan_hub.validation.engine import validate_tables
from kikan_hub.validation.record_checks import is_record_rule, record_rules, run_record_checks


def _rows() -> dict[str, list]:
    atena = [str(a) for a in m11_complete(np.arange(6) + 123450000, 10)]
    setai = [str(a) for a in m11_complete(np.arange(6) + 500000000, 10)]
    kojin = [str(a) for a in m11_complete(np.arange(6) + 10000000000, 12)]
    setai[1] = setai[1][:-1] + str((int(setai[1][-1]) + 1) % 10)     # 世帯番号 M11 wrong: a warning
    kojin[2] = kojin[2][:-1] + str((int(kojin[2][-1]) + 1) % 10)     # 個人番号 check digit wrong: quarantined
    shimei = ["山田　太郎", "山田　花子", "佐藤　一郎", None, "田" * 40, "鈴木　桜"]   # missing; too long
    return {"atena_no": atena, "rireki_no": [1] * 6, "setai_no": setai, "kojin_bango": kojin, "shimei": shimei}


def test_record_stage_and_gate_judge_the_same_facts_under_the_same_ids():
    table = get_table("juki_jumin")
    rows = _rows()
    columns = {k: pa.array(v, pa.int64() if k == "rireki_no" else pa.string()) for k, v in rows.items()}
    errors = RowErrors(6)
    warnings = run_record_checks(columns, table, errors, {"atena_no": "m11", "setai_no": "m11"})
    assert warnings == {"ISL-M11.juki_jumin": 1}
    quarantined = {i: errors.rules[i] for i in range(6) if errors.rules[i]}
    assert quarantined == {2: "ISL-MYNUMBER.juki_jumin", 3: "ISL-REQUIRED.juki_jumin", 4: "ISL-LENGTH-CHARS.juki_jumin"}

    # the gate, on the same rows, finds the same rows under the same ids
    ids = {"ISL-M11.juki_jumin", "ISL-MYNUMBER.juki_jumin", "ISL-REQUIRED.juki_jumin", "ISL-LENGTH-CHARS.juki_jumin"}
    result = validate_tables({"juki_jumin": pl.DataFrame(rows)}, rules=[r for r in gate_rules() if r.id in ids])
    got = {r.id: r.failed for r in result.rules}
    assert got == {"ISL-M11.juki_jumin": 1, "ISL-MYNUMBER.juki_jumin": 1, "ISL-REQUIRED.juki_jumin": 1,
                   "ISL-LENGTH-CHARS.juki_jumin": 1}


def test_m11_judged_per_record_only_where_the_layout_declares_it():
    table = get_table("juki_jumin")
    columns = {k: pa.array(v, pa.int64() if k == "rireki_no" else pa.string()) for k, v in _rows().items()}
    errors = RowErrors(6)
    assert run_record_checks(columns, table, errors, {}) == {}     # j130: a migrated number keeps its own


def test_record_rules_are_catalogue_rules():
    cat = full_catalogue()
    rules = record_rules("juki_jumin")
    assert {r.template for r in rules} == {"ISL-REQUIRED", "ISL-LENGTH-CHARS", "ISL-M11", "ISL-MYNUMBER"}
    assert all(cat[r.id] is r and is_record_rule(r) for r in rules)
    # thresholds of the former record-stage twins are kept (CHK-MYNUMBER's)
    assert cat["ISL-MYNUMBER.juki_jumin"].thresholds == {"warn": 1, "error": 0.01, "critical": 0.2}
    assert cat["ISL-M11.juki_jumin"].severity == "warn"
