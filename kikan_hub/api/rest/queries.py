"""Read-side queries over the canonical store shared by the SOAP and REST interfaces.

(These belong with the business modules; they live under api/ until a 住民記録 module owns them.)

Semantics
- 住民 "current row": the history row with the highest 履歴番号 for a 宛名番号.
- Look-up by 個人番号 or カナ氏名＋生年月日 matches any history row and returns the current row.
- 世帯構成 and a person as of D are not here: kikan_hub/modules/asof.py is the one implementation.
- 異動連番 (serial): ``kikan_change_log.serial``, a monotonically increasing number given to each
  juki_jumin history row (宛名番号, 履歴番号) the first time the hub sees it (ordered by 処理日,
  宛名番号, 履歴番号 within one sync). A row re-loaded by a later run (different ``_run_id``) gets a
  new serial, so a client that keeps the last serial it saw never misses a change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, select

from kikan_hub.api.rest.feed import ChangeFeed
from kikan_hub.layouts.isl import get_table
from kikan_hub.api.tables import CHANGE_LOG

@lru_cache(maxsize=1)
def _md():
    from kikan_hub.store.schema import build_metadata
    return build_metadata()


def tables():
    md = _md()
    return md.tables["juki_jumin"], md.tables["juki_setai"], md.tables[CHANGE_LOG]


@lru_cache(maxsize=8)
def value_columns(table_id: str) -> tuple[str, ...]:
    return tuple(c.name for c in get_table(table_id).columns if c.role != "lineage")


def _as_dict(row, table_id: str) -> dict[str, Any]:
    m = row._mapping
    return {c: m[c] for c in value_columns(table_id)}


@dataclass
class QueryService:
    engine: Engine

    def __post_init__(self):
        self.jumin, self.setai, self.log = tables()
        j = self.jumin
        # 住民情報照会 by 宛名番号 (every SOAP/REST lookup): statements built once, executed with a parameter
        by_atena = select(j).where(j.c.atena_no == bindparam("atena_no")).order_by(j.c.rireki_no.desc())
        self._by_atena = {True: by_atena, False: by_atena.limit(1)}

    # --- 住民 -------------------------------------------------------------------------
    def _current_for(self, conn, atena_nos: list[str]) -> list[dict]:
        j = self.jumin
        if not atena_nos:
            return []
        latest = (select(j.c.atena_no, func.max(j.c.rireki_no).label("r"))
                  .where(j.c.atena_no.in_(atena_nos)).group_by(j.c.atena_no).subquery())
        rows = conn.execute(select(j).join(latest, and_(j.c.atena_no == latest.c.atena_no,
                                                        j.c.rireki_no == latest.c.r)).order_by(j.c.atena_no))
        return [_as_dict(r, "juki_jumin") for r in rows]

    def resident_by_atena(self, atena_no: str, include_history: bool = False) -> list[dict]:
        with self.engine.connect() as conn:
            return [_as_dict(r, "juki_jumin")
                    for r in conn.execute(self._by_atena[include_history], {"atena_no": atena_no})]

    def residents_by_kojin_bango(self, kojin_bango: str) -> list[dict]:
        j = self.jumin
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(j.c.atena_no).where(j.c.kojin_bango == kojin_bango).distinct())]
            return self._current_for(conn, ids)

    def residents_by_kana_birth(self, kana: str, birth: dt.date) -> list[dict]:
        j = self.jumin
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(j.c.atena_no).where(
                j.c.shimei_kana == kana, j.c.birth_date == birth).distinct().limit(1000))]
            return self._current_for(conn, ids)

    def atena(self, atena_nos: list[str]) -> list[dict]:
        with self.engine.connect() as conn:
            return self._current_for(conn, sorted(set(atena_nos)))

    # --- 異動 (changes) ---------------------------------------------------------------
    def feed(self) -> ChangeFeed:
        return ChangeFeed.for_table(self.engine, _md(), "juki_jumin", ("atena_no", "rireki_no"),
                                    value_columns("juki_jumin"))

    def sync_change_log(self) -> None:
        self.feed().sync()

    def changes(self, after_serial: int = 0, since_date: dt.date | None = None,
                limit: int = 100) -> tuple[list[tuple[int, dict]], int, bool]:
        """Rows with serial > after_serial (and 処理日 ≥ since_date), in serial order (the table's change feed).

        Returns (rows, next_serial, has_more); pass next_serial back as after_serial for the next page.
        """
        return self.feed().page(after_serial, limit, since_date)

    def latest_serial(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.max(self.log.c.serial), 0))).scalar_one()

    # --- other 業務 (generic, by 宛名番号) ----------------------------------------------
    def rows_by_atena(self, table_id: str, atena_no: str) -> list[dict] | None:
        t = _md().tables.get(table_id)
        if t is None or "atena_no" not in t.c:
            return None
        with self.engine.connect() as conn:
            return [_as_dict(r, table_id) for r in conn.execute(
                select(t).where(t.c.atena_no == atena_no).limit(1000))]
