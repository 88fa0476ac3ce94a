"""Rows for every canonical table of every 業務, made from the ISL definitions alone (types, 桁数,
scales, code tables): a store that holds every 業務 without a sample generator for each of them.

Each value stays inside its item's definition — digits of the item's 桁数, a code of its code table,
a decimal with its scale, text of its length (with a character outside JIS X 0208 where the item
allows 外字) — so that what the handover writes must come back unchanged.
"""
from __future__ import annotations

import datetime as dt
import decimal

from kikan_hub.layouts.isl import Table, all_tables, load_code_table

TEXT = "架空髙﨑見本"      # 髙 / 﨑: IBM extensions (not JIS X 0208), legal in CP932 too
KANA = "カクウミホン"


def _codes(code_id: str | None) -> list[str]:
    if not code_id:
        return []
    try:
        return sorted(load_code_table(code_id).codes)
    except Exception:  # noqa: BLE001 — an item naming a code table the definitions lack: digits instead
        return []


def _value(table: Table, col, i: int):
    it = col.item
    if col.role in ("literal", "wareki"):
        return f"令和6年{i}月1日"
    if col.role in ("unknown", "unknown_day", "non_calendar"):
        return False
    if col.type == "flag":
        return bool(i % 2)
    if col.type == "date":
        return dt.date(2020, 1, i)
    if col.type == "integer":
        return min(i, 10 ** max(1, it.length) - 1)
    if col.type == "decimal":
        whole = min(i, 10 ** max(1, it.length - it.scale) - 1) if it.length > it.scale else 0
        return decimal.Decimal(whole) + (decimal.Decimal(1).scaleb(-it.scale) * i if it.scale else 0)
    if it.type == "digits":
        return str(i).zfill(it.length)[-it.length:]
    if it.type == "code":
        codes = [c for c in _codes(it.code) if len(c) <= it.length]
        return codes[(i - 1) % len(codes)] if codes else str(i).zfill(it.length)[-it.length:]
    text = (KANA if it.type == "kana" else TEXT if it.gaiji else "架空見本") * 4
    return (text[:max(0, it.length - 1)] + str(i))[-it.length:] if it.length else str(i)


def rows_for(table: Table, n: int = 3, run_id: str = "R0123456789abcde") -> list[dict]:
    """n rows, distinct in the primary key (row i carries i in every numeric, date and digit item)."""
    rows = []
    for i in range(1, n + 1):
        row = {}
        for col in table.columns:
            if col.role == "lineage":
                continue
            row[col.name] = _value(table, col, i)
        row.update({"_run_id": run_id, "_source_file": f"生成/{table.id}", "_source_sha256": "cd" * 32,
                    "_source_offset": (i - 1) * 100, "_record_no": i, "_flags": None})
        rows.append(row)
    keys = {tuple(r[k] for k in table.primary_key) for r in rows}
    assert len(keys) == n, f"{table.id}: the generated primary keys collide ({table.primary_key})"
    return rows


def every_table_rows(n: int = 3) -> dict[str, list[dict]]:
    return {tid: rows_for(t, n) for tid, t in sorted(all_tables().items())}
