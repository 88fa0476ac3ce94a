"""Issue 12 (2): validation sees amounts as decimals (the type of layouts/types.py), never as Float64.

A store's decimal column comes back as polars Decimal on SQLite and on the real PostgreSQL server, the
pandera schema says Decimal, and a sum rule compares exactly: a 0.25 kW difference is a difference (the
Float64 copy compared with a tolerance of 0.5 and let it through)."""
from __future__ import annotations

from decimal import Decimal

import polars as pl
import sqlalchemy as sa

from kikan_hub.layouts.isl import get_table
from kikan_hub.layouts.types import polars_type
from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade
from kikan_hub.store.schema import build_metadata
from kikan_hub.validation.checks import GROUP_CHECKS
from kikan_hub.store.frames import read_store_tables
from kikan_hub.validation.schemas import pandera_schema

TABLE = "zei_kei_sharyo"   # 定格出力・最高出力 (kW): decimal, 6 桁, scale 2


def _row(no: str, teikaku: str | None, saiko: str | None) -> dict:
    return {"sharyo_no": no, "rireki_no": 1, "atena_no": "0000001031", "shashu_kubun": "101",
            "hyoshiki_no": "架空市 あ 1", "shatai_no": "X-1",
            "teikaku_shutsuryoku": None if teikaku is None else Decimal(teikaku),
            "saiko_shutsuryoku": None if saiko is None else Decimal(saiko)}


def test_store_decimals_come_back_as_decimals(store_url):
    engine = open_engine(store_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(build_metadata().tables[TABLE]),
                     [_row("0000000001", "0.60", "4.00"), _row("0000000002", "1234.56", None)])
    frames = read_store_tables(engine, [TABLE])
    engine.dispose()
    df = frames[TABLE]
    assert df.schema["teikaku_shutsuryoku"] == pl.Decimal(18, 2)
    assert df.sort("sharyo_no")["teikaku_shutsuryoku"].to_list() == [Decimal("0.60"), Decimal("1234.56")]


def test_pandera_schema_types_decimals_as_decimal():
    schema = pandera_schema(TABLE, ["sharyo_no", "teikaku_shutsuryoku"], rules=[])
    col = next(c for c in get_table(TABLE).columns if c.name == "teikaku_shutsuryoku")
    assert schema.columns["teikaku_shutsuryoku"].dtype.type == polars_type(col) == pl.Decimal(18, 2)


def test_sum_rule_is_exact():
    cols = {c.name: polars_type(c) for c in get_table(TABLE).columns}
    df = pl.DataFrame([_row("0000000001", "1.00", "1.25"), _row("0000000002", "0.30", "0.30")],
                      schema={k: cols[k] for k in _row("", None, None)}, orient="row")
    # per 車両: the sum of 定格出力 must be the 最高出力 (a rule of the sum_equals kind, on decimals of scale 2)
    check = {"kind": "sum_equals", "other": TABLE, "keys": ["sharyo_no"], "value": "teikaku_shutsuryoku",
             "other_column": "saiko_shutsuryoku"}
    out = GROUP_CHECKS["sum_equals"]({TABLE: df}, get_table(TABLE), check)
    # 1.00 ≠ 1.25 fails (the Float64 copy's tolerance of 0.5 passed it); 0.30 = 0.30 passes
    assert out.failures["sharyo_no"].to_list() == ["0000000001"]
    assert out.failures["_sum"].to_list() == [Decimal("1.00")]
    assert out.failures["_expected"].to_list() == [Decimal("1.25")]
