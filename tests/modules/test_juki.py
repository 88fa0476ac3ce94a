"""住民記録 queries against a hand-built history whose truth is written down in the test."""
import datetime as dt

import pytest

from kikan_hub.layouts.isl import load_code_table
from kikan_hub.modules import juki
from modhelpers import D, insert_rows, jumin_row, m11

A1, A2, A3, A4, A5 = (m11(f"00000001{i}") for i in range(1, 6))
S1, S2 = m11("000000901"), m11("000000902")


@pytest.fixture
def history(engine):
    rows = [
        # A1: 世帯主 of S1; moves within the city (転居) in 2010, dies 2020 (死亡).
        jumin_row(A1, 1, setai_no=S1, zokugara="01", shimei="松野　一郎", idou_jiyu="11", idou_date=D(2000, 4, 1),
                  machiaza="松町", jusho="霞野市松町一丁目1番1号"),
        jumin_row(A1, 2, setai_no=S1, zokugara="01", shimei="松野　一郎", idou_jiyu="41", idou_date=D(2010, 6, 15),
                  machiaza="竹町", jusho="霞野市竹町二丁目3番4号"),
        jumin_row(A1, 3, setai_no=S1, zokugara="01", shimei="松野　一郎", idou_jiyu="23", idou_date=D(2020, 2, 10),
                  machiaza="竹町", jusho="霞野市竹町二丁目3番4号", jumin_jotai="3", shojo_jiyu="23",
                  shojo_date=D(2020, 2, 10)),
        # A2: 妻 in S1 from 2000; becomes 世帯主 (54 世帯主変更) after A1's death.
        jumin_row(A2, 1, setai_no=S1, zokugara="12", shimei="松野　花子", seibetsu="2", idou_jiyu="11",
                  idou_date=D(2000, 4, 1), machiaza="松町"),
        jumin_row(A2, 2, setai_no=S1, zokugara="12", shimei="松野　花子", seibetsu="2", idou_jiyu="41",
                  idou_date=D(2010, 6, 15), machiaza="竹町"),
        jumin_row(A2, 3, setai_no=S1, zokugara="01", shimei="松野　花子", seibetsu="2", idou_jiyu="54",
                  idou_date=D(2020, 2, 10), machiaza="竹町"),
        # A3: 子 born 2005 (出生), splits off into S2 in 2022 (世帯分離), moves out in 2023 (転出).
        jumin_row(A3, 1, setai_no=S1, zokugara="20", shimei="松野　三郎", birth_date=D(2005, 7, 7), idou_jiyu="13",
                  idou_date=D(2005, 7, 7), machiaza="松町"),
        jumin_row(A3, 2, setai_no=S1, zokugara="20", shimei="松野　三郎", birth_date=D(2005, 7, 7), idou_jiyu="41",
                  idou_date=D(2010, 6, 15), machiaza="竹町"),
        jumin_row(A3, 3, setai_no=S2, zokugara="01", shimei="松野　三郎", birth_date=D(2005, 7, 7), idou_jiyu="51",
                  idou_date=D(2022, 4, 1), machiaza="竹町"),
        jumin_row(A3, 4, setai_no=S2, zokugara="01", shimei="松野　三郎", birth_date=D(2005, 7, 7), idou_jiyu="21",
                  idou_date=D(2023, 3, 31), machiaza="竹町", jumin_jotai="2", shojo_jiyu="21",
                  shojo_date=D(2023, 3, 31), tenshutsu_saki_jusho="東京都架空区1-1"),
        # A4: an old resident whose first row has an unknown date (昭和○年頃) and birth unknown too,
        # then a known correction in 1990 and a 転居 with an unknown date between 1990 and 2015.
        jumin_row(A4, 1, setai_no=S2, zokugara="01", shimei="古田　某", birth_date=None, birth_date_literal="昭和○年頃",
                  birth_date_unknown=True, idou_jiyu="16", idou_date=None, idou_date_literal="昭和○年頃",
                  idou_date_unknown=True, machiaza="梅町"),
        jumin_row(A4, 2, setai_no=S2, zokugara="01", shimei="古田　某", birth_date=None, birth_date_unknown=True,
                  idou_jiyu="43", idou_date=D(1990, 1, 1), machiaza="梅町"),
        jumin_row(A4, 3, setai_no=S2, zokugara="01", shimei="古田　某", birth_date=None, birth_date_unknown=True,
                  idou_jiyu="41", idou_date=None, idou_date_unknown=True, machiaza="桜町"),
        jumin_row(A4, 4, setai_no=S2, zokugara="01", shimei="古田　某", birth_date=None, birth_date_unknown=True,
                  idou_jiyu="42", idou_date=D(2015, 5, 5), machiaza="桜町"),
        # A5: 転入 in 2021 from abroad (12) into S2 as 同居人.
        jumin_row(A5, 1, setai_no=S2, zokugara="92", shimei="ＳＭＩＴＨ　ＪＯＨＮ", idou_jiyu="12",
                  idou_date=D(2021, 11, 30), machiaza="桜町"),
    ]
    insert_rows(engine, "juki_jumin", rows)
    return engine


