"""Ground truth of the divisions' rosters, computed from the sample's truth — independently of
kikan_hub.modules.rosters (no import of it, no shared helper): plain ``datetime`` arithmetic over the
canonical rows, written from the statutes.

    roster_truth(truth_dir, name, as_of) -> pyarrow.Table   # atena_no, 判定 (掲載 / 表示), 区分, 根拠
    write_roster_truth(truth_dir, dates) -> [paths]          # truth_dir/rosters/<name>_<YYYY-MM-DD>.parquet

``truth_dir`` is a sample's ``truth/``: ``jumin.parquet`` (住民記録, every row that must load) for every
roster, and ``gyomu/<table_id>.parquet`` (the city sample's canonical 業務 rows) for hinan, kokuho, kouki
and kaigo. Only listed persons are rows (掲載; 選挙人名簿 also 表示).

The law, as applied here:
- 年齢計算ニ関スル法律 ①② + 民法 第143条: age N is reached at the end of the day before the N-th
  birthday; born 2月29日 and no such day that year: on 2月28日 (the month's last day).
- 生年月日不詳 (the rule files' documented policy, ``unknown_birth: {day: last, month: last}``): 日不詳 →
  the month's last day, 月不詳 → 12月31日, a day the calendar lacks (2月29日 of a common year) → the
  month's last day; 年不詳 → no age, never listed.
- The state on a date: of a person's rows, the one with the largest 履歴番号 whose 異動日 is on or
  before the date (an event dated D is in effect on D: 死亡・転出 on the 基準日 → not a resident).
- 選挙人名簿: 公職選挙法 第9条第2項・第21条第1項 — 日本国民, 満18歳, 住民票が作成された日 (転入は
  住民基本台帳法 第22条の届出をした日) から引き続き3か月以上 (民法 第140条 初日不算入, 第143条);
  第27条第1項 表示 (住所を有しなくなった選挙人), 第28条 抹消 (死亡; 住所を有しなくなった日後4か月).
- 学齢簿: 学校教育法 第17条第1項・第2項 — from the first 学年 (4月1日〜3月31日) beginning on or after
  the day after the 6th birthday's eve, to the end of the 学年 containing the day one reaches 15;
  学校教育法施行令 第2条 就学予定者 (the coming 学年's first graders) too. 日本国民 only (就学義務).
- 敬老寿賀: the city's ages 77/88/99/100 reached in the 年度 (4月1日〜3月31日) of the 基準日.
- 成人の祝賀式: the 20th birthday from 4月2日 of the 年度's year to 4月1日 of the next.
- 避難行動要支援者 (the city's criteria, 災害対策基本法 第49条の10): 要介護3〜5 (the 認定 in effect: the
  latest one whose 有効期間 contains the date, 結果 認定), 身体障害者手帳 1・2級, 療育手帳 A, 精神障害者
  保健福祉手帳 1級 (the 手帳's latest history row on the date, not 返還, not expired), or 75歳以上 alone in
  the household (the only resident of the 世帯 on the date).
- 国保 (国民健康保険法 第7条・第8条), 後期 (高齢者の医療の確保に関する法律 第52条・第53条), 介護 (介護保険法
  第10条・第11条): a 資格 row with 取得日 ≤ D < 喪失日 (the 喪失日 is the first day without: 住所を有し
  なくなった日の翌日 …), and a resident on D.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

NAMES = ("senkyo", "gakureibo", "keiro", "seijin", "hinan", "kokuho", "kouki", "kaigo")
SCHEMA = pa.schema([("atena_no", pa.string()), ("判定", pa.string()), ("区分", pa.string()), ("根拠", pa.string())])
KEIRO_AGES = {77: "喜寿", 88: "米寿", 99: "白寿", 100: "百寿"}      # the sample city's 敬老事業要綱
KISAI = {"11", "12", "13", "14", "15", "16", "17", "18", "19"}      # 記載の異動事由 (codes/idou_jiyu.yaml)
TENNYU = {"11", "12"}                                                # 住民基本台帳法 第22条の転入届
CONTINUED = {"14", "17", "18"}                                       # 帰化等・改製・再製: the record goes on
TENSHUTSU = {"21", "22"}                                             # 国内・国外転出: 住所を有しなくなった
HENKAN = {"11", "12", "13", "19"}                                    # 手帳の返還 (codes/techo_ido_jiyu.yaml)
GRADES = {0: "就学予定", 1: "小1", 2: "小2", 3: "小3", 4: "小4", 5: "小5", 6: "小6", 7: "中1", 8: "中2", 9: "中3"}
ERA_START = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
ERA_CODE = {"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}
QUALIFICATION = {"kokuho": "kokuho_hihokensha", "kouki": "koki_hihokensha", "kaigo": "kaigo_hihokensha"}
DAY = dt.timedelta(days=1)


# ------------------------------------------------------------------ dates
def birthday(birth: dt.date, years: int) -> dt.date | None:
    """The ``years``-th birthday, None when the calendar lacks it (2月29日 in a common year)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return None


