"""The change feed of a table: a serial number for every row, given the first time the hub sees it.

One machinery for every table. 住民 (``juki_jumin``) keeps its documented 異動連番 in
``kikan_change_log`` (宛名番号, 履歴番号); every other table numbers its rows in ``kikan_row_log``
by their primary key (``row_key``: the key values in key order, joined by U+001F). A sync runs at
the start of each page: rows not yet numbered get the next serials (in primary-key order, or 処理日
order for 住民), and a row re-loaded by a later run (another ``_run_id``) loses its old serial and
gets a new one. So serials only grow and a client that keeps ``next_serial`` never misses a row.
Rows removed by a re-load drop out (deletions are not published).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, String, and_, cast, delete, exists, func, insert, literal, or_, select, tuple_
from sqlalchemy.exc import IntegrityError

from kikan_hub.api.tables import CHANGE_LOG, ROW_LOG

SEP = "\x1f"
JUMIN = "juki_jumin"


def _row_key_expr(table, key: tuple[str, ...]):
    parts = [func.coalesce(cast(table.c[k], String), "") for k in key]
    expr = parts[0]
    for p in parts[1:]:
        expr = expr + literal(SEP) + p
    return expr


@dataclass
class ChangeFeed:
    engine: Engine
    table: Any                      # the store table (SQLAlchemy)
    key: tuple[str, ...]            # its primary key items
    log: Any                        # kikan_change_log (住民) or kikan_row_log
    columns: tuple[str, ...]        # the columns an answer carries

    @classmethod
    def for_table(cls, engine: Engine, md, table_id: str, key: tuple[str, ...], columns: tuple[str, ...]):
        log = md.tables[CHANGE_LOG if table_id == JUMIN else ROW_LOG]
        return cls(engine, md.tables[table_id], key, log, columns)

    @property
    def _jumin(self) -> bool:
        return self.log.name == CHANGE_LOG

    def _same_row(self):
        c, t = self.log.c, self.table.c
        if self._jumin:
            return and_(c.table_id == JUMIN, c.atena_no == t.atena_no, c.rireki_no == t.rireki_no)
        return and_(c.table_id == self.table.name, c.row_key == _row_key_expr(self.table, self.key))

    def sync(self) -> None:
        c, t = self.log, self.table
        same_row = self._same_row()
        now = dt.datetime.now(dt.timezone.utc)
        if self._jumin:
            cols = ["table_id", "atena_no", "rireki_no", "run_id", "recorded_at"]
            values = [literal(JUMIN), t.c.atena_no, t.c.rireki_no, t.c._run_id, literal(now)]
            order = [t.c.shori_date, t.c.atena_no, t.c.rireki_no]
        else:
            cols = ["table_id", "row_key", "run_id", "recorded_at"]
            values = [literal(t.name), _row_key_expr(t, self.key), t.c._run_id, literal(now)]
            order = [t.c[k] for k in self.key]
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    # rows re-loaded by another run: forget their old serial, they get a new one below
                    stale = select(c.c.serial).join(t, same_row).where(
                        or_(and_(c.c.run_id.is_(None), t.c._run_id.is_not(None)),
                            and_(c.c.run_id.is_not(None), t.c._run_id.is_(None)),
                            c.c.run_id != t.c._run_id))
                    conn.execute(delete(c).where(c.c.serial.in_(stale)))
                    missing = select(*values).where(~exists().where(same_row)).order_by(*order)
                    conn.execute(insert(c).from_select(cols, missing))
                return
            except IntegrityError:  # a concurrent sync inserted the same rows first
                if attempt == 2:
                    raise

    def page(self, after_serial: int = 0, limit: int = 100, since_date: dt.date | None = None
             ) -> tuple[list[tuple[int, dict]], int, bool]:
        """Rows with serial > after_serial (and 処理日 ≥ since_date), in serial order: (rows, next_serial, has_more)."""
        self.sync()
        c, t = self.log, self.table
        if self._jumin or since_date is not None:   # one join (住民: indexed columns; a date filter needs the rows)
            q = (select(c.c.serial, t).join(t, self._same_row()).where(c.c.serial > after_serial)
                 .order_by(c.c.serial).limit(limit + 1))
            if since_date is not None:
                q = q.where(t.c.shori_date >= since_date)
            with self.engine.connect() as conn:
                rows = conn.execute(q).mappings().all()
            more = len(rows) > limit
            out = [(r["serial"], {n: r[n] for n in self.columns}) for r in rows[:limit]]
            return out, (out[-1][0] if out else after_serial), more
        return self._page_by_key(after_serial, limit)

    def _page_by_key(self, after_serial: int, limit: int) -> tuple[list[tuple[int, dict]], int, bool]:
        """The log page first (index on serial), then its rows by primary key (index on the key)."""
        c, t = self.log, self.table
        with self.engine.connect() as conn:
            page = conn.execute(select(c.c.serial, c.c.row_key).where(c.c.table_id == t.name, c.c.serial > after_serial)
                                .order_by(c.c.serial).limit(limit + 1)).all()
            more = len(page) > limit
            page = page[:limit]
            if not page:
                return [], after_serial, False
            wanted = [(s, tuple(self._typed(k, v) for k, v in zip(self.key, rk.split(SEP)))) for s, rk in page]
            found = conn.execute(select(t).where(tuple_(*(t.c[k] for k in self.key)).in_([w for _, w in wanted]))
                                 ).mappings().all()
        by_key = {tuple(r[k] for k in self.key): r for r in found}
        out = [(s, {n: by_key[k][n] for n in self.columns}) for s, k in wanted if k in by_key]
        return out, page[-1][0], more

    def _typed(self, key: str, text: str) -> Any:
        """A key value back from its text form (as the database cast it) to the column's Python type."""
        py = self.table.c[key].type.python_type
        if py is dt.date:
            return dt.date.fromisoformat(text[:10])
        if py is bool:
            return text.lower() in ("1", "true")
        return py(text) if py is not str else text
