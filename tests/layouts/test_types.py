"""The one type system (kikan_hub/layouts/types.py): one Arrow type per physical column, the rest derived.

Every column of every shipped ISL table is typed here, and the derived polars / SQL / Python / XSD /
OpenAPI types are checked against what the real libraries make of the Arrow type (polars reading an
Arrow array, SQLAlchemy compiling DDL for PostgreSQL, pydantic writing JSON, lxml validating XSD).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Optional

import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa
from lxml import etree
from pydantic import create_model
from sqlalchemy.dialects import postgresql

from kikan_hub.layouts import types as T
from kikan_hub.layouts.isl import Column, Item, all_tables


def _col(typ: str, item_type: str | None = None, length: int = 10, scale: int = 0, name: str = "c") -> Column:
    item = Item(id=name, name="項目", type=item_type or typ, length=length, scale=scale)
    return Column(name, typ, None, item)


ALL_COLUMNS = [(t.id, c) for t in all_tables().values() for c in t.columns]


def test_every_shipped_column_has_one_arrow_type_and_polars_reads_it_back():
    assert ALL_COLUMNS
    for tid, col in ALL_COLUMNS:
        at = T.arrow_type(col)
        # the derived polars type is what polars itself makes of an Arrow array of that type
        assert pl.from_arrow(pa.array([None], at)).dtype == T.polars_type(col), (tid, col.name)
        assert T.python_type(col) in (str, int, Decimal, dt.date, bool)


def test_decimals_stay_decimal_everywhere():
    decimals = [(tid, c) for tid, c in ALL_COLUMNS if c.type == "decimal"]
    assert decimals, "the shipped definitions hold amounts (税額 …)"
    for tid, col in decimals:
        p, s = T.decimal_spec(col)
        assert T.arrow_type(col) == pa.decimal128(p, s)
        assert T.polars_type(col) == pl.Decimal(p, s), f"{tid}.{col.name}: validation must not see a float"
        sql = T.sql_type(col)
        assert isinstance(sql, sa.Numeric) and sql.asdecimal and (sql.precision, sql.scale) == (p, s)
        assert T.python_type(col) is Decimal
        assert T.xsd_type(col) == "xs:decimal"
        assert T.openapi_schema(col)["type"] == "string"
        assert s == col.item.scale and p >= col.item.length


def test_decimal_precision_is_the_store_width_widened_to_a_longer_桁数():
    assert T.decimal_spec(_col("decimal", length=12, scale=0)) == (18, 0)
    assert T.decimal_spec(_col("decimal", length=6, scale=2)) == (18, 2)
    assert T.decimal_spec(_col("decimal", length=25, scale=3)) == (25, 3)
    assert T.decimal_spec(_col("decimal", length=60, scale=0)) == (38, 0)


def test_sql_ddl_on_postgresql():
    ddl = {typ: str(T.sql_type(_col(typ, length=6, scale=2)).compile(dialect=postgresql.dialect()))
           for typ in T.PHYSICAL_TYPES}
    assert ddl == {"text": "TEXT", "integer": "BIGINT", "decimal": "NUMERIC(18, 2)", "date": "DATE",
                   "flag": "BOOLEAN"}


def test_unknown_type_is_a_named_error():
    with pytest.raises(T.TypeSystemError, match="column c: unknown physical type 'money'"):
        T.arrow_type(_col("money"))


def test_pydantic_model_documents_and_writes_decimal_as_exact_text():
    col = _col("decimal", length=12, scale=2, name="zeigaku")
    model = create_model("M", zeigaku=(Optional[T.pydantic_type(col)], None))
    assert model(zeigaku=Decimal("1234567890.12")).model_dump_json() == '{"zeigaku":"1234567890.12"}'
    prop = model.model_json_schema(mode="serialization")["properties"]["zeigaku"]
    assert {"type": "string", "format": "decimal", "pattern": T.openapi_schema(col)["pattern"]} in prop["anyOf"]
    pattern = re.compile(T.openapi_schema(col)["pattern"])
    assert pattern.match("1234567890.12") and pattern.match("-5") and not pattern.match("1.234")
    assert not pattern.match("1" * 17)   # 16 whole digits at most in NUMERIC(18, 2)


@pytest.mark.parametrize("typ, item_type, length, scale, good, bad", [
    ("decimal", "decimal", 6, 2, "1234.56", "123.456"),
    ("integer", "integer", 4, 0, "1234", "12345"),
    ("date", "date", 8, 0, "2023-01-10", "2023-13-10"),
    ("flag", "flag", 1, 0, "true", "yes"),
])
def test_xsd_type_and_facets_validate_with_lxml(typ, item_type, length, scale, good, bad):
    col = _col(typ, item_type, length, scale)
    xsd = (f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="v"><xs:simpleType>'
           f'<xs:restriction base="{T.xsd_type(col)}">{T.xsd_facets(col)}</xs:restriction>'
           f'</xs:simpleType></xs:element></xs:schema>')
    schema = etree.XMLSchema(etree.fromstring(xsd.encode()))
    assert schema.validate(etree.fromstring(f"<v>{good}</v>".encode()))
    assert not schema.validate(etree.fromstring(f"<v>{bad}</v>".encode()))


def test_text_that_is_not_a_number_is_masked():
    strings = pa.array(["123.45", "abc", None, "1.234", "-0.5"] * 40)   # bisection finds every refused value
    out, bad = T.cast_to(strings, T.arrow_type(_col("decimal", length=6, scale=2)))
    assert out.to_pylist()[:5] == [Decimal("123.45"), None, None, None, Decimal("-0.50")]
    assert bad.tolist() == [False, True, False, True, False] * 40
    flags, bad = T.cast_to(pa.array(["1", "0", "x"]), T.arrow_type(_col("flag")))
    assert flags.to_pylist() == [True, False, None] and bad.tolist() == [False, False, True]


def test_openapi_schema_per_type():
    assert T.openapi_schema(Column("shimei", "text", 60, None)) == {"type": "string", "maxLength": 60}
    assert T.openapi_schema(_col("integer")) == {"type": "integer", "format": "int64"}
    assert T.openapi_schema(_col("date")) == {"type": "string", "format": "date"}
    assert T.openapi_schema(_col("flag")) == {"type": "boolean"}
    json.dumps([T.openapi_schema(c) for _, c in ALL_COLUMNS])   # plain JSON, ready for /openapi.json


def test_legacy_integer_casts_into_a_decimal_column():
    """pyarrow alone refuses int64 → decimal128(18, s) ("Precision is not great enough"), whatever the values."""
    typ = T.arrow_type(_col("decimal", length=12, scale=0))
    ints = pa.array([1200, None, -5, 999_999_999_999], pa.int64())
    with pytest.raises(pa.ArrowInvalid, match="Precision is not great enough"):
        ints.cast(typ)
    out, bad = T.cast_to(ints, typ)
    assert out.type == typ and bad is None
    assert out.to_pylist() == [Decimal(1200), None, Decimal(-5), Decimal(999_999_999_999)]
    out, _ = T.cast_to(pa.array([7], pa.int32()), T.arrow_type(_col("decimal", length=6, scale=2)))
    assert out.to_pylist() == [Decimal("7.00")]


def test_values_that_do_not_fit_are_masked_not_a_crash():
    typ = pa.decimal128(18, 2)
    ints = pa.array([1, 10**16, -(10**17), None, 2], pa.int64())   # 16 whole digits fit; 17 and 18 do not
    out, bad = T.cast_to(ints, typ)
    assert out.to_pylist() == [Decimal("1.00"), None, None, None, Decimal("2.00")]
    assert bad.tolist() == [False, True, True, False, False]
    dec = pa.array([Decimal("1.50"), Decimal("1.25"), Decimal("1000")], pa.decimal128(10, 2))   # 3 whole digits in (4, 1)
    out, bad = T.cast_to(dec, pa.decimal128(4, 1))
    assert out.to_pylist() == [Decimal("1.5"), None, None]
    assert bad.tolist() == [False, True, True]
