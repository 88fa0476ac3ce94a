"""The shape of one handover file, derived from the ISL definition of its table.

One file per canonical table; its columns are the table's canonical columns in definition
order (a ``wareki_date`` item gives three: the ISO date, the literal, the 不詳 flag) followed
by the lineage columns. Widths of the fixed-length format are bytes in the file's encoding,
derived from the item 桁数 (see docs/handover.md, "Fixed-length widths").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa

from kikan_hub.handover.errors import HandoverError
from kikan_hub.layouts.isl import Column, Table
from kikan_hub.layouts.types import arrow_type, arrow_type_of

FORMATS = ("csv", "fixed")
ENCODINGS = ("utf-8", "cp932")
FOLDS = ("none", "jisx0208", "jisx0213")

# Lineage columns: Japanese header names and fixed-length widths (bytes).
LINEAGE_NAMES = {
    "_run_id": "移行実行ID",
    "_source_file": "移行元ファイル",
    "_source_sha256": "移行元ファイルSHA-256",
    "_source_offset": "移行元バイト位置",
    "_record_no": "移行元レコード番号",
    "_flags": "移行フラグ",
}
LINEAGE_WIDTHS = {"_run_id": 40, "_source_file": 128, "_source_sha256": 64, "_source_offset": 15,
                  "_record_no": 12, "_flags": 64}

# Bytes per character of a full-width (text / kana) item in each encoding.
FULLWIDTH_BYTES = {"cp932": 2, "utf-8": 3}


@dataclass(frozen=True)
class FileColumn:
    id: str            # canonical column name (the store's)
    name: str          # Japanese item name
    type: str          # text | integer | decimal | date | flag
    scale: int = 0
    precision: int = 0  # decimal: total digits of its Arrow/SQL type (layouts/types.py); 0 for the others
    width: int = 0     # fixed-length: bytes in the file's encoding
    start: int = 0     # fixed-length: 1-based byte position in the record
    chars: bool = False  # may hold characters outside ASCII (the character policy applies)

    @property
    def header(self) -> str:
        return f"{self.name}({self.id})"

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("chars")
        if self.type != "decimal":
            d.pop("precision")
        return d


def norm_encoding(encoding: str) -> str:
    e = encoding.strip().lower().replace("_", "-")
    if e in ("utf-8", "utf8"):
        return "utf-8"
    if e in ("cp932", "windows-31j", "ms932", "windows-932"):
        return "cp932"
    raise HandoverError(f"encoding {encoding!r} は使えません: utf-8 か cp932 (Windows-31J) を指定してください")


def _width(col: Column, encoding: str) -> int:
    it = col.item
    if col.role == "lineage":
        return LINEAGE_WIDTHS[col.name]
    if col.role in ("literal", "wareki"):
        return (col.length or 40) * FULLWIDTH_BYTES[encoding]
    if col.role == "unknown" or col.type == "flag":
        return 1
    if col.type == "date":
        return 8
    if col.type == "integer":
        return it.length + 1          # sign position
    if col.type == "decimal":
        return it.length + 1 + (1 if it.scale else 0)   # sign, decimal point
    # text: digits / code are ASCII (1 byte per 桁); text / kana are full width
    if it.type in ("digits", "code"):
        return it.length
    per_char = FULLWIDTH_BYTES[encoding]
    # UTF-8: a gaiji item may hold supplementary characters and IVS (Column.length leaves room)
    chars = (col.length or it.length) if encoding == "utf-8" else it.length
    return chars * per_char


def file_columns(table: Table, encoding: str = "utf-8") -> list[FileColumn]:
    out: list[FileColumn] = []
    pos = 1
    for c in table.columns:
        if c.role == "lineage":
            name = LINEAGE_NAMES[c.name]
        elif c.role == "literal":
            name = f"{c.item.name}（表記）"
        elif c.role == "unknown":
            name = f"{c.item.name}（不詳）"
        elif c.role != "value":
            name = c.item.name + c.suffix
        else:
            name = c.item.name
        chars = c.type == "text" and not (c.item is not None and c.role == "value" and c.item.type in ("digits", "code"))
        w = _width(c, encoding)
        at = arrow_type(c)
        out.append(FileColumn(id=c.name, name=name, type=c.type, scale=(c.item.scale if c.item else 0),
                              precision=(at.precision if pa.types.is_decimal(at) else 0),
                              width=w, start=pos, chars=chars))
        pos += w
    return out


def file_arrow_type(fc: FileColumn) -> pa.DataType:
    """A file column's type: the one of layouts/types.py, from the spec's type name, precision and scale."""
    return arrow_type_of(fc.type, fc.precision, fc.scale, where=f"column {fc.id}")


def arrow_schema(cols: list[FileColumn]) -> pa.Schema:
    return pa.schema([(c.id, file_arrow_type(c)) for c in cols])


def record_length(cols: list[FileColumn]) -> int:
    return sum(c.width for c in cols)