def reached(birth: dt.date, years: int) -> dt.date:
    """The day one reaches ``years`` (the eve of the birthday; 2月28日 for a 2月29日 birth in a common year)."""
    b = birthday(birth, years)
    return b - DAY if b else dt.date(birth.year + years, 2, 28)


def months_end(first_day: dt.date, months: int) -> dt.date:
    """民法 第143条第2項: a period of months counted from ``first_day`` ends the day before the
    corresponding day of the last month, or that month's last day when it has none."""
    y, m = first_day.year + (first_day.month - 1 + months) // 12, (first_day.month - 1 + months) % 12 + 1
    if first_day.day > calendar.monthrange(y, m)[1]:
        return dt.date(y, m, calendar.monthrange(y, m)[1])
    return dt.date(y, m, first_day.day) - DAY


def nendo(d: dt.date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def effective_birth(row: dict) -> dt.date | None:
    """生年月日, or the documented choice for a 不詳 one (module docstring); None for 年不詳."""
    if row.get("birth_date") is not None:
        return row["birth_date"]
    text = unicodedata.normalize("NFKC", row.get("birth_date_wareki") or row.get("birth_date_literal") or "").strip()
    m = re.match(r"(明治|大正|昭和|平成|令和)(元|\d+)年(?:(\d+)月)?(?:(\d+)日)?", text)
    if m:
        year = ERA_START[m.group(1)] - 1 + (1 if m.group(2) == "元" else int(m.group(2)))
        month, day = int(m.group(3) or 0), int(m.group(4) or 0)
    else:
        m = re.fullmatch(r"([1-5])(\d\d)(\d\d)(\d\d)", text)   # era code + YYMMDD, 00 = unknown
        if not m or not int(m.group(2)):
            return None
        year = ERA_START[ERA_CODE[m.group(1)]] - 1 + int(m.group(2))
        month, day = int(m.group(3)), int(m.group(4))
    if not month:
        return dt.date(year, 12, 31)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, day if 0 < day <= last else last)


# ------------------------------------------------------------------ 住民記録
class Register:
    """The persons of truth/jumin.parquet: their rows by 履歴番号."""

    def __init__(self, truth_dir: Path):
        cols = ["atena_no", "rireki_no", "setai_no", "jumin_shubetsu", "jumin_jotai", "birth_date", "birth_date_literal",
                "idou_jiyu", "idou_date", "todokede_date", "jumin_date", "shori_date", "shojo_jiyu", "shojo_date"]
        path = Path(truth_dir) / "jumin.parquet"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the 住民記録 truth (kikan sample writes it) is missing")
        self.rows: dict[str, list[dict]] = defaultdict(list)
        for r in pq.read_table(path, columns=cols).to_pylist():
            self.rows[r["atena_no"]].append(r)
        for rows in self.rows.values():
            rows.sort(key=lambda r: r["rireki_no"])

    def state(self, atena: str, on: dt.date) -> tuple[dict | None, dict | None]:
        """(the row in effect on ``on``, the 記載 row that began the record it belongs to)."""
        cur, opened = None, None
        for r in self.rows[atena]:
            if r["idou_date"] is not None and r["idou_date"] <= on:
                if cur is None or r["rireki_no"] > cur["rireki_no"]:
                    cur = r
        if cur is None:
            return None, None
        for r in self.rows[atena]:
            if r["rireki_no"] <= cur["rireki_no"] and r["idou_jiyu"] in KISAI:
                opened = r
        return cur, opened

    def residents(self, on: dt.date) -> dict[str, dict]:
        out = {}
        for atena in self.rows:
            cur, _ = self.state(atena, on)
            if cur is not None and is_resident(cur):
                out[atena] = cur
        return out


def is_resident(row: dict) -> bool:
    return not row["shojo_jiyu"] and row["jumin_jotai"] == "1"


def record_began(cur: dict, opened: dict | None) -> dt.date | None:
    """公職選挙法 第21条第1項: the day the 住民票 was made — for a 転入, the day of the 届出."""
    if opened is None:
        return cur["jumin_date"]
    if opened["idou_jiyu"] in TENNYU:
        return opened["todokede_date"] or opened["idou_date"]
    if opened["idou_jiyu"] in CONTINUED:
        return opened["jumin_date"] or opened["idou_date"]
    return opened["shori_date"] or opened["idou_date"]


