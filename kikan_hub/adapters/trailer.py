"""Trailer control: reconcile a legacy file's trailer totals (件数, ハッシュ合計) with what was read.

The reader (reader.py) only reads; the rehearsal collects the control records, the data values a
``hash_total`` names and the counts per record type, and asks this module whether they agree. A
trailer that disagrees, or is missing, is a failed result with a clerk-facing message naming the
record type and field.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.layouts.legacy import LegacyLayout


def sum_values(arrays: Iterable[pa.Array]) -> Decimal:
    total = Decimal(0)
    for a in arrays:
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        if len(a) == 0:
            continue
        if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
            a = pc.if_else(pc.equal(a, ""), pa.scalar(None, a.type), a)
            a = pc.cast(a, pa.decimal128(38, 0))
        elif pa.types.is_integer(a.type):
            a = pc.cast(a, pa.decimal128(38, 0))
        elif pa.types.is_decimal(a.type):
            a = pc.cast(a, pa.decimal128(38, a.type.scale))
        s = pc.sum(a).as_py()
        if s is not None:
            total += Decimal(s)
    return total


def _as_number(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _plain(d: Decimal | None) -> int | str | None:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else str(d)


CONTROL_WORDS = {"count": "件数", "hash_total": "ハッシュ合計"}


def reconcile_trailer(layout: LegacyLayout, control_rows: list[dict[str, Any]],
                      data_values: dict[str, list[pa.Array]], counts: dict[str, int]) -> list[dict[str, Any]]:
    """Reconcile trailer control totals with what was read.

    ``control_rows``: the field values of the control records read (each a dict with the
    record's fields and ``_record_type``); ``data_values``: per data field named by a
    ``hash_total`` the Arrow arrays read; ``counts``: records read per record type.

    Returns one result per check: ``{record_type, kind ("count" | "hash_total"), field, of,
    expected, actual, ok, message}``. A trailer record type with control totals but no
    trailer record in the file gives a failed result (expected None).
    """
    results: list[dict[str, Any]] = []
    data_count = sum(c for rt, c in counts.items() if rt in {d.name for d in layout.data_types})
    for rt in layout.record_types:
        ctl = rt.control
        if not ctl:
            continue
        rows = [r for r in control_rows if r.get("_record_type") == rt.name]
        checks: list[tuple[str, str, str | None, Decimal]] = []
        if ctl.count:
            checks.append(("count", ctl.count, None, Decimal(data_count)))
        if ctl.hash_total_field:
            checks.append(("hash_total", ctl.hash_total_field, ctl.hash_total_of,
                           sum_values(data_values.get(ctl.hash_total_of or "", []))))
        for kind, fld, of, actual in checks:
            if not rows:
                results.append({"record_type": rt.name, "kind": kind, "field": fld, "of": of, "expected": None,
                                "actual": _plain(actual), "ok": False,
                                "message": f"トレーラレコード {rt.name} がないため{CONTROL_WORDS[kind]}を照合できません"})
                continue
            for r in rows:
                expected = _as_number(r.get(fld))
                ok = expected is not None and expected == actual
                what = "読み込んだデータレコードの件数" if kind == "count" else f"読み込んだ {of} の合計"
                msg = (f"トレーラ {rt.name}.{fld} = {_plain(expected)}、{what} = {_plain(actual)}"
                       + ("" if ok else f" — {CONTROL_WORDS[kind]}が一致しません"))
                results.append({"record_type": rt.name, "kind": kind, "field": fld, "of": of,
                                "expected": _plain(expected), "actual": _plain(actual), "ok": ok, "message": msg})
    return results
