"""Roster criteria over the other 業務' tables (issue 13's ISL tables): 国保・後期・介護 資格 on a date and
the 避難行動要支援者 criteria from 介護認定 / 障害者手帳 / 住民記録 — all data in the rule files.

Each source is one SQL query over the whole table (window functions, SQLite and PostgreSQL alike) that
gives at most one row per 宛名番号 — the record that decides on the 基準日 — joined to the candidates
in Arrow (``Table.join``); the tests are whole-column numpy. No per-person Python.

Two ways a source row is "the one on the date" (``mode``):

- ``period`` (資格・認定): rows are periods ``from`` … ``to``; a row is in effect when from ≤ D and
  (to empty or to > D) — ``to_inclusive: true`` for an end day that is itself in the period
  (認定の有効期間の終了日). Of the rows in effect the latest (``order``) decides; with none, the latest
  one begun before D (why out: 喪失), else the first one after D (why out: 取得前).
- ``history`` (台帳の履歴): the core's one as-of rule (``asof.as_of_select``, j200 semantics): per key
  (``key`` items, e.g. 宛名番号＋手帳の種類) the row with the largest 履歴番号 whose effective date
  (``dates``, first non-empty) is ≤ D.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, and_, case, func, literal, or_, select

from kikan_hub.layouts.isl import all_tables, load_code_table
from kikan_hub.modules import asof
from kikan_hub.modules.rosters import periods as P
from kikan_hub.modules.rosters.rules import RosterError

PERIOD_KEYS = {"table", "mode", "from", "to", "to_inclusive", "order", "where", "exclude", "expires", "label",
               "show", "lost", "key", "dates"}


def _check(spec: dict, where: str) -> None:
    unknown = set(spec) - PERIOD_KEYS
    if unknown:
        raise RosterError(f"{where}: 不明なキー {sorted(unknown)} (使えるキー: {sorted(PERIOD_KEYS)})")
    tables = all_tables()
    if spec.get("table") not in tables:
        raise RosterError(f"{where}: table {spec.get('table')!r} は ISL 定義にありません")
    items = {c.name for c in tables[spec["table"]].columns}
    named = [spec.get("from"), spec.get("to"), spec.get("order"), spec.get("expires"), spec.get("show"), spec.get("lost"),
             *(spec.get("where") or {}), *(spec.get("exclude") or {}), *(spec.get("key") or []),
             *(spec.get("dates") or [])]
    missing = [n for n in named if n and n not in items]
    if missing:
        raise RosterError(f"{where}: {spec['table']} に項目 {missing} がありません")


def _period_query(spec: dict, on: dt.date):
    t = asof.store_table(spec["table"])
    f, to, order = t.c[spec["from"]], t.c[spec["to"]], t.c[spec["order"]]
    after = (to >= on) if spec.get("to_inclusive") else (to > on)
    valid = and_(f <= on, or_(to.is_(None), after))
    rank = case((valid, 0), (f <= on, 1), else_=2)
    # latest in effect; else latest begun (lost); else the first one still to come
    rn = func.row_number().over(partition_by=t.c.atena_no,
                                order_by=(rank, case((f <= on, order), else_=-order).desc())).label("_rn")
    cols = {c for c in [spec["from"], spec["to"], spec.get("show"), spec.get("lost"), spec.get("expires"),
                        *(spec.get("where") or {}), *(spec.get("exclude") or {})] if c}
    inner = select(t.c.atena_no, *[t.c[c] for c in sorted(cols)], rank.label("_rank"), rn)
    inner = _filter(inner, t, spec).subquery("src")
    return select(*[c for c in inner.c if c.name != "_rn"]).where(inner.c._rn == 1)


def _filter(stmt, t, spec: dict):
    """``where`` restricts which rows count at all only when its items are the key's (e.g. 手帳の種類);
    the other conditions are tested on the deciding row (a later 非該当 ends an earlier 要介護3)."""
    for item in spec.get("key") or []:
        if item != "atena_no" and item in (spec.get("where") or {}):
            stmt = stmt.where(t.c[item].in_([str(v) for v in spec["where"][item]]))
    return stmt


def _history_query(spec: dict, on: dt.date):
    t = asof.store_table(spec["table"])
    keys = spec.get("key") or ["atena_no"]
    k = t.c[keys[0]]
    for item in keys[1:]:
        k = k + literal(":") + t.c[item]
    sub = _filter(select(t, k.label("_key")), t, spec).subquery("src_hist")
    snap = asof.as_of_select(sub, on, key="_key", date_col=tuple(spec["dates"]), floor_col=None)
    cols = {c for c in [spec.get("show"), spec.get("expires"), *spec["dates"], *(spec.get("where") or {}),
                        *(spec.get("exclude") or {})] if c}
    return select(snap.c.atena_no, *[snap.c[c] for c in sorted(cols)], literal(0).label("_rank"))


def fetch_source(engine: Engine, spec: dict, on: dt.date) -> pa.Table:
    """One row per 宛名番号: the deciding record of ``spec`` on ``on`` (columns as named in the spec)."""
    stmt = _history_query(spec, on) if spec.get("mode") == "history" else _period_query(spec, on)
    from kikan_hub.modules.rosters.engine import _arrow, read_arrow  # dates as text on SQLite subqueries, typed on PostgreSQL
    direct = read_arrow(engine, stmt)
    if direct is not None:
        tbl = pa.table({n: direct[n].cast(pa.string()) for n in direct.column_names})
    else:
        with engine.connect() as conn:
            res = conn.execute(stmt)
            names = list(res.keys())
            rows = res.fetchall()
        cols = list(zip(*rows)) if rows else [() for _ in names]
        tbl = pa.table({n: _arrow(c).cast(pa.string()) if len(c) else pa.array([], pa.string())
                        for n, c in zip(names, cols)})
    # history mode keeps several keys per person (e.g. two 手帳): one row per person, the best one first
    if spec.get("mode") == "history" and tbl.num_rows:
        ok = _row_ok(tbl, spec, on)
        tbl = tbl.append_column("_ok", pa.array(ok)).sort_by([("atena_no", "ascending"), ("_ok", "descending")])
        first = pc.not_equal(tbl["atena_no"], pa.concat_arrays([pa.array([None], pa.string()),
                                                                 tbl["atena_no"].combine_chunks()[:-1]]))
        tbl = tbl.filter(pc.fill_null(first, True)).drop_columns(["_ok"])
    return tbl


def _row_ok(tbl: pa.Table, spec: dict, on: dt.date) -> np.ndarray:
    """The deciding row meets the spec: in effect, ``where`` values, not ``exclude`` values, not expired."""
    n = tbl.num_rows
    col = lambda c: np.asarray(tbl[c].to_pylist(), dtype=object)  # noqa: E731
    ok = np.asarray(tbl["_rank"].to_pylist(), dtype=object).astype(str) == "0"
    for item, values in (spec.get("where") or {}).items():
        ok &= np.isin(col(item), [str(v) for v in values])
    for item, values in (spec.get("exclude") or {}).items():
        ok &= ~np.isin(col(item), [str(v) for v in values])
    if spec.get("expires"):
        exp = P.to_days(pa.array(tbl[spec["expires"]].to_pylist(), pa.string()))
        ok &= np.isnat(exp) | (exp >= np.datetime64(on, "D"))
    return ok if n else np.zeros(0, bool)


def joined(candidates: pa.Array, src: pa.Table) -> pa.Table:
    """``src`` aligned to the candidates' order (missing persons → nulls)."""
    left = pa.table({"atena_no": candidates.cast(pa.string()), "_pos": pa.array(np.arange(len(candidates)))})
    out = left.join(src, "atena_no", join_type="left outer").sort_by("_pos")
    return out


