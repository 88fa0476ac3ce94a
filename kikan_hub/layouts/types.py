"""The one type system: a physical canonical column → one Arrow type; every other type derives from it.

An ISL item (layouts/isl.py) gives one or more physical columns (``Column``) of five physical types:
text, integer, decimal(p, s), date and flag. This module is the only place that says what those are:

    arrow_type(col)      the Arrow type (reader batches, mapping, staging Parquet, handover files)
    polars_type(col)     derived from the Arrow type (validation frames, pandera schemas)
    sql_type(col)        derived from the Arrow type (store tables; SQLAlchemy)
    python_type(col)     derived from the Arrow type (REST models; pydantic)
    pydantic_type(col)   python_type with openapi_schema as its JSON schema
    xsd_type(col)        derived from the Arrow type (SOAP XSD built-in type); xsd_facets(col) its digits
    openapi_schema(col)  derived from the Arrow type (OpenAPI / JSON Schema of one value)

Decimals stay decimal end to end: Arrow decimal128 → polars Decimal → SQL NUMERIC → Python Decimal →
xs:decimal → a JSON string (pydantic writes a Decimal as a string, so no binary float ever holds an amount).

Precision of a decimal: the item's 桁数 (``length``, total digits including the ``scale`` fraction digits,
as the SOAP XSD has always said: totalDigits = 桁数, fractionDigits = scale) is a rule the gate checks
(a value too long is quarantined and named), not the storage width. The storage precision is therefore
the store-wide ``DECIMAL_PRECISION`` (18 digits: every amount of the shipped definitions, 桁数 6 … 12,
fits with room for the over-long values the gate has to see), widened to the 桁数 when a definition
declares more, up to Arrow's decimal128 limit of 38.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

import numpy as np
import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from pydantic import WithJsonSchema

from kikan_hub.layouts.isl import Column

PHYSICAL_TYPES = ("text", "integer", "decimal", "date", "flag")
DECIMAL_PRECISION = 18
MAX_DECIMAL_PRECISION = 38  # decimal128


class TypeSystemError(ValueError):
    """A column whose physical type the hub does not know (a definition error, named by column)."""


def decimal_spec(col: Column) -> tuple[int, int]:
    """(precision, scale) of a decimal column: scale from the item, precision as the module doc says."""
    scale = col.item.scale if col.item else 0
    digits = col.item.length if col.item else 0
    precision = min(MAX_DECIMAL_PRECISION, max(DECIMAL_PRECISION, digits, scale + 1))
    if scale > precision:
        raise TypeSystemError(f"column {col.name}: scale {scale} exceeds the largest precision {precision}")
    return precision, scale


def arrow_type(col: Column) -> pa.DataType:
    """The one Arrow type of a physical column; every other type below derives from this one."""
    precision, scale = decimal_spec(col) if col.type == "decimal" else (0, 0)
    return arrow_type_of(col.type, precision, scale, where=f"column {col.name}")


def arrow_type_of(physical: str, precision: int = 0, scale: int = 0, where: str = "") -> pa.DataType:
    """The same, from a physical type name (a handover file spec names its columns' types, not ISL items);
    a decimal without a precision gets the store's."""
    if physical == "text":
        return pa.string()
    if physical == "integer":
        return pa.int64()
    if physical == "decimal":
        return pa.decimal128(precision or DECIMAL_PRECISION, scale)
    if physical == "date":
        return pa.date32()
    if physical == "flag":
        return pa.bool_()
    raise TypeSystemError(f"{where or 'a column'}: unknown physical type {physical!r} "
                          f"(one of {', '.join(PHYSICAL_TYPES)})")


def arrow_schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([(c.name, arrow_type(c)) for c in columns])


# -- derived types: each is a function of the Arrow type only ------------------------------------------

def _kind(at: pa.DataType) -> str:
    """Which of the five Arrow types ``arrow_type`` makes this is (a guard: nothing else reaches here)."""
    if pa.types.is_string(at) or pa.types.is_large_string(at):
        return "text"
    if pa.types.is_int64(at):
        return "integer"
    if pa.types.is_decimal(at):
        return "decimal"
    if pa.types.is_date32(at):
        return "date"
    if pa.types.is_boolean(at):
        return "flag"
    raise TypeSystemError(f"Arrow type {at} is not one of the hub's physical types")


@lru_cache(maxsize=256)
def polars_of(at: pa.DataType) -> pl.DataType:
    kind = _kind(at)
    if kind == "decimal":
        return pl.Decimal(at.precision, at.scale)
    return {"text": pl.String, "integer": pl.Int64, "date": pl.Date, "flag": pl.Boolean}[kind]()


def polars_type(col: Column) -> pl.DataType:
    return polars_of(arrow_type(col))


def polars_sum_type(*columns: Column) -> pl.DataType:
    """An exact type for sums and comparisons of number columns: Decimal(38, the largest scale)."""
    scales = [decimal_spec(c)[1] if c.type == "decimal" else 0 for c in columns]
    return pl.Decimal(MAX_DECIMAL_PRECISION, max(scales, default=0))


def polars_schema(columns: list[Column]) -> dict[str, pl.DataType]:
    return {c.name: polars_type(c) for c in columns}


def sql_of(at: pa.DataType) -> sa.types.TypeEngine:
    kind = _kind(at)
    if kind == "decimal":
        return sa.Numeric(at.precision, at.scale, asdecimal=True)
    return {"text": sa.Text, "integer": sa.BigInteger, "date": sa.Date, "flag": sa.Boolean}[kind]()


def sql_type(col: Column) -> sa.types.TypeEngine:
    return sql_of(arrow_type(col))


def python_of(at: pa.DataType) -> type:
    return {"text": str, "integer": int, "decimal": Decimal, "date": dt.date, "flag": bool}[_kind(at)]


def python_type(col: Column) -> type:
    return python_of(arrow_type(col))


def xsd_of(at: pa.DataType) -> str:
    return {"text": "xs:string", "integer": "xs:long", "decimal": "xs:decimal", "date": "xs:date",
            "flag": "xs:boolean"}[_kind(at)]


def xsd_type(col: Column) -> str:
    """The XSD built-in type of a column's values (the base of its restriction)."""
    return xsd_of(arrow_type(col))


def xsd_facets(col: Column) -> str:
    """The digit facets a number column promises: its 桁数 (and for a decimal, its scale)."""
    kind = _kind(arrow_type(col))
    if kind not in ("integer", "decimal") or col.item is None:
        return ""
    facets = f'<xs:totalDigits value="{col.item.length}"/>'
    if kind == "decimal":
        facets += f'<xs:fractionDigits value="{decimal_spec(col)[1]}"/>'
    return facets


def openapi_schema(col: Column) -> dict[str, Any]:
    """The OpenAPI 3.1 / JSON Schema of one (non-null) value of the column, as the REST API writes it."""
    at = arrow_type(col)
    kind = _kind(at)
    if kind == "text":
        return {"type": "string", **({"maxLength": col.length} if col.length else {})}
    if kind == "integer":
        return {"type": "integer", "format": "int64"}
    if kind == "decimal":
        # A JSON string (pydantic writes Decimal as text): exact, as the ledger needs it.
        whole, frac = at.precision - at.scale, at.scale
        pattern = rf"^-?[0-9]{{1,{whole}}}" + (rf"(\.[0-9]{{1,{frac}}})?$" if frac else "$")
        return {"type": "string", "format": "decimal", "pattern": pattern}
    if kind == "date":
        return {"type": "string", "format": "date"}
    return {"type": "boolean"}


def pydantic_type(col: Column) -> Any:
    """``python_type`` annotated so that pydantic (and FastAPI's /openapi.json) documents ``openapi_schema``."""
    return Annotated[python_type(col), WithJsonSchema(openapi_schema(col))]


# -- casting into the physical type --------------------------------------------------------------------

def cast_to(values: pa.Array, typ: pa.DataType) -> tuple[pa.Array, np.ndarray | None]:
    """Cast ``values`` to a column's Arrow type, value by value: (cast values, mask of values that do not fit).

    A batch is cast in one go; only when pyarrow refuses a value ('abc' for a number, 1.234 into a scale of
    2, 20 digits into decimal(18)) is it split in halves until the refused values are found: they become
    null and are set in the mask (None: every value fits), so the caller names them instead of crashing.
    pyarrow refuses int64 → decimal128(18, s) outright ("Precision is not great enough for the result",
    whatever the values: an int64 may need 19 digits), so integers go through a decimal wide enough first.
    """
    if values.type == typ:
        return values, None
    if pa.types.is_decimal(typ) and pa.types.is_integer(values.type):
        values = values.cast(pa.decimal128(min(MAX_DECIMAL_PRECISION, 19 + typ.scale), typ.scale))
    try:
        return values.cast(typ), None
    except pa.ArrowInvalid:
        pass
    chunks: list[pa.Array] = []
    bad = np.zeros(len(values), dtype=bool)
    _bisect_cast(values, typ, 0, chunks, bad)
    return pa.concat_arrays(chunks), bad


def _bisect_cast(values: pa.Array, typ: pa.DataType, start: int, chunks: list[pa.Array], bad: np.ndarray) -> None:
    try:
        chunks.append(values.cast(typ))
        return
    except pa.ArrowInvalid:
        if len(values) == 1:
            chunks.append(pa.nulls(1, typ))
            bad[start] = True
            return
    half = len(values) // 2
    _bisect_cast(values.slice(0, half), typ, start, chunks, bad)
    _bisect_cast(values.slice(half), typ, start + half, chunks, bad)
