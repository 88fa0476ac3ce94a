"""A handover file spec types its columns with layouts/types.py: a decimal names its precision, so the
importer reads it back as the exact decimal the exporter wrote (an older spec without it gets the store's 18)."""
from __future__ import annotations

import dataclasses

import pyarrow as pa

from kikan_hub.handover.reader import columns_of
from kikan_hub.handover.spec import arrow_schema, file_columns
from kikan_hub.layouts.isl import get_table
from kikan_hub.layouts.types import arrow_type


def test_spec_columns_carry_the_one_type():
    table = get_table("zei_kotei_tochi")
    cols = file_columns(table)
    by_id = {c.id: c for c in cols}
    assert arrow_schema(cols) == pa.schema([(c.name, arrow_type(c)) for c in table.columns])
    chiseki = by_id["toki_chiseki"].as_dict()
    assert (chiseki["type"], chiseki["scale"], chiseki["precision"]) == ("decimal", 2, 18)
    assert "precision" not in by_id["atena_no"].as_dict()
    # read back from the manifest's column list: the same Arrow types
    assert arrow_schema(columns_of({"columns": [c.as_dict() for c in cols]})) == arrow_schema(cols)


def test_a_long_decimal_keeps_its_precision_and_an_old_spec_gets_the_store_width():
    table = get_table("zei_kotei_tochi")
    items = tuple(dataclasses.replace(it, length=25) if it.id == "toki_chiseki" else it for it in table.items)
    wide = next(c for c in file_columns(dataclasses.replace(table, items=items)) if c.id == "toki_chiseki")
    assert wide.as_dict()["precision"] == 25
    assert arrow_schema(columns_of({"columns": [wide.as_dict()]})).field("toki_chiseki").type == pa.decimal128(25, 2)
    old = {k: v for k, v in wide.as_dict().items() if k != "precision"}
    assert arrow_schema(columns_of({"columns": [old]})).field("toki_chiseki").type == pa.decimal128(18, 2)