def elector(cur: dict, opened: dict | None, on: dt.date) -> str | None:
    """The reason one is an elector on ``on`` (resident state assumed), or None."""
    birth, began = effective_birth(cur), record_began(cur, opened)
    if cur["jumin_shubetsu"] != "1" or birth is None or began is None or reached(birth, 18) > on:
        return None
    three = months_end(began + DAY, 3)
    return f"18歳 {reached(birth, 18)}; 記録 {began} から3か月 {three}" if three <= on else None


# ------------------------------------------------------------------ the rosters
def _senkyo(reg: Register, on: dt.date, _truth) -> list[tuple]:
    out = []
    for atena in reg.rows:
        cur, opened = reg.state(atena, on)
        if cur is None:
            continue
        if is_resident(cur):
            why = elector(cur, opened, on)
            if why:
                out.append((atena, "掲載", "", why))
        elif cur["shojo_jiyu"] in TENSHUTSU and cur["shojo_date"] is not None:
            left = cur["shojo_date"]
            then, then_opened = reg.state(atena, left - DAY)
            why = then is not None and is_resident(then) and elector(then, then_opened, left - DAY)
            until = months_end(left + DAY, 4)          # 第28条第2号: 住所を有しなくなった日後4か月
            if why and on <= until:
                out.append((atena, "表示", "", f"転出 {left}; 表示 {until} まで"))
    return out


def _gakureibo(reg: Register, on: dt.date, _truth) -> list[tuple]:
    out = []
    for atena, cur in reg.residents(on).items():
        birth = effective_birth(cur)
        if cur["jumin_shubetsu"] != "1" or birth is None:
            continue
        day_after_6 = reached(birth, 6) + DAY
        first = dt.date(day_after_6.year if day_after_6 <= dt.date(day_after_6.year, 4, 1) else day_after_6.year + 1, 4, 1)
        last = dt.date(nendo(reached(birth, 15)) + 1, 3, 31)
        grade = nendo(on) - first.year + 1
        if first <= on <= last or grade == 0:
            out.append((atena, "掲載", GRADES[grade], f"学齢 {first} 〜 {last}"))
    return out


def _keiro(reg: Register, on: dt.date, _truth) -> list[tuple]:
    out = []
    for atena, cur in reg.residents(on).items():
        birth = effective_birth(cur)
        for age, name in KEIRO_AGES.items():
            if birth is not None and nendo(reached(birth, age)) == nendo(on):
                out.append((atena, "掲載", str(age), f"{age}歳 {reached(birth, age)} ({name})"))
                break
    return out


def _seijin(reg: Register, on: dt.date, _truth) -> list[tuple]:
    out = []
    lo, hi = dt.date(nendo(on), 4, 2), dt.date(nendo(on) + 1, 4, 1)
    for atena, cur in reg.residents(on).items():
        birth = effective_birth(cur)
        b20 = birthday(birth, 20) if birth else None
        if b20 is None and birth is not None:
            b20 = dt.date(birth.year + 20, 3, 1)       # 2月29日 births: reached on 2月28日, as in every year
        if b20 is not None and lo <= b20 <= hi:
            out.append((atena, "掲載", "20", f"20歳の誕生日 {b20}"))
    return out


def _gyomu(truth_dir: Path, table: str, cols: list[str]) -> list[dict]:
    path = Path(truth_dir) / "gyomu" / f"{table}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the city sample's {table} truth is missing (kikan sample --city)")
    t = pq.read_table(path)
    return t.select([c for c in cols if c in t.column_names]).to_pylist()


def _qualified(truth_dir: Path, table: str, on: dt.date) -> dict[str, dt.date]:
    """宛名番号 → 取得日 of a 資格 in effect on ``on``."""
    out = {}
    for r in _gyomu(truth_dir, table, ["atena_no", "shutoku_date", "soshitsu_date"]):
        if r["shutoku_date"] is not None and r["shutoku_date"] <= on and (r.get("soshitsu_date") is None
                                                                         or r["soshitsu_date"] > on):
            out[r["atena_no"]] = max(out.get(r["atena_no"], r["shutoku_date"]), r["shutoku_date"])
    return out


def _qualification(name: str):
    def roster(reg: Register, on: dt.date, truth_dir: Path) -> list[tuple]:
        q = _qualified(truth_dir, QUALIFICATION[name], on)
        return [(a, "掲載", "", f"資格取得 {q[a]}") for a in reg.residents(on) if a in q]
    return roster


