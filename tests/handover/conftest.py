"""A store filled with canonical rows that exercise the handover: gaiji, IVS, 不詳日, decimals."""
from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kikan_hub.handover.spec import arrow_schema, file_columns
from kikan_hub.layouts.isl import get_table
from kikan_hub.store.engine import open_engine
from kikan_hub.store.loader import StagedRun, load_run
from kikan_hub.store.migrate import upgrade

IVS_KATSU = "\u845b\U000E0100"     # 葛󠄀 (845B E0100)
RUN = "R0123456789abcde"


def m11(body: str) -> str:
    s = sum(int(d) * w for d, w in zip(reversed(body), [2, 3, 4, 5, 6, 7] * 3))
    r = s % 11
    return body + ("0" if r in (0, 1) else str(11 - r))


def _lineage(i: int, src: str = "旧住記/JUMIN") -> dict:
    return {"_run_id": RUN, "_source_file": src, "_source_sha256": "ab" * 32, "_source_offset": (i - 1) * 256,
            "_record_no": i, "_flags": None}


def jumin_rows() -> list[dict]:
    names = ["髙橋　一郎", "𠮷田　花子", "渡邊　太郎", f"{IVS_KATSU}城　次郎", "山田　\"一\",二", "佐藤　〜子", "斉藤　さくら"]
    rows = []
    for i, name in enumerate(names, 1):
        rows.append({
            "atena_no": m11(f"{i:09d}"), "rireki_no": 1, "setai_no": m11(f"{100 + i:09d}"),
            "jumin_shubetsu": "1", "jumin_jotai": "1", "shimei": name, "shimei_kana": "テスト　タロウ",
            "birth_date": dt.date(1955, 3, i), "birth_date_literal": f"3300{300 + i}", "birth_date_unknown": False,
            "seibetsu": "1", "zokugara": "01", "setainushi_shimei": name, "jusho": "架空市松町一丁目1番地",
            "katagaki": None if i % 2 else "メゾン髙島101号", "idou_jiyu": "01",
            "idou_date": dt.date(2020, 1, i), "idou_date_literal": f"50200{10 + i}"[:7], "idou_date_unknown": False,
            "shori_date": dt.date(2024, 4, 1), **_lineage(i)})
    # 不詳日: 昭和30年頃 — no ISO date, the literal kept, the flag set
    rows[2].update(birth_date=None, birth_date_literal="昭和30年頃", birth_date_unknown=True)
    # a second history row for one resident
    rows.append(dict(rows[0], rireki_no=2, jusho="架空市竹町二丁目2番地", idou_jiyu="02", **_lineage(8)))
    return rows


def setai_rows() -> list[dict]:
    return [{"setai_no": m11(f"{100 + i:09d}"), "rireki_no": 1, "setainushi_atena_no": m11(f"{i:09d}"),
             "setainushi_shimei": ["髙橋　一郎", "𠮷田　花子", "渡邊　太郎"][i - 1], "jusho": "架空市松町一丁目1番地",
             "yubin_no": "1000001", "shori_date": dt.date(2024, 4, 1), **_lineage(i, "旧住記/SETAI")} for i in (1, 2, 3)]


def tochi_rows() -> list[dict]:
    return [{"kazei_nendo": 2024, "tochi_bukken_no": f"{i:012d}", "atena_no": m11(f"{i:09d}"), "shozai": "架空市松町",
             "chiban": f"{i}番{i}", "toki_chiseki": decimal.Decimal("123.45") * i, "genkyo_chiseki": decimal.Decimal("0.50"),
             **_lineage(i, "旧固定/TOCHI")} for i in (1, 2)]


def stage_rows(tmp: Path, table_id: str, rows: list[dict]) -> Path:
    cols = file_columns(get_table(table_id))
    schema = arrow_schema(cols)
    data = {c.id: [r.get(c.id) for r in rows] for c in cols}
    path = tmp / f"{table_id}.parquet"
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def fill_store(url: str, tmp: Path, tables: dict[str, list[dict]] | None = None):
    tables = tables or {"juki_jumin": jumin_rows(), "juki_setai": setai_rows(), "zei_kotei_tochi": tochi_rows()}
    engine = open_engine(url)
    upgrade(engine)
    stage_dir = tmp / "stage"
    stage_dir.mkdir(exist_ok=True)
    staged = {t: stage_rows(stage_dir, t, rows) for t, rows in tables.items()}
    keys = sorted({r["_source_file"] for rows in tables.values() for r in rows})
    ledger = {"run_id": RUN, "source_system": "テスト", "status": "loaded", "records_read": 0, "records_loaded": 0,
              "records_quarantined": 0}
    load_run(engine, StagedRun(RUN, keys, staged, target_tables=sorted(staged)), ledger, {})
    return engine


@pytest.fixture
def filled_store(store_url, tmp_path):
    return store_url, fill_store(store_url, tmp_path)


@pytest.fixture
def fresh_url(request, tmp_path):
    """Factory: a new empty store of the same kind as the given URL (SQLite file / PostgreSQL database)."""
    import os
    import uuid

    import sqlalchemy as sa

    made: list[str] = []
    admin = os.environ.get("KIKAN_TEST_PG_URL")

    def make(like: str) -> str:
        if like.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'fresh_{uuid.uuid4().hex[:8]}.db'}"
        name = f"kikan_t_{uuid.uuid4().hex[:10]}"
        eng = sa.create_engine(admin.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        made.append(name)
        return f"{admin.rsplit('/', 1)[0]}/{name}"

    yield make
    if made:
        eng = sa.create_engine(admin.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            for name in made:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()
