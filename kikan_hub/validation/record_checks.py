"""Record-level checks derived from the ISL item definitions: required, length, check digits.

The full gate engine (business rules, thresholds, reports) builds on these; here each item's
definition says what to check, so no rule is written twice.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.layouts.isl import Table
from kikan_hub.mapping.row_errors import RowErrors
from kikan_hub.validation.check_digits import m11_valid

CHECK_RULES = {"m11": "CHK-M11", "mynumber": "CHK-MYNUMBER"}


def check_rule_id(table: Table, item_id: str, check: str) -> str:
    if check == "m11":
        return "CHK-M11-SETAI" if item_id == "setai_no" else "CHK-M11-ATENA"
    return CHECK_RULES[check]


def run_record_checks(columns: dict[str, pa.Array], table: Table, errors: RowErrors,
                      declared: dict[str, str] | None = None) -> dict[str, int]:
    """Quarantine-level findings go to `errors`; returns warnings {rule id: rows} that load anyway.

    宛名番号・世帯番号 (check: m11) never quarantine: j130 applies M11 to newly assigned numbers
    only and migrated numbers keep theirs. They are checked, as a warning, only where the legacy
    layout declares the old system numbered with M11 (`declared`: item id → scheme)."""
    warn_masks: list[tuple[str, np.ndarray]] = []
    for item in table.items:
        values = columns.get(item.id)
        if values is None:
            continue
        if item.required:
            missing = pc.is_null(values)
            if pa.types.is_string(values.type):
                missing = pc.or_(missing, pc.fill_null(pc.equal(values, ""), False))
            literal = columns.get(f"{item.id}_literal")
            if literal is not None:  # an unknown wareki date is present, only not as ISO
                missing = pc.and_(missing, pc.is_null(literal))
            # A value the mapping already rejected is not missing a second time.
            missing = missing.to_numpy(zero_copy_only=False) & ~errors.item_failed(item.id)
            errors.add(missing, "CHK-REQUIRED", item.name, "必須項目が空です", item=item.id)
        if pa.types.is_string(values.type) and item.type in ("text", "kana", "digits", "code"):
            # Length in characters; an IVS selector belongs to its base character.
            too_long = pc.fill_null(pc.greater(pc.utf8_length(values), item.length), False).to_numpy(zero_copy_only=False)
            if too_long.any():  # an IVS selector belongs to its base character: recount only the long ones
                idx = np.flatnonzero(too_long)
                base = pc.replace_substring_regex(values.take(pa.array(idx)), "[\U000E0100-\U000E01EF]", "")
                too_long[idx] = pc.fill_null(pc.greater(pc.utf8_length(base), item.length), False).to_numpy(
                    zero_copy_only=False)
            errors.add(too_long, "CHK-LENGTH", item.name, f"{item.length}文字を超えています")
        if item.check == "mynumber":
            ok = m11_valid(values, item.length)
            errors.add(~ok, check_rule_id(table, item.id, item.check), item.name, "個人番号のチェックデジットが一致しません")
        elif item.check == "m11" and (declared or {}).get(item.id) == "m11":
            warn_masks.append((check_rule_id(table, item.id, item.check), ~m11_valid(values, item.length)))
    warnings: dict[str, int] = {}
    for rid, mask in warn_masks:   # rows quarantined anyway are not warned about
        bad = int((mask & ~errors.failed).sum())
        if bad:
            warnings[rid] = warnings.get(rid, 0) + bad
    return warnings