def code_names(table_id: str, item: str) -> dict[str, str]:
    col = next((c for c in all_tables()[table_id].columns if c.name == item), None)
    code = getattr(getattr(col, "item", None), "code", None)
    return load_code_table(code).codes if code else {}


# ------------------------------------------------------------------ criteria kinds (registered in engine.CRITERIA)
def _source(c, spec: dict, where: str) -> tuple[pa.Table, np.ndarray]:
    _check(spec, where)
    src = fetch_source(c.engine, spec, c.on_date)
    j = joined(c.tbl["atena_no"].combine_chunks(), src)
    ok = _row_ok(j, spec, c.on_date) & np.asarray(pc.is_valid(j["_rank"]).to_pylist(), bool) if c.n else np.zeros(0, bool)
    return j, ok


def _text(j: pa.Table, col: str | None) -> np.ndarray:
    if not col or col not in j.column_names:
        return np.full(j.num_rows, "", dtype=object)
    return np.asarray(pa.array(j[col].to_pylist(), pa.string()).fill_null("").to_pylist(), dtype=object)


def _named(j: pa.Table, spec: dict, col: str | None) -> np.ndarray:
    from kikan_hub.modules.rosters.engine import _map
    names = code_names(spec["table"], col) if col else {}
    values = _text(j, col)
    return _map(values, lambda v: names.get(v, v)) if len(values) else values


