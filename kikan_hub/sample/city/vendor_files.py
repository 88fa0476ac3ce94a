"""One vendor file per ISL table, written by the vendor's conventions (profiles/city/vendors.yaml):
the legacy layout (YAML), the mapping target back to the ISL table, the bytes, and where each record sits.

The vendor's fields mirror the ISL items one per item, in ISL order (an assumption of the sample, as for
the 税 extract): field type and width follow from the item's type and 桁数 and the vendor's conventions
(和暦 era code / 西暦, zoned or packed amounts, its own code values and gaiji)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from kikan_hub.adapters.numbers import encode_packed, encode_zoned
from kikan_hub.layouts.isl import Item, Table
from kikan_hub.mapping.era_dates import load_eras
from kikan_hub.sample.city.engine import RAW_KEY, TableRows
from kikan_hub.sample.city.profile import Vendor
from kikan_hub.sample.cp932w import encode as cp932_encode

DATE_WIDTH = {"era_code": 7, "western": 8, "slash": 10}
MAP_DATE = {"era_code": "era_code", "western": "western", "slash": "YYYY/MM/DD"}


@lru_cache(maxsize=1)
def era_codes() -> dict[str, str]:
    """1 = 明治 … 5 = 令和 (the common code; the layout declares it)."""
    return {str(i): e.name for i, e in enumerate(load_eras()[0], 1)}


def era_date(d: dt.date) -> str:
    eras = load_eras()[0]
    for i in range(len(eras) - 1, -1, -1):
        if d >= eras[i].start:
            return f"{i + 1}{d.year - eras[i].start.year + 1:02d}{d.month:02d}{d.day:02d}"
    raise ValueError(f"{d} is before 明治")


def write_date(d: dt.date, form: str) -> str:
    if form == "era_code":
        return era_date(d)
    if form == "slash":
        return f"{d.year:04d}/{d.month:02d}/{d.day:02d}"
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


@dataclass
class Gaiji:
    """The vendor's gaiji: resolved text (register ucs) → its own user-defined character."""
    to_pua: dict[str, str] = field(default_factory=dict)

    def apply(self, text: str) -> str:
        for resolved in sorted(self.to_pua, key=len, reverse=True):
            if resolved in text:
                text = text.replace(resolved, self.to_pua[resolved])
        return text


@dataclass
class FieldSpec:
    item: Item
    width: int                      # fixed: bytes
    ftype: str                      # legacy field type
    vendor_map: dict[str, str] | None = None   # standard → vendor value


@dataclass
class WrittenFile:
    layout: dict
    target: dict
    data: bytes
    records: list[dict]             # record_no, offset, length, record_type, row index (None for control)


