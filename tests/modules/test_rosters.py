"""Rosters on crafted histories, SQLite and PostgreSQL. Every expected result is worked out by hand
in the comment beside it (the law, then the arithmetic) — never by calling the module."""
from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pyarrow.parquet as pq
import pytest

from kikan_hub.modules.rosters import compute
from kikan_hub.modules.rosters.output import write
from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade

from modhelpers import D, insert_rows, jumin_row

_n = iter(range(1, 10_000))


def person(rows: list, birth, *, shubetsu="1", tennyu=D(2000, 4, 1), todoke=None, literal=None, end=None,
           jusho_code=None, name="架空　太郎") -> str:
    """One person: a 転入 row (届出日 = ``todoke`` or the 異動日), optionally a 消除 row ``end=(code, date)``."""
    atena = f"{next(_n):010d}"
    common = dict(jumin_shubetsu=shubetsu, birth_date=birth, birth_date_literal=literal or (birth and birth.isoformat()),
                  birth_date_unknown=birth is None, jusho_code=jusho_code, shimei=name)
    rows.append(jumin_row(atena, 1, idou_jiyu="11", idou_date=tennyu, todokede_date=todoke or tennyu,
                          jumin_date=tennyu, shori_date=todoke or tennyu, **common))
    if end:
        code, day = end
        rows.append(jumin_row(atena, 2, idou_jiyu=code, idou_date=day, shojo_jiyu=code, shojo_date=day,
                              jumin_jotai={"23": "3"}.get(code, "2"), jumin_date=tennyu, shori_date=day, **common))
    return atena


def judged(engine, name, as_of) -> dict[str, tuple[str, str]]:
    r = compute(engine, name, as_of)
    return dict(zip(r.table["atena_no"].to_pylist(), zip(r.table["判定"].to_pylist(), r.table["理由"].to_pylist())))


@pytest.fixture
def engine(store_url):
    e = open_engine(store_url)
    upgrade(e)
    return e


