"""A layout laid over the first records of a real file, field by field (`kikan preview`).

Before a first rehearsal the vendor's layout document and the file must agree: for each of the
first records this shows, per field, where it starts in the file (byte offset), its bytes (hex),
the value the reader makes of them, and the reader's error for that field. Nothing is stored.

The records come from the rehearsal's own reader (same framing, record types, header line and
rules); each field is then decoded on its own with the reader's converters, so every failing
field of a record is shown, not only the first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from kikan_hub.adapters.codecs import Codec, DecodeFailure, get_codec
from kikan_hub.adapters.reader import _Errors, convert_fixed_field, convert_strings, read_file
from kikan_hub.layouts.legacy import Field, LegacyLayout, RecordType

PREVIEW_CHUNK = 1 << 20  # read a megabyte at a time: the first records, not the whole file


def preview_records(path: str | Path, layout: LegacyLayout, encoding: str | None = None, limit: int = 5) -> list[dict]:
    """The first `limit` records of the file (in file order) as plain dicts, ready for JSON."""
    codec = get_codec(encoding or layout.encoding)
    rows: dict[int, dict] = {}
    reader = read_file(path, layout, encoding=codec.name, batch_size=max(1, limit), chunk_size=PREVIEW_CHUNK)
    try:
        for rtype, batch in reader:
            for r in batch.select(["_record_no", "_offset", "_raw", "_error_rule", "_error_message"]).to_pylist():
                if r["_record_no"] <= limit:
                    rows[r["_record_no"]] = {"rtype": rtype, **r}
            if len(rows) >= limit and all(n in rows for n in range(1, limit + 1)):
                break  # the first `limit` records are in: the rest of the file is not read
    finally:
        reader.close()
    rts = {rt.name: rt for rt in layout.record_types}
    return [_record(layout, rts.get(r["rtype"]), r, codec) for _, r in sorted(rows.items())]


def _record(layout: LegacyLayout, rt: RecordType | None, r: dict, codec: Codec) -> dict:
    raw: bytes = r["_raw"]
    out: dict[str, Any] = {"record_no": r["_record_no"], "offset": r["_offset"], "record_type": r["rtype"],
                           "role": rt.role if rt else None, "length": len(raw),
                           "rule": r["_error_rule"], "message": r["_error_message"]}
    if rt is None:
        out["fields"] = []
        out["bytes"] = raw.hex()
        return out
    if layout.format == "fixed":
        out["fields"] = [fixed_field(f, raw, r["_offset"], codec) for f in expanded(rt.fields)]
    else:
        out["fields"] = delimited_fields(layout, rt, raw, r["_offset"], codec)
    return out


def expanded(fields) -> list[Field]:
    """Fixed fields with an OCCURS become one field per occurrence, named as COBOL counts them: x(1), x(2) …"""
    out = []
    for f in fields:
        if f.occurs:
            out += [replace(f, name=f"{f.name}({j})", start=off + 1, occurs=None, stride=None)
                    for j, off in enumerate(f.occurrences, 1)]
        else:
            out.append(f)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _one(f: Field, convert) -> tuple[Any, str | None, str | None]:
    """Run one field's converter on a single value: (value, rule, message)."""
    errors = _Errors(1)
    arr = convert(errors)
    value = None if arr is None else _plain(arr[0].as_py())
    return value, errors.rule[0], errors.message[0]


def fixed_field(f: Field, raw: bytes, record_offset: int, codec: Codec) -> dict:
    piece = raw[f.offset:f.end]
    d = {"field": f.name, "label": f.label, "type": f.type, "start": f.start, "length": f.length,
         "offset": record_offset + f.offset, "bytes": piece.hex(), "value": None, "rule": None, "error": None}
    if len(piece) < (f.length or 0):
        d["rule"] = "READ-LENGTH"
        d["error"] = (f"レコードが短く項目が収まりません: {len(piece)} / {f.length} バイト "
                      f"(record too short: {len(piece)} of {f.length} bytes)")
        return d
    if not f.emitted:
        return d  # 予備 (filler): bytes only
    block = np.frombuffer(piece, dtype=np.uint8).reshape(1, len(piece))
    offsets = np.array([record_offset], dtype=np.int64)
    d["value"], d["rule"], d["error"] = _one(f, lambda e: convert_fixed_field(f, block, codec, offsets, e))
    return d


