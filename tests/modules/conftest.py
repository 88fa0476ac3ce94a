"""Fixtures for the business modules: a store with hand-built 住民 / 住登外者 / 税 rows."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kikan_hub.layouts.isl import get_table
from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade
from kikan_hub.store.schema import build_metadata

D = dt.date


def m11(body: str) -> str:
    """宛名番号 / 世帯番号 with the modulus-11 check digit."""
    from kikan_hub.validation.check_digits import m11_check_digit
    return body + str(m11_check_digit(body))


def jumin_row(atena_no, rireki_no, **kw):
    row = {c.name: None for c in get_table("juki_jumin").columns}
    row.update({"atena_no": atena_no, "rireki_no": rireki_no, "setai_no": "S0000000001", "jumin_shubetsu": "1",
                "jumin_jotai": "1", "shimei": "架空　太郎", "shimei_kana": "カクウ　タロウ",
                "birth_date": D(1980, 1, 1), "birth_date_literal": "3550101", "birth_date_unknown": False,
                "seibetsu": "1", "zokugara": "01", "jusho": "霞野市松町一丁目1番1号", "machiaza": "松町",
                "idou_jiyu": "11", "idou_date": D(2000, 4, 1), "idou_date_unknown": False,
                "shori_date": D(2000, 4, 2), "_run_id": "T", "_source_file": "test", "_record_no": 1})
    row.update(kw)
    if row.get("idou_date") is None and "idou_date_unknown" not in kw:
        row["idou_date_unknown"] = True
    return row


def insert_rows(engine, table_id: str, rows: list[dict]) -> None:
    if not rows:
        return
    t = build_metadata().tables[table_id]
    cols = [c.name for c in t.columns]
    full = [{c: r.get(c) for c in cols} for r in rows]
    with engine.begin() as conn:
        for i in range(0, len(full), 5000):
            conn.execute(sa.insert(t), full[i:i + 5000])


@pytest.fixture
def engine(store_url):
    eng = open_engine(store_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    eng = open_engine(f"sqlite:///{tmp_path / 'kikan.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()
