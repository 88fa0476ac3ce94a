"""The roster engine: one SQL query (the core's as-of snapshot + the row that opened the current
record), then the rule file's criteria as whole-column numpy operations — no per-person loop.

Every person with a snapshot in effect on the 基準日 gets a 判定 (掲載 / 表示 / 対象外) and the
reasons for it; ``listed_only`` keeps 掲載 and 表示.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, and_, case, func, literal, or_, select

from kikan_hub.layouts.isl import get_table, load_code_table
from kikan_hub.modules import juki
from kikan_hub.modules.rosters import periods as P
from kikan_hub.modules.rosters.rules import RosterError, RosterRule, load_rule

LISTED, DISPLAYED, OUT = "掲載", "表示", "対象外"
TENNYU = ("11", "12")            # 住民基本台帳法 第22条の届出 (国内転入・国外転入等): 届出をした日から数える
CARRY_OVER = ("14", "17", "18")  # 帰化等の職権記載・改製・再製: 記録は途切れない → 住民となった年月日


@dataclass
class RosterResult:
    rule: RosterRule
    as_of: dt.date
    table: pa.Table                    # every candidate, with 判定 and 理由
    headers: list[str]                 # display names, same order as table columns

    def listed(self) -> pa.Table:
        return self.table.filter(pc.invert(pc.equal(self.table["判定"], OUT)))


def _snapshot_query(as_of: dt.date):
    """The snapshot in effect (``juki.as_of_select``) joined to the 記載 row that opened its record.

    as_of_select runs over a narrow projection of juki_jumin (only the items the rosters read) that
    also carries, per row, the 履歴番号 of the latest 記載 row up to it — one window, one pass.
    """
    t = juki.jumin_table()
    kisai = load_code_table("idou_jiyu").extra["kubun"]["記載"]
    cols = ["atena_no", "rireki_no", "setai_no", "jumin_shubetsu", "jumin_jotai", "shimei", "shimei_kana",
            "birth_date", "birth_date_literal", "seibetsu", "setainushi_shimei", "jusho", "katagaki", "jusho_code",
            "machiaza", "shojo_jiyu", "shojo_date", "jumin_date", "idou_date",
            "kojin_bango"]      # for a city rule that lists 個人番号 (REST/SOAP release it only with the grant)
    if "birth_date_wareki" in t.c:          # the 和暦 text of 不詳 births where the store has it
        cols.append("birth_date_wareki")
    last_kisai = func.max(case((t.c.idou_jiyu.in_(kisai), t.c.rireki_no))).over(
        partition_by=t.c.atena_no, order_by=t.c.rireki_no, rows=(None, 0)).label("_kisai_rireki")
    hist = select(*[t.c[c] for c in cols], last_kisai).subquery("roster_hist")
    snap = juki.as_of_select(hist, as_of)
    r = t.alias("r")
    genzon = getattr(juki, "genzon_states", lambda: ("1",))()
    no_jiyu = or_(snap.c.shojo_jiyu.is_(None), snap.c.shojo_jiyu == "")
    state_ok = or_(snap.c.jumin_jotai.is_(None), snap.c.jumin_jotai == "", snap.c.jumin_jotai.in_(list(genzon)))
    out = [c for c in cols if c not in ("rireki_no", "idou_date")]
    return (select(*[snap.c[c] for c in out],
                   case((and_(no_jiyu, state_ok), literal(1)), else_=literal(0)).label("_resident"),
                   snap.c._date_uncertain,
                   r.c.idou_jiyu.label("_rec_jiyu"), r.c.todokede_date.label("_rec_todoke"),
                   r.c.idou_date.label("_rec_idou"), r.c.jumin_date.label("_rec_jumin"),
                   r.c.shori_date.label("_rec_shori"))
            .select_from(snap)
            .outerjoin(r, and_(r.c.atena_no == snap.c.atena_no, r.c.rireki_no == snap.c._kisai_rireki))
            .order_by(snap.c.atena_no))


def read_arrow(engine: Engine, stmt) -> pa.Table | None:
    """PostgreSQL: the statement's result straight into Arrow through ADBC (no Python object per value).
    None elsewhere: SQLite stays on Python's sqlite3 (a second SQLite library in one process would not see
    the other's locks; store/bulk_job.py keeps ADBC-SQLite in a child for that reason)."""
    if engine.dialect.name != "postgresql":
        return None
    import adbc_driver_postgresql.dbapi as adbc
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    uri = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def fetch(engine: Engine, as_of: dt.date, batch: int = 100_000) -> pa.Table:
    """The query's rows as one Arrow table (PostgreSQL: ADBC; SQLite: fetched in batches, converted column
    by column)."""
    stmt = _snapshot_query(as_of)
    direct = read_arrow(engine, stmt)
    if direct is not None:
        return direct
    parts: list[pa.Table] = []
    with engine.connect() as conn:
        res = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        names = list(res.keys())
        while True:
            rows = res.fetchmany(batch)
            if not rows:
                break
            cols = list(zip(*rows))
            parts.append(pa.table({n: _arrow(c) for n, c in zip(names, cols)}))
    if not parts:
        return pa.table({n: pa.array([], pa.string()) for n in names})
    return pa.concat_tables(parts, promote_options="permissive")