def fixed_values(fields: list[Field], raws: list[bytes], offsets: list[int], codec: Codec
                 ) -> list[list[tuple[Any, str | None]]]:
    """Many records of one record type at once, all ``record_length`` long: per record, per field,
    (value, rule) as :func:`fixed_field` gives them one by one, decoded a column at a time (the
    quarantine sheets lay out thousands of records)."""
    n = len(raws)
    if n == 0:
        return []
    width = len(raws[0])
    M = np.frombuffer(b"".join(raws), dtype=np.uint8).reshape(n, width)
    offs = np.asarray(offsets, dtype=np.int64)
    out: list[list[tuple[Any, str | None]]] = [[] for _ in range(n)]
    for f in fields:
        if not f.emitted:
            for row in out:
                row.append((None, None))
            continue
        errors = _Errors(n)
        values = convert_fixed_field(f, M[:, f.offset:f.end], codec, offs, errors).to_pylist()
        for row, v, rule in zip(out, values, errors.rule):
            row.append((_plain(v), rule))
    return out


def _column_spans(raw: bytes, delimiter: int, quote: int) -> list[tuple[int, int]]:
    """Byte spans of the columns of one delimited record, quotes honoured (ASCII-compatible codecs:
    in CP932, EUC-JP and UTF-8 no byte of a multi-byte character is a comma or a double quote)."""
    if quote not in raw:   # the usual record: a plain split
        spans, start = [], 0
        for piece in raw.split(bytes((delimiter,))):
            spans.append((start, start + len(piece)))
            start += len(piece) + 1
        return spans
    spans, start, quoted = [], 0, False
    for i, b in enumerate(raw):
        if b == quote:
            quoted = not quoted
        elif b == delimiter and not quoted:
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(raw)))
    return spans


def _unquote(text: str, quote: str) -> str:
    if len(text) >= 2 and text[0] == quote and text[-1] == quote:
        return text[1:-1].replace(quote * 2, quote)
    return text


def delimited_values(layout: LegacyLayout, rt: RecordType, raws: list[bytes], offsets: list[int], codec: Codec
                     ) -> list[list[tuple[Any, str | None]]]:
    """Many records of one record type at once: per record, per field, (value, rule) as
    :func:`delimited_fields` gives them one by one, each field converted once for all records."""
    n = len(raws)
    texts: list[list[str | None]] = []      # per record, per column: the unquoted text (None: undecodable)
    for raw in raws:
        row: list[str | None] = []
        for a, b in _column_spans(raw, ord(layout.delimiter), ord(layout.quote)):
            try:
                row.append(_unquote(codec.decode(raw[a:b]), layout.quote))
            except DecodeFailure:
                row.append(None)
        texts.append(row)
    out: list[list[tuple[Any, str | None]]] = [[] for _ in range(n)]
    for f in rt.fields:
        col = (f.column or 1) - 1
        missing = [col >= len(row) for row in texts]
        values = [None if m else row[col] for m, row in zip(missing, texts)]
        converted: list[Any] = [None] * n
        rules = np.full(n, None, dtype=object)
        if f.emitted:
            present = [i for i, v in enumerate(values) if v is not None]
            errors = _Errors(len(present))
            arr = convert_strings(f, pa.array([values[i] for i in present], pa.string()), errors).to_pylist()
            for j, i in enumerate(present):
                converted[i], rules[i] = _plain(arr[j]), errors.rule[j]
        for i in range(n):
            rule = "READ-LENGTH" if missing[i] else "READ-DECODE" if values[i] is None else rules[i]
            out[i].append((converted[i], rule))
    return out


def delimited_fields(layout: LegacyLayout, rt: RecordType, raw: bytes, record_offset: int, codec: Codec) -> list[dict]:
    spans = _column_spans(raw, ord(layout.delimiter), ord(layout.quote))
    out = []
    for f in rt.fields:
        col = (f.column or 1) - 1
        d = {"field": f.name, "label": f.label, "type": f.type, "column": f.column, "offset": None, "bytes": None,
             "value": None, "rule": None, "error": None}
        if col >= len(spans):
            d["rule"] = "READ-LENGTH"
            d["error"] = f"列 {f.column} がありません: {len(spans)} 列 (no column {f.column}: {len(spans)} columns)"
            out.append(d)
            continue
        a, b = spans[col]
        piece = raw[a:b]
        d["offset"], d["bytes"] = record_offset + a, piece.hex()
        try:
            text = _unquote(codec.decode(piece), layout.quote)
        except DecodeFailure as exc:
            d["rule"] = "READ-DECODE"
            d["error"] = (f"{codec.name} として読めないバイト {exc.data.hex(' ').upper()} (byte offset "
                          f"{record_offset + a + exc.position}; cannot be decoded as {codec.name}: {exc.reason})")
            out.append(d)
            continue
        if f.emitted:
            d["value"], d["rule"], d["error"] = _one(f, lambda e: convert_strings(f, pa.array([text], pa.string()), e))
        out.append(d)
    return out
