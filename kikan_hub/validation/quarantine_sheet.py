"""The quarantine as the clerks see it: one Excel sheet per input file, every quarantined record.

The quarantine itself is Parquet (RUN_DIR/quarantine/<file>.parquet: the record's bytes, its
offset, the rules and messages) — exact, but no clerk can open it. This lays each record's bytes
out by the vendor's layout again (the same per-field decoding as `kikan preview`), so a clerk sees
the record number, byte offset, rule, message and every field decoded as far as it goes. Names and
addresses are masked as in the rest of the report (masking.py: through the canonical column each
field is mapped to); a text field the mapping does not use is hidden, since nothing says what it holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.adapters.preview import delimited_values, expanded, fixed_field, fixed_values
from kikan_hub.layouts.isl import Table
from kikan_hub.layouts.legacy import Field, LegacyLayout
from kikan_hub.validation.masking import HIDDEN, mask_value

EXCEL_MAX_ROWS = 1_048_576
FIXED_HEADERS = ["レコード番号", "バイト位置", "レコード種別", "ルール", "内容"]
UNREADABLE = "（読めません）"


@dataclass
class QuarantineFile:
    """One input file's quarantine and what is needed to lay its records out again."""
    file_id: str
    parquet: Path
    layout: LegacyLayout
    encoding: str
    # (record type, legacy field) → (canonical table, column): how masking knows a field is a name
    mapped: dict[tuple[str, str], tuple[Table, str]] = field(default_factory=dict)


def _columns(layout: LegacyLayout) -> list[tuple[str, Field]]:
    """(field name, field) in layout order, one column per distinct field name across record types."""
    seen: dict[str, Field] = {}
    for rt in layout.record_types:
        for f in (expanded(rt.fields) if layout.format == "fixed" else rt.fields):
            if f.emitted and f.name not in seen:
                seen[f.name] = f
    return list(seen.items())


def headers(q: QuarantineFile) -> list[str]:
    return FIXED_HEADERS + [f"{f.label}({name})" if f.label else name for name, f in _columns(q.layout)]


def _shown(q: QuarantineFile, rtype: str, f: Field, value, mask: bool):
    if value is None:
        return None
    mapped = q.mapped.get((rtype, f.name.split("(")[0]))
    if mapped is not None:
        table, column = mapped
        return mask_value(column, value, table, enabled=mask)
    if mask and f.type in ("text", "kana") and str(value).strip():
        return HIDDEN  # not mapped: what it holds is unknown, so it is not shown
    return value


def _laid_out(q: QuarantineFile, records: list[dict], codec) -> list[list[tuple[Field, object, str | None]]]:
    """Per record (in the given order): (field, value, rule) for every field of its record type.
    Records are decoded a column at a time per record type; a fixed record of another length than
    the layout's field by field, as `kikan preview` does."""
    by_name = {rt.name: rt for rt in q.layout.record_types}
    fixed = q.layout.format == "fixed"
    out: list[list[tuple[Field, object, str | None]]] = [[] for _ in records]
    whole: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        rt = by_name.get(r["record_type"])
        if rt is None:
            continue
        raw = r["raw"] or b""
        if not fixed or (q.layout.record_length and len(raw) == q.layout.record_length):
            whole.setdefault(rt.name, []).append(i)
            continue
        fields = expanded(rt.fields)
        out[i] = [(f, d["value"], d["rule"]) for f, d in zip(fields, (fixed_field(f, raw, r["offset"], codec)
                                                                     for f in fields))]
    for name, idx in whole.items():
        rt = by_name[name]
        raws, offsets = [records[i]["raw"] or b"" for i in idx], [records[i]["offset"] for i in idx]
        fields = expanded(rt.fields) if fixed else list(rt.fields)
        decoded = (fixed_values(fields, raws, offsets, codec) if fixed
                   else delimited_values(q.layout, rt, raws, offsets, codec))
        for i, vals in zip(idx, decoded):
            out[i] = [(f, v, rule) for f, (v, rule) in zip(fields, vals)]
    return out


def rows(q: QuarantineFile, mask: bool = True, batch_size: int = 65536) -> Iterator[list]:
    """One row per quarantined record, in file order (``batch_size``: records decoded at a time; a
    report's sample of 20 records need not decode the first 65,536)."""
    codec = get_codec(q.encoding)
    cols = _columns(q.layout)
    pf = pq.ParquetFile(q.parquet)
    for batch in pf.iter_batches(batch_size=batch_size,
                                 columns=["record_no", "offset", "record_type", "raw", "rule_ids", "message"]):
        records = batch.to_pylist()
        for r, laid in zip(records, _laid_out(q, records, codec)):
            values: dict[str, object] = {}
            for f, value, rule in laid:
                if not f.emitted:
                    continue
                if rule in ("READ-DECODE", "READ-LENGTH") and value is None:
                    values[f.name] = UNREADABLE
                else:
                    values[f.name] = _shown(q, r["record_type"], f, value, mask)
            yield ([r["record_no"], r["offset"], r["record_type"], r["rule_ids"], r["message"]]
                   + [values.get(name) for name, _ in cols])


def write_sheet(wb, name: str, q: QuarantineFile, bold, mask: bool = True) -> int:
    """Add the file's sheet; returns the number of records written."""
    ws = wb.add_worksheet(name)
    ws.write(0, 0, f"隔離したレコード: {q.file_id}（{q.parquet.name}）　個人情報はマスクしています"
                   if mask else f"隔離したレコード: {q.file_id}（{q.parquet.name}）")
    head = headers(q)
    ws.write_row(2, 0, head, bold)
    n = 0
    for n, row in enumerate(rows(q, mask), 1):
        if 2 + n >= EXCEL_MAX_ROWS:
            ws.write(1, 0, f"Excel の行数の上限のため {n - 1:,} 件目までです。全件は {q.parquet} にあります。")
            n -= 1
            break
        ws.write_row(2 + n, 0, ["" if v is None else v if isinstance(v, (int, float, str)) else str(v) for v in row])
    ws.autofilter(2, 0, 2 + max(n, 1), len(head) - 1)
    ws.freeze_panes(3, 3)
    ws.set_column(0, 2, 12)
    ws.set_column(3, 3, 16)
    ws.set_column(4, 4, 60)
    ws.set_column(5, len(head) - 1, 16)
    return n