def field_specs(table: Table, vendor: Vendor) -> list[FieldSpec]:
    out = []
    for it in table.items:
        vmap = None
        if it.type == "code" and it.code in vendor.code_maps:
            vmap = {std: v for v, std in vendor.code_maps[it.code].items()}
        if it.type == "digits":
            out.append(FieldSpec(it, it.length, "digits"))
        elif it.type == "integer":
            packed = vendor.format == "fixed" and vendor.integer == "packed"
            out.append(FieldSpec(it, it.length // 2 + 1 if packed else it.length, "packed" if packed else "integer"))
        elif it.type == "decimal":
            if vendor.format == "delimited":
                out.append(FieldSpec(it, it.length, "text"))      # "123.45": the mapping casts it
            else:
                packed = vendor.decimal == "packed"
                out.append(FieldSpec(it, it.length // 2 + 1 if packed else it.length, vendor.decimal))
        elif it.type in ("date", "wareki_date"):
            out.append(FieldSpec(it, DATE_WIDTH[vendor.date], "date"))
        elif it.type == "code":
            width = max([it.length] + [len(v) for v in (vmap or {}).values()])
            out.append(FieldSpec(it, width, "code", vmap))
        elif it.type == "flag":
            out.append(FieldSpec(it, 1, "code"))
        else:                        # text, kana: two bytes a character in CP932
            out.append(FieldSpec(it, 2 * it.length, "text"))
    return out


def _cell(fs: FieldSpec, v, vendor: Vendor, gaiji: Gaiji) -> str:
    if v is None:
        return ""
    it = fs.item
    if it.type == "flag":
        return vendor.flag[0] if v else vendor.flag[1]
    if isinstance(v, dt.date):
        return write_date(v, vendor.date)
    if fs.vendor_map is not None:
        return fs.vendor_map[v]
    if isinstance(v, str):
        return gaiji.apply(v) if it.type in ("text", "kana") and vendor.encoding == "cp932" else v
    if it.type == "decimal":
        return f"{Decimal(v):.{it.scale}f}" if it.scale else str(int(v))
    return str(v)


def _layout_fields(specs: list[FieldSpec], vendor: Vendor, start: int) -> list[dict]:
    fields = []
    pos = start
    for i, fs in enumerate(specs, 1):
        it = fs.item
        f: dict = {"name": it.id, "label": it.name}
        if vendor.format == "fixed":
            f.update(start=pos, length=fs.width)
            pos += fs.width
        else:
            f["column"] = i
        f["type"] = fs.ftype
        if fs.ftype in ("zoned", "packed") and it.scale:
            f["scale"] = it.scale
        if fs.ftype == "date":
            f["date_format"] = {"era_code": "era_code", "western": "western", "slash": "western"}[vendor.date]
        if it.check == "m11" and vendor.m11:
            f["check_digit"] = "m11"
        fields.append(f)
    return fields


def layout_for(table: Table, vendor: Vendor, file_id: str, specs: list[FieldSpec]) -> dict:
    lay: dict = {"layout": f"{vendor.dir}-{file_id}", "description": f"{vendor.name} {table.name}",
                 "provenance": "kikan_hub.sample.city (架空のベンダー; 項目は中間標準レイアウトの項目を一つずつ写す)",
                 "format": vendor.format, "encoding": vendor.encoding, "terminator": vendor.terminator}
    if vendor.date == "era_code":
        lay["era_codes"] = era_codes()
    if vendor.format == "fixed":
        body = sum(fs.width for fs in specs)
        if vendor.control:
            lay["record_length"] = 1 + body
            lay["discriminator"] = {"start": 1, "length": 1}
            lay["record_types"] = [
                {"name": "header", "code": "1", "role": "header",
                 "fields": [{"name": "sakusei_date", "label": "作成日", "start": 2, "length": 8, "type": "date",
                             "date_format": "western"}] + ([{"name": "filler", "start": 10, "length": body - 8,
                                                             "type": "filler"}] if body > 8 else [])},
                {"name": "data", "code": "2", "role": "data", "fields": _layout_fields(specs, vendor, 2)},
                {"name": "trailer", "code": "9", "role": "trailer", "control": {"count": "kensu"},
                 "fields": [{"name": "kensu", "label": "件数", "start": 2, "length": 10, "type": "digits"}]
                 + ([{"name": "filler", "start": 12, "length": body - 10, "type": "filler"}] if body > 10 else [])}]
        else:
            lay["record_length"] = body
            lay["record_types"] = [{"name": "data", "role": "data", "fields": _layout_fields(specs, vendor, 1)}]
    else:
        lay.update(delimiter=",", quote='"')
        if vendor.header_line:
            lay["header"] = [fs.item.name for fs in specs]
        lay["record_types"] = [{"name": "data", "role": "data", "fields": _layout_fields(specs, vendor, 1)}]
    return lay


def target_for(table: Table, vendor: Vendor, file_id: str, specs: list[FieldSpec]) -> dict:
    cols: dict = {}
    for fs in specs:
        it = fs.item
        spec: dict = {"from": it.id}
        if fs.ftype == "date":
            spec["date"] = MAP_DATE[vendor.date]
        if it.type == "flag":
            spec["code_map"] = {vendor.flag[0]: "true", vendor.flag[1]: "false"}
        elif fs.vendor_map is not None:
            spec["code_map"] = f"{vendor.dir}.{it.code}"
        cols[it.id] = spec
    return {"table": table.id, "source": {"file": file_id, "record_type": "data"}, "columns": cols}


def _fixed_encoder(fs: FieldSpec, vendor: Vendor, gaiji: Gaiji):
    """value → the field's bytes (padded with spaces; an empty value is all spaces)."""
    it, w = fs.item, fs.width
    blank = b" " * w

    def pad(b: bytes) -> bytes:
        if len(b) > w:
            raise ValueError(f"{it.id}: {b!r} is longer than {w} bytes")
        return b + b" " * (w - len(b))

    if fs.ftype in ("zoned", "packed"):
        enc = encode_zoned if fs.ftype == "zoned" else encode_packed
        return lambda v: blank if v is None else enc(Decimal(v) if it.scale else int(v), w, it.scale)
    if fs.ftype in ("digits", "integer"):
        return lambda v: blank if v is None else pad(str(v).rjust(w, "0").encode("ascii"))
    if fs.ftype == "date":
        return lambda v: blank if v is None else pad(write_date(v, vendor.date).encode("ascii"))
    if it.type == "flag":
        t, f = pad(cp932_encode(vendor.flag[0])), pad(cp932_encode(vendor.flag[1]))
        return lambda v: blank if v is None else (t if v else f)
    if fs.vendor_map is not None:
        vmap = {k: pad(v.encode("ascii")) for k, v in fs.vendor_map.items()}
        return lambda v: blank if v is None else vmap[v]
    if it.type in ("text", "kana"):
        return lambda v: blank if v is None else pad(cp932_encode(gaiji.apply(v)))
    return lambda v: blank if v is None else pad(cp932_encode(str(v)))


def _raw_fixed(fs: FieldSpec, text: str) -> bytes:
    b = cp932_encode(text)
    return b + b" " * (fs.width - len(b))


def write_file(tr: TableRows, vendor: Vendor, file_id: str, gaiji: Gaiji, extract_date: dt.date) -> WrittenFile:
    table = tr.table
    specs = field_specs(table, vendor)
    layout = layout_for(table, vendor, file_id, specs)
    target = target_for(table, vendor, file_id, specs)
    term = {"crlf": b"\r\n", "lf": b"\n", "none": b""}[vendor.terminator]
    buf = io.BytesIO()
    records: list[dict] = []

    def emit(body: bytes, rtype: str, idx: int | None) -> None:
        records.append({"record_no": len(records) + 1, "offset": buf.tell(), "length": len(body),
                        "record_type": rtype, "row": idx})
        buf.write(body + term)

    def cells(row: dict) -> list[tuple[FieldSpec, str, bool]]:
        raw = row.get(RAW_KEY, {})
        return [(fs, raw[fs.item.id], True) if fs.item.id in raw else (fs, _cell(fs, row.get(fs.item.id), vendor, gaiji),
                                                                         False) for fs in specs]

    if vendor.format == "fixed":
        body_len = sum(fs.width for fs in specs)
        encoders = [(fs, fs.item.id, _fixed_encoder(fs, vendor, gaiji)) for fs in specs]
        lead = b"2" if vendor.control else b""
        if vendor.control:
            emit(b"1" + write_date(extract_date, "western").encode() + b" " * (body_len - 8), "header", None)
        for i, row in enumerate(tr.rows):
            raw = row.get(RAW_KEY)
            if raw:
                body = b"".join(_raw_fixed(fs, raw[iid]) if iid in raw else enc(row.get(iid)) for fs, iid, enc in encoders)
            else:
                body = b"".join([enc(row.get(iid)) for _, iid, enc in encoders])
            emit(lead + body, "data", i)
        if vendor.control:
            emit(b"9" + f"{len(tr.rows):010d}".encode() + b" " * (body_len - 10), "trailer", None)
    else:
        enc = cp932_encode if vendor.encoding == "cp932" else (lambda s: s.encode("utf-8"))
        quoting = csv.QUOTE_ALL if vendor.quote_all else csv.QUOTE_MINIMAL

        def line(values: list[str]) -> bytes:
            s = io.StringIO()
            csv.writer(s, lineterminator="", quoting=quoting).writerow(values)
            return enc(s.getvalue())

        if vendor.bom:
            buf.write(b"\xef\xbb\xbf")
        if vendor.header_line:
            emit(line([fs.item.name for fs in specs]), "_header_line", None)
        for i, row in enumerate(tr.rows):
            emit(line([t for _, t, _ in cells(row)]), "data", i)
    return WrittenFile(layout, target, buf.getvalue(), records)