def _arrow(values: tuple) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):   # dates as date objects and as text (SQLite subqueries)
        return pa.array([v.isoformat() if isinstance(v, dt.date) else v for v in values])


# ------------------------------------------------------------------ criteria
class Ctx:
    """Columns of the candidates as numpy arrays, and the rule's parameters."""

    def __init__(self, tbl: pa.Table, rule: RosterRule, as_of: dt.date):
        self.n = tbl.num_rows
        self.tbl = tbl
        self.rule = rule
        self.as_of = np.full(self.n, np.datetime64(as_of, "D"))
        col = lambda c: (tbl[c].to_numpy().astype(object) if c in tbl.column_names  # noqa: E731
                         else np.full(self.n, None, dtype=object))
        self.text = col
        day = lambda c: P.to_days(tbl[c].combine_chunks()) if c in tbl.column_names else np.full(self.n, P.NAT)  # noqa: E731
        self.day = day
        lit = col("birth_date_wareki")
        lit = np.where(lit == None, col("birth_date_literal"), lit)  # noqa: E711 - elementwise
        self.birth, self.birth_note = P.effective_birth(day("birth_date"), lit, rule.unknown_birth)
        self.resident = np.asarray(col("_resident"), dtype=np.int64) == 1
        self.shubetsu = col("jumin_shubetsu")
        self.shojo_jiyu = col("shojo_jiyu")
        self.shojo_date = day("shojo_date")
        self.record_start, self.record_note = self._record_start(col, day)
        self.extra: dict[str, np.ndarray] = {}

    def _record_start(self, col, day) -> tuple[np.ndarray, np.ndarray]:
        """公職選挙法 第21条第1項: 住民票が作成された日 (第22条の転入届は届出をした日)."""
        jiyu = col("_rec_jiyu")
        todoke, idou, jumin, shori = day("_rec_todoke"), day("_rec_idou"), day("_rec_jumin"), day("_rec_shori")
        snap_jumin = day("jumin_date")
        tennyu = np.isin(jiyu, TENNYU)
        carry = np.isin(jiyu, CARRY_OVER)
        none = jiyu == None  # noqa: E711
        start = np.where(tennyu, np.where(np.isnat(todoke), idou, todoke),
                         np.where(carry, np.where(np.isnat(jumin), idou, jumin),
                                  np.where(none, snap_jumin, np.where(np.isnat(shori), idou, shori))))
        note = np.full(self.n, "", dtype=object)
        note[tennyu & np.isnat(todoke)] = "転入の届出日なし: 異動日で判定"
        note[none] = "記載の異動なし: 住民となった年月日で判定"
        return start, note


def _join(a: np.ndarray, b: np.ndarray, sep: str = "／") -> np.ndarray:
    a, b = a.astype(object), b.astype(object)
    both = (a != "") & (b != "")
    return np.where(both, a + sep + b, np.where(a != "", a, b))


def _map(values: np.ndarray, fn: Callable) -> np.ndarray:
    """``fn`` over the distinct values only (a handful of codes), spread back to every person."""
    if not len(values):
        return _blank(0)
    enc = pa.array(values.tolist() if values.dtype == object else values.astype(str), pa.string()) \
        .fill_null("").dictionary_encode()
    mapped = np.array([fn(u) for u in enc.dictionary.to_pylist()], dtype=object)
    return mapped[enc.indices.to_numpy(zero_copy_only=False)]