def test_senkyo(engine):
    rows: list = []
    B = D(2024, 9, 1)   # 基準日
    # 年齢計算ニ関スル法律: one reaches 18 the day before the 18th birthday.
    age_on_b = person(rows, D(2006, 9, 2))        # birthday 9/2 → reaches 18 on 9/1 = 基準日 → 掲載
    birthday_b = person(rows, D(2006, 9, 1))      # birthday on the 基準日 → reached 8/31 → 掲載
    young = person(rows, D(2006, 9, 3))           # reaches 18 on 9/2 > 基準日 → 年齢未満
    # 第21条: 3 months from the 転入届 (初日不算入: from the next day; 民法 第143条: ends the day before the
    # corresponding day). 届出 6/1 → counts from 6/2 → ends 9/1 = 基準日 → 掲載; 届出 6/2 → ends 9/2 → 未満.
    exact = person(rows, D(1980, 1, 1), tennyu=D(2024, 6, 1), jusho_code="001010100")
    short = person(rows, D(1980, 1, 1), tennyu=D(2024, 6, 2))
    # moved in 5/20 but notified 6/5: the 届出日 counts → ends 9/5 → 未満
    late_notice = person(rows, D(1980, 1, 1), tennyu=D(2024, 5, 20), todoke=D(2024, 6, 5))
    foreign = person(rows, D(1980, 1, 1), shubetsu="2")                  # 外国人住民 → 対象外
    died_on_b = person(rows, D(1950, 1, 1), end=("23", B))               # 死亡 on the 基準日 → 抹消（死亡）
    left_on_b = person(rows, D(1950, 1, 1), end=("21", B))               # 転出 on B: 表示 until 4 months pass
    # 転出 4/30: 4 months from 5/1 end 8/31 < 基準日 → 抹消; 転出 5/1: from 5/2 end 9/1 = 基準日 → still 表示
    left_long = person(rows, D(1950, 1, 1), end=("21", D(2024, 4, 30)))
    left_4m = person(rows, D(1950, 1, 1), end=("21", D(2024, 5, 1)))
    # 日不詳 births: the documented choice is the month's last day (the day the age is certain).
    # 平成18年9月日不詳 → 2006-09-30 → reaches 18 on 2024-09-29 > 基準日 → 年齢未満 (the reason says so)
    day_unknown = person(rows, None, literal="平成18年9月日不詳")
    year_only = person(rows, None, literal="昭和１０年頃")    # → 1935-12-31 → long since 18 → 掲載
    no_year = person(rows, None, literal="年月日不詳")        # nothing to judge by → 対象外 判定不能
    future = person(rows, D(1980, 1, 1), tennyu=D(2024, 9, 2))  # not yet in the register on B: not a candidate
    # left 2024-03-01 and came back 2024-07-01: the record starts again at the new 転入届 → 3 months end
    # 2024-10-01 → 未満 (the years before the 転出 do not count: 引き続き)
    back = person(rows, D(1980, 1, 1), end=("21", D(2024, 3, 1)))
    rows.append(jumin_row(back, 3, idou_jiyu="11", idou_date=D(2024, 7, 1), todokede_date=D(2024, 7, 1),
                          jumin_date=D(2024, 7, 1), shori_date=D(2024, 7, 1), birth_date=D(1980, 1, 1)))
    insert_rows(engine, "juki_jumin", rows)

    got = judged(engine, "senkyo", B)
    assert got[age_on_b][0] == "掲載" and "到達 2024-09-01" in got[age_on_b][1]
    assert got[birthday_b][0] == "掲載"
    assert got[young] == ("対象外", "年齢未満（18歳到達 2024-09-02）")
    assert got[exact][0] == "掲載" and "2024-06-01" in got[exact][1]
    assert got[short][0] == "対象外" and "転入後3か月未満" in got[short][1] and "3か月経過 2024-09-02" in got[short][1]
    assert got[late_notice][0] == "対象外" and "記録 2024-06-05" in got[late_notice][1]
    assert got[foreign][0] == "対象外" and "外国人住民" in got[foreign][1]
    assert got[died_on_b] == ("対象外", "抹消（死亡）")
    assert got[left_on_b][0] == "表示" and "転出 2024-09-01" in got[left_on_b][1]
    assert got[left_long] == ("対象外", "抹消（転出後4か月経過 2024-08-31）")
    assert got[left_4m][0] == "表示" and "2024-09-01 まで" in got[left_4m][1]
    assert got[day_unknown][0] == "対象外" and "年齢未満（18歳到達 2024-09-29）" in got[day_unknown][1]
    assert "日不詳" in got[day_unknown][1] and "9月末日として判定" in got[day_unknown][1]
    assert got[year_only][0] == "掲載" and "12月31日として判定" in got[year_only][1]
    assert got[no_year][0] == "対象外" and "判定不能" in got[no_year][1]
    assert future not in got
    assert got[back][0] == "対象外" and "記録 2024-07-01" in got[back][1] and "3か月経過 2024-10-01" in got[back][1]
    # 投票区 from the 住所コード table; an address the table lacks is listed and flagged, never dropped
    r = compute(engine, "senkyo", B)
    by = {a: (k, s) for a, k, s in zip(r.table["atena_no"].to_pylist(), r.table["投票区"].to_pylist(),
                                        r.table["理由"].to_pylist())}
    assert by[exact][0] == "第1投票区"
    assert by[age_on_b][0] == "" and "住所コードなし（要確認）" in by[age_on_b][1]
    # one day later the short one has its 3 months; the 4/30 rule flips for the 5/1 leaver
    later = judged(engine, "senkyo", D(2024, 9, 2))
    assert later[short][0] == "掲載" and later[young][0] == "掲載"
    assert later[left_4m] == ("対象外", "抹消（転出後4か月経過 2024-09-01）")


def test_gakureibo(engine):
    rows: list = []
    B = D(2024, 9, 1)   # 学年 2024 (2024-04-01 – 2025-03-31)
    # 学校教育法 第17条: the first 学年 after the day after reaching 6 (the day before the 6th birthday).
    apr1 = person(rows, D(2018, 4, 1))    # reaches 6 on 2024-03-31 → starts 2024-04-01 → 小1
    apr2 = person(rows, D(2018, 4, 2))    # reaches 6 on 2024-04-01 → starts 2025-04-01 → 就学予定
    last = person(rows, D(2009, 4, 2))    # reaches 6 on 2015-04-01 → started 2016 → 2024 is the 9th year → 中3
    over = person(rows, D(2009, 4, 1))    # reaches 6 on 2015-03-31 → started 2015 → 10th year → 学齢超過
    under = person(rows, D(2019, 4, 2))   # reaches 6 on 2025-04-01 → starts 2026 → 学齢未満 (not even 就学予定)
    leap = person(rows, D(2016, 2, 29), jusho_code="001190500")   # reaches 6 on 2022-02-28 → started 2022 → 小3
    foreign = person(rows, D(2015, 6, 1), shubetsu="2")          # 就学義務は日本国民 → 対象外
    moved = person(rows, D(2015, 6, 1), end=("21", B))           # 転出 on the 基準日 → 対象外 消除
    insert_rows(engine, "juki_jumin", rows)
    r = compute(engine, "gakureibo", B)
    grade = dict(zip(r.table["atena_no"].to_pylist(), r.table["学年"].to_pylist()))
    got = judged(engine, "gakureibo", B)
    assert (got[apr1][0], grade[apr1]) == ("掲載", "小1")
    assert (got[apr2][0], grade[apr2]) == ("掲載", "就学予定")
    assert (got[last][0], grade[last]) == ("掲載", "中3")
    assert got[over][0] == "対象外" and got[over][1].startswith("学齢超過")
    assert got[under] == ("対象外", "学齢未満")
    assert (got[leap][0], grade[leap]) == ("掲載", "小3")
    school = dict(zip(r.table["atena_no"].to_pylist(), r.table["小学校"].to_pylist()))
    assert school[leap] == "湊小学校"                 # 住所コード 00119… → tables/gakku.csv
    assert got[foreign][0] == "対象外" and "外国人住民" in got[foreign][1]
    assert got[moved] == ("対象外", "消除（国内転出）")


