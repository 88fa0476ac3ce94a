"""The record stage of a rehearsal: the catalogue's item rules run on every mapped record.

There is one rule engine. The rules generated from the ISL item definitions (rules/isl.yaml
templates) whose check says ``stage: record`` — required, length, check digits — are the same
rules, with the same ids (``ISL-REQUIRED.juki_jumin`` …) and the same registered polars checks
(checks.py), that the gate runs on a store. A rehearsal runs them here, batch by batch, on the
mapped columns before anything is staged:

* a rule of severity ``error`` quarantines the failing records (they never reach staging);
* a rule of severity ``warn`` loads them and counts them (ISL-M11: j130 applies M11 to newly
  assigned numbers only, so a migrated 宛名番号・世帯番号 keeps its own; checked only where the
  legacy layout declares the old system numbered with M11).

The post-staging gate then leaves these rules out (``is_record_rule``): each fact is judged once.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa

from kikan_hub.layouts.isl import Table
from kikan_hub.mapping.row_errors import RowErrors
from kikan_hub.validation.catalogue import Rule, full_catalogue
from kikan_hub.validation.checks import ROW_CHECKS

RECORD_STAGE = "record"


def is_record_rule(rule: Rule) -> bool:
    """A rule a rehearsal judges per record (and the post-staging gate therefore skips)."""
    return rule.check.get("stage") == RECORD_STAGE


@lru_cache(maxsize=None)
def record_rules(table_id: str) -> tuple[Rule, ...]:
    return tuple(r for r in full_catalogue().values() if r.table == table_id and is_record_rule(r))


def run_record_checks(columns: dict[str, pa.Array], table: Table, errors: RowErrors,
                      declared: dict[str, str] | None = None) -> dict[str, int]:
    """Quarantine-level findings go to `errors`; returns warnings {rule id: rows} that load anyway.

    `declared`: item id → the check-digit scheme the legacy layout declares for its field."""
    rules = record_rules(table.id)
    if not rules:
        return {}
    # Only the columns the rules read go to polars (the batch's other columns are not copied).
    wanted = {c for r in rules for i in r.check.get("items", ()) for c in (i, f"{i}_literal", f"{i}_unknown")}
    frame = pl.from_arrow(pa.table({k: v for k, v in columns.items() if k in wanted}), rechunk=False)
    cols = set(frame.columns)
    planned = []   # (rule, row check), evaluated in one select
    for rule in rules:
        kind = rule.check["kind"]
        for rc in ROW_CHECKS[kind](table, cols, rule.check):
            if kind == "isl_m11" and (declared or {}).get(rc.item) != "m11":
                continue
            planned.append((rule, rc))
    if not planned:
        return {}
    # The cheap test first, the exact one (e.g. characters with IVS) only on its candidate rows, as the gate does.
    masks = frame.select([rc.fails.alias(f"_{n}") for n, (_, rc) in enumerate(planned)])
    warn_masks: list[tuple[str, np.ndarray]] = []
    for n, (rule, rc) in enumerate(planned):
        fails = masks.get_column(f"_{n}").to_numpy().copy()
        if not fails.any():
            continue
        if rc.exact is not None:
            idx = np.flatnonzero(fails)
            fails[idx] = frame[idx].select(rc.exact.alias("_x")).get_column("_x").to_numpy()
            if not fails.any():
                continue
        # A value the mapping already rejected is not failing a second time.
        fails = fails & ~errors.item_failed(rc.item)
        if rule.severity == "warn":
            warn_masks.append((rule.id, fails))
        else:
            errors.add(fails, rule.id, rc.label, rc.message, item=rc.item)
    warnings: dict[str, int] = {}
    for rid, mask in warn_masks:   # rows quarantined anyway are not warned about
        bad = int((mask & ~errors.failed).sum())
        if bad:
            warnings[rid] = warnings.get(rid, 0) + bad
    return warnings