def crit_qualification_on_date(c, spec: dict, on: np.ndarray):
    """資格 on the 基準日 from a 資格 history: 取得日 ≤ D and (喪失日 empty or > D) — 喪失日 is the first
    day without the 資格 (国民健康保険法 第8条: 住所を有しなくなった日の翌日 …)."""
    src, label = spec["source"], spec["label"]
    j, ok = _source(c, src, f"{c.rule.path}: {label}")
    rank = _text(j, "_rank")
    frm, to = _text(j, src["from"]), _text(j, src["to"])
    shown, lost = _named(j, src, src.get("show")), _named(j, src, src.get("lost"))
    inn = label + "資格あり（取得 " + frm + np.where(shown != "", "：" + shown, "") + "）"
    out = np.where(rank == "1", label + "資格喪失（喪失 " + to + np.where(lost != "", "：" + lost, "") + "）",
                   np.where(rank == "2", label + "資格取得前（取得 " + frm + "）", label + "資格の記録なし"))
    out = np.where((rank == "0") & ~ok, label + "資格の要件に該当しない", out)
    c.extra[f"{label}資格取得日"] = np.where(ok, frm, "")
    return ok, np.where(ok, "", out), np.where(ok, inn, "")


def crit_living_alone(c, spec: dict, on: np.ndarray):
    """単身世帯: the person's household has one resident on the 基準日 (the snapshot's 世帯番号)."""
    setai = pa.array(c.text("setai_no").tolist(), pa.string())
    res = pa.array(c.resident)
    counts = pa.table({"setai_no": setai.filter(res)}).group_by("setai_no").aggregate([("setai_no", "count")])
    j = joined(setai, counts.rename_columns(["atena_no", "n"])) if c.n else None
    n = np.asarray(pc.fill_null(j["n"], 0).to_pylist(), dtype=np.int64) if c.n else np.zeros(0, np.int64)
    ok = c.resident & (n == 1)
    return ok, np.where(ok, "", "単身世帯でない（世帯員 " + n.astype(str).astype(object) + " 人）"), \
        np.where(ok, "単身世帯", "")


def crit_any_of(c, spec: dict, on: np.ndarray):
    """Any one of the options (each a ``source`` record test or a list of ``criteria``); every option met
    is named in the reason (避難行動要支援者: 要介護3以上 / 手帳 / 75歳以上の単身)."""
    from kikan_hub.modules.rosters.engine import _blank, _evaluate, _join
    ok_any = np.zeros(c.n, bool)
    inn = _blank(c.n)
    labels = []
    for opt in spec["of"]:
        label = opt["label"]
        labels.append(label)
        if "source" in opt:
            src = opt["source"]
            j, ok = _source(c, src, f"{c.rule.path}: {label}")
            shown = _named(j, src, src.get("show"))
            period = np.where(_text(j, src.get("from")) != "", "（" + _text(j, src.get("from")) + "〜"
                              + _text(j, src.get("to")) + "）", "")
            exp = _text(j, src.get("expires"))
            what = label + np.where(shown != "", "：" + shown, "") + period + np.where(exp != "", "（有効期限 " + exp + "）", "")
        else:
            ok, _, what = _evaluate(c, opt["criteria"], on)
            what = label + np.where(what != "", "（" + what.astype(object) + "）", "")
        ok_any |= ok
        inn = _join(inn, np.where(ok, what, ""))
    none = spec.get("none") or ("要件に該当しない（" + "・".join(labels) + " のいずれにも該当しない）")
    return ok_any, np.where(ok_any, "", none), inn


KINDS = {"qualification_on_date": crit_qualification_on_date, "living_alone": crit_living_alone,
         "any_of": crit_any_of}