def _blank(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def _age_unknown(c: Ctx) -> np.ndarray:
    return np.isnat(c.birth)


def crit_resident(c: Ctx, spec: dict, on: np.ndarray):
    names = load_code_table("shojo_jiyu").codes
    why = _map(c.shojo_jiyu, lambda j: f"消除（{names.get(j, j)}）" if j else "住民でない（住民状態）")
    return c.resident, np.where(c.resident, "", why), _blank(c.n)


def crit_shubetsu(c: Ctx, spec: dict, on: np.ndarray):
    ok = np.isin(c.shubetsu, [str(v) for v in spec["values"]])
    return ok, np.where(ok, "", spec.get("reason") or "住民種別が対象外"), _blank(c.n)


def crit_age_at_least(c: Ctx, spec: dict, on: np.ndarray):
    age = int(spec["age"])
    reach = P.reach_age(c.birth, age)
    ok = ~np.isnat(reach) & (reach <= on)
    out = np.where(_age_unknown(c), "生年月日不詳（判定不能）",
                   "年齢未満（" + str(age) + "歳到達 " + P.iso(reach).astype(object) + "）")
    inn = str(age) + "歳以上（到達 " + P.iso(reach).astype(object) + "）"
    return ok, np.where(ok, "", out), np.where(ok, inn, "")


def crit_recorded_months(c: Ctx, spec: dict, on: np.ndarray):
    months = int(spec["months"])
    start = c.record_start
    end = P.period_end(start + P.DAY, months)           # 初日不算入 (民法 第140条)
    ok = ~np.isnat(end) & (end <= on)
    out = np.where(np.isnat(start), "記録開始日不明（判定不能）",
                   f"転入後{months}か月未満（記録 " + P.iso(start).astype(object) + f"、{months}か月経過 "
                   + P.iso(end).astype(object) + "）")
    inn = f"引き続き{months}か月以上記録（" + P.iso(start).astype(object) + " から）"
    inn = _join(inn, c.record_note, "; ")
    return ok, np.where(ok, "", out), np.where(ok, inn, "")


def crit_school_age(c: Ctx, spec: dict, on: np.ndarray):
    """学校教育法 第17条: 学年 = 基準日の年度 − 満6歳に達した日の年度 (1〜9; 0 = 就学予定者)."""
    reach6 = P.reach_age(c.birth, int(spec.get("first_grade_age", 6)))
    grade = P.fiscal_year(on) - P.fiscal_year(reach6)
    lo = 0 if spec.get("include_next_year") else 1
    ok = ~np.isnat(reach6) & (grade >= lo) & (grade <= int(spec.get("grades", 9)))
    names = c.rule.grade_names
    label = _map(np.where(ok, grade, -1), lambda g: names.get(int(g), f"{g}年"))
    c.extra["学年"] = np.where(ok, label, "")
    out = np.where(np.isnat(reach6), "生年月日不詳（判定不能）",
                   np.where(grade < lo, "学齢未満", "学齢超過（" + np.where(np.isnat(reach6), "", P.iso(reach6)).astype(object) + " に満6歳）"))
    inn = "学齢（" + c.extra["学年"] + "; 満6歳到達 " + P.iso(reach6).astype(object) + "）"
    return ok, np.where(ok, "", out), np.where(ok, inn, "")


def crit_age_reached_in_window(c: Ctx, spec: dict, on: np.ndarray):
    # The window is the one that contains the 基準日: it starts on the latest from-date on or before it
    # (from 04-01: the 年度 of the 基準日; a January ceremony belongs to the 年度 begun the April before).
    fm, fd = (int(x) for x in spec["window"]["from"].split("-"))
    tm, td = (int(x) for x in spec["window"]["to"].split("-"))
    oy, om, od = P.ymd(on)
    fy = np.where((om > fm) | ((om == fm) & (od >= fd)), oy, oy - 1)
    w_from = P.from_ymd(fy, np.full(c.n, fm), np.full(c.n, fd))
    w_to = P.from_ymd(np.where((tm, td) < (fm, fd), fy + 1, fy), np.full(c.n, tm), np.full(c.n, td))
    ok = np.zeros(c.n, bool)
    age_col = np.full(c.n, "", dtype=object)
    kubun = np.full(c.n, "", dtype=object)
    inn = _blank(c.n)
    for age, name in sorted((int(a), n) for a, n in spec["ages"].items()):   # a few ages, not persons
        reach = P.reach_age(c.birth, age)
        hit = ~np.isnat(reach) & (reach >= w_from) & (reach <= w_to) & ~ok
        ok |= hit
        age_col[hit] = str(age)
        kubun[hit] = name
        inn = np.where(hit, f"{age}歳到達 " + P.iso(reach).astype(object) + f"（{name}）", inn)
    c.extra["年齢"], c.extra["区分"] = age_col, kubun
    rng = P.iso(w_from).astype(object) + " から " + P.iso(w_to).astype(object)
    out = np.where(_age_unknown(c), "生年月日不詳（判定不能）", "期間内に対象年齢に達しない（" + rng + "）")
    return ok, np.where(ok, "", out), inn


CRITERIA: dict[str, Callable] = {
    "resident": crit_resident, "shubetsu": crit_shubetsu, "age_at_least": crit_age_at_least,
    "recorded_months": crit_recorded_months, "school_age": crit_school_age,
    "age_reached_in_window": crit_age_reached_in_window,
}


def _evaluate(c: Ctx, criteria, on: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = np.ones(c.n, bool)
    out, inn = _blank(c.n), _blank(c.n)
    for spec in criteria:
        k_ok, k_out, k_in = CRITERIA[spec["kind"]](c, spec, on)
        ok &= k_ok
        out, inn = _join(out, k_out), _join(inn, k_in)
    return ok, out, inn


def _after_removal(c: Ctx, spec: dict, judge: np.ndarray, reason: np.ndarray) -> None:
    """公職選挙法 第27条・第28条: 転出者は表示 (4か月経過まで)、死亡・国籍喪失は抹消."""
    display = np.isin(c.shojo_jiyu, [str(j) for j in spec.get("display_jiyu", ())]) & ~c.resident
    # Was the person entitled on the last day as a resident (the day before the 消除日)?
    on = c.shojo_date - P.DAY
    others = [s for s in c.rule.criteria if s["kind"] != "resident"]
    ok_then, out_then, _ = _evaluate(c, others, on)
    end = P.period_end(c.shojo_date + P.DAY, int(spec["months"]))
    shown = display & ok_then & ~np.isnat(c.shojo_date) & (c.as_of <= end)
    erased = display & ok_then & ~np.isnat(c.shojo_date) & (c.as_of > end)
    judge[shown] = DISPLAYED
    reason[shown] = ("表示（転出 " + P.iso(c.shojo_date).astype(object) + "、" + str(spec["months"]) + "か月経過 "
                     + P.iso(end).astype(object) + " まで）")[shown]
    reason[erased] = ("抹消（転出後" + str(spec["months"]) + "か月経過 " + P.iso(end).astype(object) + "）")[erased]
    for jiyu, what in (spec.get("erase_jiyu") or {}).items():
        gone = ~c.resident & (c.shojo_jiyu == str(jiyu))
        reason[gone] = f"抹消（{what}）"
    not_then = display & ~ok_then & ~np.isnat(c.shojo_date)
    reason[not_then] = ("消除（転出）; 転出時に登録要件なし: " + out_then.astype(object))[not_then]
    reason[display & np.isnat(c.shojo_date)] = "消除（転出）; 消除日不詳のため表示・抹消を判定できません（要確認）"


def _lookup(c: Ctx, rule: RosterRule) -> tuple[np.ndarray, ...]:
    codes = pa.array(c.text("jusho_code").tolist(), pa.string()).fill_null("")
    outs: list[np.ndarray] = []
    notes = _blank(c.n)
    for lk in rule.lookups:
        vals = [np.full(c.n, "", dtype=object) for _ in lk.columns]
        found = np.zeros(c.n, bool)
        for length in sorted({len(k) for k in lk.rows}, reverse=True):   # longest prefix wins
            keys = [k for k in lk.rows if len(k) == length]
            idx = pc.index_in(pc.utf8_slice_codeunits(codes, 0, length), value_set=pa.array(keys, pa.string()))
            idx = idx.to_numpy(zero_copy_only=False)
            hit = ~np.isnan(idx.astype(float)) & ~found
            pos = np.where(hit, np.nan_to_num(idx.astype(float)), 0).astype(np.int64)
            for j, v in enumerate(vals):
                table_col = np.array([lk.rows[k][j] for k in keys], dtype=object)
                v[hit] = table_col[pos[hit]]
            found |= hit
        notes = _join(notes, np.where(found, "", f"{lk.table} に住所コードなし（要確認）"))
        outs.extend(vals)
    return tuple(outs), notes


def _as_of(value: dt.date | str) -> dt.date:
    try:
        as_of = juki.parse_date(value)
    except ValueError as exc:          # e.g. 20241399: digits that are no date
        raise RosterError(f"基準日が日付として読めません: {value!r} ({exc})") from None
    if as_of is None:
        raise RosterError("基準日 (--as-of YYYY-MM-DD) が必要です")
    return as_of


def iter_judged(engine: Engine, names: list[str], as_of: dt.date | str) -> Iterator[RosterResult]:
    """Several rosters on one 基準日 from one query, one at a time: a caller that only counts (名簿レポート)
    holds one roster's result at a time, not all of them."""
    as_of = _as_of(as_of)
    rules = [load_rule(n) for n in names]          # every name checked before the query runs
    tbl = fetch(engine, as_of)
    for r in rules:
        yield _judge(tbl, r, as_of, engine)


def compute_all(engine: Engine, names: list[str], as_of: dt.date | str) -> dict[str, RosterResult]:
    """Several rosters on one 基準日 from one query (they read the same snapshot)."""
    return {r.rule.name: r for r in iter_judged(engine, names, as_of)}


def compute(engine: Engine, name: str, as_of: dt.date | str) -> RosterResult:
    rule = load_rule(name)
    as_of = _as_of(as_of)
    return _judge(fetch(engine, as_of), rule, as_of, engine)


def _judge(tbl: pa.Table, rule: RosterRule, as_of: dt.date, engine: Engine | None = None) -> RosterResult:
    c = Ctx(tbl, rule, as_of)
    c.engine, c.on_date = engine, as_of        # for the kinds over other 業務' tables (sources.py)
    ok, out, inn = _evaluate(c, rule.criteria, c.as_of)
    judge = np.where(ok, LISTED, OUT).astype(object)
    reason = np.where(ok, inn, out).astype(object)
    if rule.after_removal:
        _after_removal(c, rule.after_removal, judge, reason)
    reason = _join(reason, np.where(c.birth_note != "", c.birth_note, ""), "; ")
    uncertain = np.asarray(c.text("_date_uncertain"), dtype=object)
    uncertain = (uncertain == True) | (uncertain == 1)  # noqa: E712 - SQLite 0/1, PostgreSQL bool
    reason = _join(reason, np.where(uncertain, "異動日不詳の履歴: 基準日の状態は不確か（要確認）", ""), "; ")
    lookups, lk_notes = _lookup(c, rule)
    reason = np.where(judge != OUT, _join(reason, lk_notes, "; "), reason)
    derived = dict(zip([col for lk in rule.lookups for col in lk.columns], lookups))
    derived.update({k: np.where(judge == OUT, "", v) for k, v in c.extra.items()})   # 学年/年齢 only when listed
    isl = get_table(juki.JUMIN)
    names = {col.name: col.item.name for col in isl.columns if col.item is not None and col.role != "literal"}
    names.update({f"{it.id}_literal": f"{it.name}（記載どおり）" for it in isl.items if it.type == "wareki_date"})
    data: dict[str, pa.Array] = {}
    headers: list[str] = []
    for col in rule.columns:
        if col in derived:
            data[col] = pa.array(derived[col].tolist(), pa.string())
            headers.append(col)
        elif col in tbl.column_names:
            arr = tbl[col].combine_chunks()
            data[col] = P_to_date(arr) if col.endswith("_date") else arr.cast(pa.string())
            headers.append(names.get(col, col))
        else:
            raise RosterError(f"{rule.path}: columns の {col!r} は住民の項目にも導出項目にもありません")
    data["判定生年月日"] = pa.array(c.birth, pa.date32())
    headers.append("判定に用いた生年月日")
    data["判定"] = pa.array(judge.tolist(), pa.string())
    data["理由"] = pa.array(reason.tolist(), pa.string())
    headers += ["判定", "理由"]
    return RosterResult(rule, as_of, pa.table(data), headers)


def P_to_date(arr: pa.Array) -> pa.Array:  # noqa: N802 - a small local helper
    return pa.array(P.to_days(arr), pa.date32())


def _register_gyomu_kinds() -> None:
    """The kinds over the other 業務' tables live in sources.py (国保・後期・介護 資格, 避難行動要支援者)."""
    from kikan_hub.modules.rosters import sources
    CRITERIA.update(sources.KINDS)


_register_gyomu_kinds()
