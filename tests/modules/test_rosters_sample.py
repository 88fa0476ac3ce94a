"""The rosters of `kikan sample` rehearsed into a store equal a reference computed here, person by
person with plain ``datetime`` arithmetic, from the generator's ground truth (truth/jumin.parquet:
the canonical rows the store must hold) — a second, independent reading of the same law."""
from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections import defaultdict

import pyarrow.parquet as pq
import pytest

from kikan_hub.modules.rosters import compute_all
from modhelpers import rehearse_sample

ERAS = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
KISAI = {"11", "12", "13", "14", "15", "16", "17", "18", "19"}


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    engine, out = rehearse_sample(tmp_path_factory.mktemp("rosters"), residents=1500, seed=14)
    truth = defaultdict(list)
    for r in pq.read_table(out / "truth" / "jumin.parquet").to_pylist():
        truth[r["atena_no"]].append(r)
    return engine, truth


def end_of_period(start: dt.date, months: int) -> dt.date:
    """民法 第143条: the day before the corresponding day; the month's last day when there is none."""
    y, m = divmod(start.month - 1 + months, 12)
    y += start.year
    m += 1
    last = calendar.monthrange(y, m)[1]
    if start.day > last:
        return dt.date(y, m, last)
    return dt.date(y, m, start.day) - dt.timedelta(days=1)


def reach(birth: dt.date, age: int) -> dt.date:
    return end_of_period(birth, 12 * age)


def fy(d: dt.date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def birth_of(r: dict) -> dt.date | None:
    """The documented 不詳 policy: 日不詳 → the month's last day, 月不詳 → 12月31日, 年不詳 → none."""
    if r["birth_date"] is not None:
        return r["birth_date"]
    s = unicodedata.normalize("NFKC", r["birth_date_literal"] or "")
    m = re.match(r"(明治|大正|昭和|平成|令和)(元|\d+)年(?:(\d+)月)?", s)
    if m:
        y = ERAS[m.group(1)] + (1 if m.group(2) == "元" else int(m.group(2))) - 1
        month = int(m.group(3)) if m.group(3) else 12
        return dt.date(y, month, calendar.monthrange(y, month)[1])
    m = re.fullmatch(r"([1-5])(\d\d)(\d\d)(\d\d)", s)          # era code + YYMMDD, e.g. 2/29 of a common year
    if m and int(m.group(2)):
        y = list(ERAS.values())[int(m.group(1)) - 1] + int(m.group(2)) - 1
        month = int(m.group(3)) or 12
        return dt.date(y, month, min(int(m.group(4)) or 31, calendar.monthrange(y, month)[1]))
    return None


def snapshot(rows: list[dict], on: dt.date) -> tuple[dict | None, dict | None]:
    """(row in effect on ``on``, the 記載 row that opened its record)."""
    live = [r for r in rows if r["idou_date"] is not None and r["idou_date"] <= on]
    if not live:
        return None, None
    cur = max(live, key=lambda r: r["rireki_no"])
    opened = [r for r in rows if r["rireki_no"] <= cur["rireki_no"] and r["idou_jiyu"] in KISAI]
    return cur, (max(opened, key=lambda r: r["rireki_no"]) if opened else None)


def record_start(cur: dict, opened: dict | None) -> dt.date | None:
    if opened is None:
        return cur["jumin_date"]
    if opened["idou_jiyu"] in ("11", "12"):
        return opened["todokede_date"] or opened["idou_date"]
    if opened["idou_jiyu"] in ("14", "17", "18"):
        return opened["jumin_date"] or opened["idou_date"]
    return opened["shori_date"] or opened["idou_date"]


def resident(r: dict) -> bool:
    return not r["shojo_jiyu"] and r["jumin_jotai"] == "1"


def elector(cur: dict, opened: dict | None, on: dt.date) -> bool:
    b, start = birth_of(cur), record_start(cur, opened)
    return (cur["jumin_shubetsu"] == "1" and b is not None and reach(b, 18) <= on
            and start is not None and end_of_period(start + dt.timedelta(days=1), 3) <= on)


def reference(truth: dict, name: str, on: dt.date) -> dict[str, tuple]:
    out = {}
    for atena, rows in truth.items():
        cur, opened = snapshot(rows, on)
        if cur is None:
            continue
        b = birth_of(cur)
        verdict, extra = "対象外", ""
        if name == "senkyo":
            if resident(cur) and elector(cur, opened, on):
                verdict = "掲載"
            elif (not resident(cur) and cur["shojo_jiyu"] in ("21", "22")
                  and elector(cur, opened, cur["shojo_date"] - dt.timedelta(days=1))
                  and on <= end_of_period(cur["shojo_date"] + dt.timedelta(days=1), 4)):
                verdict = "表示"
        elif name == "gakureibo":
            if resident(cur) and cur["jumin_shubetsu"] == "1" and b is not None:
                grade = fy(on) - fy(reach(b, 6))
                if 0 <= grade <= 9:
                    verdict, extra = "掲載", ("就学予定" if grade == 0 else ("小" if grade <= 6 else "中") + str(grade if grade <= 6 else grade - 6))
        else:
            ages = (77, 88, 99, 100) if name == "keiro" else (20,)
            if resident(cur) and b is not None:
                hit = [a for a in ages if fy(reach(b, a)) == fy(on)]
                if hit:
                    verdict, extra = "掲載", str(hit[0])
        out[atena] = (verdict, extra)
    return out


@pytest.mark.parametrize("on", [dt.date(2016, 4, 1), dt.date(2020, 9, 1), dt.date(2023, 4, 2), dt.date(2024, 3, 31)])
def test_sample_rosters_equal_reference(rehearsed, on):
    engine, truth = rehearsed
    rosters = compute_all(engine, ["senkyo", "gakureibo", "keiro", "seijin"], on)   # one query, four rule files
    for name, extra_col in (("senkyo", None), ("gakureibo", "学年"), ("keiro", "年齢"), ("seijin", "年齢")):
        r = rosters[name]
        extras = r.table[extra_col].to_pylist() if extra_col else [""] * r.table.num_rows
        got = dict(zip(r.table["atena_no"].to_pylist(), zip(r.table["判定"].to_pylist(), extras)))
        want = reference(truth, name, on)
        diff = {a: (got.get(a), want.get(a)) for a in set(got) | set(want) if got.get(a) != want.get(a)}
        assert not diff, (name, on, sorted(diff.items())[:10])
        listed = sum(1 for v in want.values() if v[0] != "対象外")
        assert listed > (0 if name in ("keiro", "seijin") else 10), (name, on)
        SEEN[name, "listed"] += listed
        SEEN[name, "表示"] += sum(1 for v in want.values() if v[0] == "表示")
        SEEN[name, "不詳"] += sum(1 for a, v in want.items() if v[0] != "対象外" and truth[a][0]["birth_date"] is None)


SEEN: dict = defaultdict(int)


def test_sample_covered_the_edge_cases():
    """The dates above did meet 転出者 shown (表示) and 不詳 births judged by the policy (runs after them)."""
    assert SEEN["senkyo", "表示"] > 0 and SEEN["senkyo", "不詳"] > 0 and SEEN["keiro", "listed"] > 0, dict(SEEN)