def _kaigo_3(truth_dir: Path, on: dt.date) -> set[str]:
    latest: dict[str, dict] = {}
    for r in _gyomu(truth_dir, "kaigo_nintei", ["atena_no", "nintei_rireki_no", "nintei_kekka", "yokaigo_jotai_kubun",
                                                 "yuko_kaishi_date", "yuko_shuryo_date"]):
        start, end = r.get("yuko_kaishi_date"), r.get("yuko_shuryo_date")
        if start is not None and start <= on and (end is None or on <= end):
            if r["atena_no"] not in latest or r["nintei_rireki_no"] > latest[r["atena_no"]]["nintei_rireki_no"]:
                latest[r["atena_no"]] = r
    return {a for a, r in latest.items() if r["nintei_kekka"] == "1" and r["yokaigo_jotai_kubun"] in ("23", "24", "25")}


def _techo(truth_dir: Path, on: dt.date) -> dict[str, str]:
    latest: dict[tuple, dict] = {}
    for r in _gyomu(truth_dir, "shogai_techo_techo", ["atena_no", "techo_shurui", "rireki_no", "ido_jiyu", "henkan_date",
                                                       "kofu_date", "shori_date", "yuko_kigen", "shintai_tokyu",
                                                       "ryoiku_hantei", "seishin_tokyu"]):
        day = r.get("henkan_date") or r.get("kofu_date") or r.get("shori_date")
        key = (r["atena_no"], r["techo_shurui"])
        if day is not None and day <= on and (key not in latest or r["rireki_no"] > latest[key]["rireki_no"]):
            latest[key] = r
    out: dict[str, str] = {}
    for (atena, kind), r in sorted(latest.items()):
        if r["ido_jiyu"] in HENKAN or (r.get("yuko_kigen") is not None and r["yuko_kigen"] < on):
            continue
        if (kind == "1" and r.get("shintai_tokyu") in ("1", "2")) or (kind == "2" and r.get("ryoiku_hantei") in ("A1", "A2")) \
                or (kind == "3" and r.get("seishin_tokyu") == "1"):
            out.setdefault(atena, f"手帳 {kind}")
    return out


def _hinan(reg: Register, on: dt.date, truth_dir: Path) -> list[tuple]:
    residents = reg.residents(on)
    household = defaultdict(int)
    for cur in residents.values():
        household[cur["setai_no"]] += 1
    kaigo, techo = _kaigo_3(truth_dir, on), _techo(truth_dir, on)
    out = []
    for atena, cur in residents.items():
        birth = effective_birth(cur)
        why = [w for w, hit in (("要介護3以上", atena in kaigo), (techo.get(atena, ""), atena in techo),
                                ("75歳以上の単身世帯", birth is not None and reached(birth, 75) <= on
                                 and household[cur["setai_no"]] == 1)) if hit]
        if why:
            out.append((atena, "掲載", "", "／".join(why)))
    return out


ROSTERS = {"senkyo": _senkyo, "gakureibo": _gakureibo, "keiro": _keiro, "seijin": _seijin, "hinan": _hinan,
           **{n: _qualification(n) for n in QUALIFICATION}}


def roster_truth(truth_dir: Path | str, name: str, as_of: dt.date | str, register: Register | None = None) -> pa.Table:
    """The listed persons of roster ``name`` on ``as_of`` (sorted by 宛名番号). ``register``: a loaded
    Register to reuse across calls (loading is most of the time)."""
    if name not in ROSTERS:
        raise ValueError(f"unknown roster {name!r} (known: {', '.join(NAMES)})")
    on = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    reg = register or Register(Path(truth_dir))
    rows = sorted(ROSTERS[name](reg, on, Path(truth_dir)))
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r)) for r in rows], schema=SCHEMA)


def write_roster_truth(truth_dir: Path | str, dates, names=NAMES) -> list[Path]:
    """truth_dir/rosters/<name>_<YYYY-MM-DD>.parquet for every roster and date (those whose 業務 truth
    exists: the 住民記録 ones always, hinan/kokuho/kouki/kaigo with truth_dir/gyomu/)."""
    truth_dir = Path(truth_dir)
    reg = Register(truth_dir)
    out_dir = truth_dir / "rosters"
    out_dir.mkdir(exist_ok=True)
    written = []
    for name in names:
        if name in ("hinan", *QUALIFICATION) and not (truth_dir / "gyomu").is_dir():
            continue
        for d in dates:
            on = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
            path = out_dir / f"{name}_{on.isoformat()}.parquet"
            pq.write_table(roster_truth(truth_dir, name, on, reg), path)
            written.append(path)
    return written
