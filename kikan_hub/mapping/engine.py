"""Apply a mapping to one reader batch: moves, code translation, era dates, kana, constants.

Input: a reader batch (one legacy record type). Output: the canonical columns of one ISL
table as Arrow arrays plus the per-row failures (MAP-CODE, MAP-DATE). Everything is
vectorised over the batch; only distinct code values go through Python.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.layouts.isl import Table, load_code_table
from kikan_hub.layouts.types import arrow_type, cast_to
from kikan_hub.mapping.era_dates import parse_dates
from kikan_hub.mapping.row_errors import RowErrors
from kikan_hub.mapping.spec import ColumnSpec, TargetSpec

@dataclass
class MappedBatch:
    columns: dict[str, pa.Array]   # canonical column name → values (lineage excluded)
    errors: RowErrors


def _translate(values: pa.Array, mapping: dict[str, str]) -> tuple[pa.Array, np.ndarray]:
    """Translate codes through a dict; returns the new values and a mask of unmapped non-empty values."""
    uniq = pc.unique(values.drop_null()).to_pylist()
    keys = [u for u in uniq if u in mapping]
    idx = pc.index_in(values, value_set=pa.array(keys, type=pa.string()))
    out = pc.take(pa.array([mapping[k] for k in keys], type=pa.string()), idx)
    nonempty = pc.fill_null(pc.greater(pc.utf8_length(values), 0), False)
    unmapped = pc.and_(nonempty, pc.is_null(idx)).to_numpy(zero_copy_only=False)
    return out, unmapped


@lru_cache(maxsize=64)
def _code_values(code_id: str) -> pa.Array:
    return pa.array(sorted(load_code_table(code_id).codes), pa.string())


def _not_in_code_table(values: pa.Array, code_id: str) -> np.ndarray:
    """Mask of non-empty values that are not codes of the table (the table's value set is built once)."""
    nonempty = pc.fill_null(pc.greater(pc.utf8_length(values), 0), False)
    known = pc.is_in(values, value_set=_code_values(code_id))
    return pc.and_(nonempty, pc.invert(known)).to_numpy(zero_copy_only=False)


def _naming_values(values: pa.Array, mask: np.ndarray, tail: str) -> np.ndarray:
    """Per-row messages that name the offending value (only the failing rows leave Arrow)."""
    msgs = np.full(len(mask), None, dtype=object)
    idx = np.flatnonzero(mask)
    if len(idx):
        for i, v in zip(idx, values.take(pa.array(idx, pa.int64())).to_pylist()):
            msgs[i] = f"コード値「{v}」{tail}"
    return msgs


def _cast(values: pa.Array, typ: pa.DataType) -> tuple[pa.Array, np.ndarray | None]:
    """The column's type (layouts/types.py); the mask marks values the type cannot hold (null now)."""
    # An empty (all-padding) field is absent, not an empty string: null in the store.
    if pa.types.is_string(values.type):
        empty = pc.equal(values, "")
        if pc.any(empty).as_py():  # most columns have none: skip rebuilding them
            values = pc.if_else(empty, pa.scalar(None, values.type), values)
    return cast_to(values, typ)


def _type_message(col, values: pa.Array, mask: np.ndarray) -> np.ndarray:
    """Per-row messages naming the value a column's type refused (a decimal's 桁数 and scale, a flag …)."""
    it = col.item
    if pa.types.is_decimal(arrow_type(col)) and it is not None:
        want = f"{it.length}桁（小数{it.scale}桁）の数値"
    else:
        want = {"integer": "整数", "date": "日付", "flag": "真偽値（1/0）"}.get(col.type, col.type)
    msgs = np.full(len(mask), None, dtype=object)
    idx = np.flatnonzero(mask)
    for i, v in zip(idx, values.take(pa.array(idx, pa.int64())).to_pylist()):
        msgs[i] = f"値「{v}」を{want}として読めません"
    return msgs


def constant_value(spec: ColumnSpec, controls: Mapping[str, Mapping[str, Any]] | None) -> Any:
    """The one value of a constant column: ``const``, or a field of the header / trailer record."""
    if spec.from_header is not None:
        return (controls or {}).get("header", {}).get(spec.from_header)
    if spec.from_trailer is not None:
        return (controls or {}).get("trailer", {}).get(spec.from_trailer)
    return spec.const


def _source_values(batch: pa.RecordBatch, spec: ColumnSpec, controls) -> pa.Array:
    if spec.source is not None:
        return batch.column(spec.source)
    value = constant_value(spec, controls)
    if spec.date or spec.code_map is not None or isinstance(value, str):
        # typed like a field read from the file: a date literal or a code is text
        return pa.repeat(pa.scalar(None if value is None else str(value), pa.string()), batch.num_rows)
    return pa.repeat(pa.scalar(value), batch.num_rows)


def map_batch(batch: pa.RecordBatch, target: TargetSpec, table: Table,
              era_codes: dict[str, str] | None, errors: RowErrors | None = None,
              controls: Mapping[str, Mapping[str, Any]] | None = None) -> MappedBatch:
    """``controls``: the file's header / trailer field values ({"header": {field: value}, …}) for
    ``from_header`` / ``from_trailer`` columns."""
    n = batch.num_rows
    errors = errors or RowErrors(n)
    cols: dict[str, pa.Array] = {}
    by_target = {c.target: c for c in target.columns}
    for col in table.columns:
        if col.role != "value":   # lineage, and the columns a wareki_date item derives (written below)
            continue
        spec: ColumnSpec | None = by_target.get(col.name)
        typ = arrow_type(col)
        if spec is None:
            cols[col.name] = pa.nulls(n, typ)
            if col.item and col.item.type == "wareki_date":
                no = pa.array(np.zeros(n, dtype=bool))
                cols[f"{col.name}_literal"] = cols[f"{col.name}_wareki"] = pa.nulls(n, pa.string())
                cols[f"{col.name}_unknown"] = cols[f"{col.name}_unknown_day"] = cols[f"{col.name}_non_calendar"] = no
            continue
        values = _source_values(batch, spec, controls)
        what = spec.source or spec.from_header or spec.from_trailer or "const"
        if spec.kana == "fullwidth" and pa.types.is_string(values.type):
            # NFKC turns half-width katakana (ﾔﾏﾀﾞ) into full-width (ヤマダ).
            values = pc.utf8_normalize(values, "NFKC")
        if spec.date:
            item = col.item
            unknown_text = batch.column(spec.unknown_from) if spec.unknown_from else None
            wareki = bool(item and item.type == "wareki_date")
            parsed = parse_dates(values, spec.date, era_codes, unknown_allowed=bool(item and item.unknown_allowed),
                                 unknown_text=unknown_text, wareki=wareki)
            errors.add(parsed.invalid, "MAP-DATE", f"{item.name if item else col.name}({what})", parsed.reason,
                       item=col.name)
            cols[col.name] = parsed.iso
            if item and item.type == "wareki_date":
                cols[f"{col.name}_literal"] = parsed.literal
                cols[f"{col.name}_unknown"] = parsed.unknown
                cols[f"{col.name}_wareki"] = parsed.wareki
                cols[f"{col.name}_unknown_day"] = parsed.unknown_day
                cols[f"{col.name}_non_calendar"] = parsed.non_calendar
            continue
        if spec.code_map is not None:
            before = values  # the vendor's values: a message names the one the map lacks
            values, unmapped = _translate(values.cast(pa.string()), spec.code_map)
            label = col.item.name if col.item else col.name
            where = f"変換表「{spec.code_map_name}」" if spec.code_map_name else "変換表"
            errors.add(unmapped, "MAP-CODE", f"{label}({what})",
                       _naming_values(before, unmapped, f"が{where}にありません"), item=col.name)
        if col.item and col.item.code:
            unknown = _not_in_code_table(values.cast(pa.string()), col.item.code)
            errors.add(unknown, "MAP-CODE", f"{col.item.name}({what})",
                       _naming_values(values, unknown, f"がコード表「{col.item.code}」にありません"), item=col.name)
        cols[col.name], refused = _cast(values, typ)
        if refused is not None:
            errors.add(refused, "MAP-TYPE", f"{col.item.name if col.item else col.name}({what})",
                       _type_message(col, values, refused), item=col.name)
    return MappedBatch(columns=cols, errors=errors)