def test_keiro_and_seijin(engine):
    rows: list = []
    # 敬老: 基準日 2024-09-15 → 年度 2024-04-01 – 2025-03-31; an age is reached the day before the birthday.
    k_mar31 = person(rows, D(1947, 4, 1))    # 77 on 2024-03-31: the year before → 対象外
    k_apr1 = person(rows, D(1947, 4, 2))     # 77 on 2024-04-01 → 喜寿
    k_end = person(rows, D(1948, 4, 1))      # 77 on 2025-03-31 → 喜寿
    k_next = person(rows, D(1948, 4, 2))     # 77 on 2025-04-01: next year → 対象外
    k_100 = person(rows, D(1924, 10, 10))    # 100 on 2024-10-09 → 百寿
    k_dead = person(rows, D(1936, 6, 1), end=("23", D(2024, 9, 15)))   # 88 in the year, died on the 基準日 → 対象外
    # 成人: 基準日 2025-01-13 (the ceremony) → 年度 2024 → 20 reached 2024-04-01 – 2025-03-31
    # = born 2004-04-02 – 2005-04-01
    s_first = person(rows, D(2004, 4, 2))    # 20 on 2024-04-01 → 掲載
    s_before = person(rows, D(2004, 4, 1))   # 20 on 2024-03-31 → 対象外
    s_last = person(rows, D(2005, 4, 1))     # 20 on 2025-03-31 → 掲載
    s_after = person(rows, D(2005, 4, 2))    # 20 on 2025-04-01 → 対象外
    s_foreign = person(rows, D(2004, 10, 1), shubetsu="2")   # 外国人住民 are invited too → 掲載
    insert_rows(engine, "juki_jumin", rows)
    k = judged(engine, "keiro", D(2024, 9, 15))
    assert k[k_mar31][0] == "対象外"
    assert k[k_apr1] == ("掲載", "77歳到達 2024-04-01（喜寿）")
    assert k[k_end] == ("掲載", "77歳到達 2025-03-31（喜寿）")
    assert k[k_next][0] == "対象外"
    assert k[k_100] == ("掲載", "100歳到達 2024-10-09（百寿）")
    assert k[k_dead] == ("対象外", "消除（死亡）")
    s = judged(engine, "seijin", D(2025, 1, 13))
    assert s[s_first][0] == "掲載" and s[s_last][0] == "掲載" and s[s_foreign][0] == "掲載"
    assert s[s_before][0] == "対象外" and s[s_after][0] == "対象外"


def test_output_masked_cp932_and_audited(engine, tmp_path):
    rows: list = []
    a = person(rows, D(1980, 1, 1), name="髙橋　𠮷子", jusho_code="001010100")
    insert_rows(engine, "juki_jumin", rows)
    res = compute(engine, "senkyo", D(2024, 9, 1))
    s = write(engine, res, tmp_path / "s.csv", who="tester", role="閲覧", encoding="cp932")
    with (tmp_path / "s.csv").open(encoding="cp932", newline="") as fh:
        body = list(csv.reader(fh))
    assert body[0][:3] == ["宛名番号", "世帯番号", "氏名"] and body[0][-2:] == ["判定", "理由"]
    # 閲覧 masks names (first character of each part kept); 𠮷 is outside CP932: the MJ縮退マップ folds it
    # to 吉 and the fold is recorded (row, column, from, to)
    assert body[1][0] == a and body[1][2] == "髙＊　吉＊"
    folds = list(csv.reader((tmp_path / "s.csv.folds.csv").open(encoding="utf-8")))
    assert [(r[0], r[1], r[3], r[5]) for r in folds[1:]] == [("1", "shimei", "𠮷", "吉")] and s["folds"] == 1
    s2 = write(engine, res, tmp_path / "s.xlsx", who="tester", role="個人番号事務")
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx").active
    assert [c.value for c in ws[2]][2] == "髙橋　𠮷子"          # this role sees the name
    write(engine, res, tmp_path / "s.parquet", who="tester", role="閲覧")
    assert pq.read_table(tmp_path / "s.parquet").column("判定").to_pylist() == ["掲載"]
    from kikan_hub.modules.euc import audit_log
    log = audit_log(engine, name="名簿:senkyo")
    assert [r["row_count"] for r in log] == [1, 1, 1] and log[-1]["who"] == "tester"
    assert s2["audit_id"] != s["audit_id"]