def test_person_as_of(history):
    e = history
    assert juki.person(e, A1, "1999-12-31").row is None                      # not yet in the register
    p = juki.person(e, A1, "2005-01-01")
    assert (p.row["rireki_no"], p.row["machiaza"], p.resident) == (1, "松町", True)
    assert juki.person(e, A1, "2010-06-15").row["machiaza"] == "竹町"        # 異動日 ≤ date, inclusive
    p = juki.person(e, A1, "2020-02-10")
    assert p.row["rireki_no"] == 3 and not p.resident and p.row["shojo_jiyu"] == "23"
    p = juki.person(e, A1, None, with_history=True)                           # latest
    assert p.row["rireki_no"] == 3 and [h["rireki_no"] for h in p.history] == [1, 2, 3]
    assert p.row["idou_date"] == dt.date(2020, 2, 10)


def test_person_unknown_dates(history):
    e = history
    # rireki 1 has an unknown date and no known birth date: in effect "always" until the 1990 row, uncertain.
    p = juki.person(e, A4, "1950-01-01")
    assert p.row["rireki_no"] == 1 and p.date_uncertain and p.row["machiaza"] == "梅町"
    p = juki.person(e, A4, "1995-01-01")
    # rireki 3 (unknown date, after 1990-01-01, before 2015-05-05) is taken as early as the history allows.
    assert p.row["rireki_no"] == 3 and p.date_uncertain and p.row["machiaza"] == "桜町"
    p = juki.person(e, A4, "2015-05-05")
    assert p.row["rireki_no"] == 4 and not p.date_uncertain
    p = juki.person(e, A1, "2005-01-01")
    assert not p.date_uncertain


def test_household_as_of(history):
    e = history
    names = lambda rows: [r["atena_no"] for r in rows]
    assert names(juki.household(e, S1, "2004-01-01")) == [A1, A2]
    assert names(juki.household(e, S1, "2006-01-01")) == [A1, A2, A3]      # 世帯主 first, then 妻, 子
    assert names(juki.household(e, S1, "2020-02-10")) == [A2, A3]          # A1 died; A2 now 世帯主
    assert juki.household(e, S1, "2020-02-10")[0]["zokugara"] == "01"
    assert names(juki.household(e, S1, "2022-04-01")) == [A2]              # A3 split off
    assert set(names(juki.household(e, S2, "2022-12-01"))) == {A3, A4, A5}
    assert set(names(juki.household(e, S2, "2023-03-31"))) == {A4, A5}     # A3 moved out
    assert juki.household(e, S2, "1900-01-01") == [] or names(juki.household(e, S2, "1900-01-01")) == [A4]


def test_removed(history):
    e = history
    rem = juki.removed(e)
    assert [r["atena_no"] for r in rem] == [A1, A3]
    assert [r["atena_no"] for r in juki.removed(e, jiyu=["21"])] == [A3]
    assert [r["atena_no"] for r in juki.removed(e, as_of="2021-01-01")] == [A1]
    assert [r["atena_no"] for r in juki.removed(e, date_from="2023-01-01")] == [A3]
    with pytest.raises(juki.JukiQueryError):
        juki.removed(e, jiyu=["99"])


def test_movement_stats(history):
    s = juki.movement_stats(history)
    assert s.totals == {"転入": 3, "出生": 1, "転居": 4, "死亡": 1, "転出": 1}
    assert s.by_month["2010-06"] == {"転居": 3}
    assert s.by_month[juki.UNKNOWN_MONTH] == {"転居": 1}
    assert s.by_month["2021-11"] == {"転入": 1}
    assert s.by_machiaza["竹町"] == {"転居": 3, "死亡": 1, "転出": 1}
    s2 = juki.movement_stats(history, "2020-01-01", "2023-12-31")
    assert s2.totals == {"転入": 1, "死亡": 1, "転出": 1}
    assert juki.movement_stats(history, machiaza="桜町").totals == {"転入": 1, "転居": 1}


def test_movement_categories_match_code_table():
    codes = load_code_table("idou_jiyu").codes
    for cat, cs in juki.MOVEMENT_CATEGORIES.items():
        for c in cs:
            assert cat in codes[c] or (cat == "転入" and "転入" in codes[c]), (cat, c, codes[c])