def test_unknown_idou_date_is_flagged(engine):
    rows: list = []
    # A 転出 row with an unknown 異動日 (不詳日, j80) is taken as early as the history allows (the core's
    # as-of rule: on the last known 異動日, 2000-04-01), so on 2024-09-01 the person is a 除票 — but the
    # date is uncertain, and the reason says so.
    a = person(rows, D(1970, 1, 1))
    rows.append(jumin_row(a, 2, idou_jiyu="21", idou_date=None, shojo_jiyu="21", shojo_date=None, jumin_jotai="2",
                          birth_date=D(1970, 1, 1)))
    insert_rows(engine, "juki_jumin", rows)
    got = judged(engine, "senkyo", D(2024, 9, 1))
    assert got[a][0] == "対象外" and "異動日不詳の履歴" in got[a][1] and "消除日不詳" in got[a][1]


def test_cli(engine, store_url, tmp_path):
    from typer.testing import CliRunner

    from kikan_hub.api.cli import app
    rows: list = []
    a = person(rows, D(1980, 1, 1))
    insert_rows(engine, "juki_jumin", rows)
    run = CliRunner().invoke
    r = run(app, ["roster", "senkyo", "--as-of", "2024-09-01", "--store", store_url,
                  "--out", str(tmp_path / "s.csv"), "--encoding", "cp932", "--json"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.csv").read_bytes().decode("cp932").splitlines()[1].startswith(a)
    for bad in (["nope", "--as-of", "2024-09-01"], ["senkyo", "--as-of", "2024-02-30"], ["senkyo", "--as-of", "20241399"],
                ["senkyo", "--as-of", "2024-09-01", "--format", "pdf"], ["senkyo", "--as-of", "2024-09-01", "--role", "誰"]):
        r = run(app, ["roster", *bad, "--store", store_url, "--out", str(tmp_path / "x.csv")])
        assert r.exit_code == 2 and "Traceback" not in r.output, (bad, r.output)
        assert not (tmp_path / "x.csv").exists()


def test_rosters_listed_in_the_euc_catalogue(engine, store_url):
    from typer.testing import CliRunner

    from kikan_hub.api.cli_modules import euc_app
    r = CliRunner().invoke(euc_app, ["list", "--store", store_url])
    assert r.exit_code == 0, r.output
    for name in ("名簿:senkyo", "名簿:gakureibo", "名簿:keiro", "名簿:seijin", "名簿:hinan", "名簿:kokuho", "名簿:kouki",
                 "名簿:kaigo"):
        assert name in r.output


def test_city_rule_override_calendar_year_window(engine, tmp_path, monkeypatch):
    """A city's own rule file (KIKAN_ROSTER_RULES) with a calendar-year window: the window that contains
    the 基準日 2024-09-15 is 2024-01-01 – 2024-12-31."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "keiro.yaml").write_text(
        "name: keiro\ntitle: 敬老祝金\ndivision: 長寿支援課\nlegal_basis: [市の要綱]\n"
        "criteria:\n  - {kind: resident}\n  - {kind: age_reached_in_window, ages: {77: 喜寿}, window: {from: '01-01', to: '12-31'}}\n"
        "columns: [atena_no, 年齢, 区分]\n", encoding="utf-8")
    monkeypatch.setenv("KIKAN_ROSTER_RULES", str(tmp_path))
    rows: list = []
    jan1 = person(rows, D(1947, 1, 1))    # 77 on 1946+77 = 2023-12-31 → the year before → 対象外
    jan2 = person(rows, D(1947, 1, 2))    # 77 on 2024-01-01 → 掲載
    dec31 = person(rows, D(1948, 1, 1))   # 77 on 2024-12-31 → 掲載
    insert_rows(engine, "juki_jumin", rows)
    got = judged(engine, "keiro", D(2024, 9, 15))
    assert (got[jan1][0], got[jan2][0], got[dec31][0]) == ("対象外", "掲載", "掲載")
    assert compute(engine, "keiro", D(2024, 9, 15)).rule.title == "敬老祝金"
