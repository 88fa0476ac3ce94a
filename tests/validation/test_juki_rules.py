"""住民記録 rules as the standard writes them, on crafted histories.

Each test cites the requirement of ../shared/specs/jyuki-stnd/doc/ it checks:
j100 (1.1.10 世帯主未設定を許容), j490 (4.0.4 世帯主不在), j50/j1080 (転出予定者は現存者),
j80/j830 (不詳日: 出生・死亡・失踪), j130/j470/j560 (区間転入・区間転出).
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from kikan_hub.validation.engine import validate_tables
from kikan_hub.validation.synthetic import m11_complete

D = dt.date


def _ids(n: int, base: int = 234560000) -> list[str]:
    return list(m11_complete(pl.Series(range(n)).to_numpy() + base, 10))


def _person(atena, rireki, setai, zok, idou, **kw):
    row = {"atena_no": atena, "rireki_no": rireki, "setai_no": setai, "zokugara": zok, "idou_date": idou,
           "idou_jiyu": "11", "jumin_jotai": "1", "shojo_jiyu": None, "shori_date": idou}
    row.update(kw)
    return row


def _run(rows):
    df = pl.DataFrame(rows, schema_overrides={"idou_date": pl.Date, "shori_date": pl.Date, "shojo_jiyu": pl.Utf8})
    return validate_tables({"juki_jumin": df}, gyomu="juki")


def test_two_members_without_setainushi_load_with_a_warning_j100_j490():
    a, s = _ids(2), _ids(1, 876540000)[0]
    res = _run([_person(a[0], 1, s, "12", D(2010, 4, 1)), _person(a[1], 1, s, "20", D(2010, 4, 1))])
    by = res.by_id()
    assert by["JUKI-SETAINUSHI"].failed == 0            # not an error: 世帯主未設定を許容 (j100)
    none = by["JUKI-SETAINUSHI-NONE"]
    assert (none.failed, none.total, none.level) == (1, 1, "warn")
    assert none.failures.get_column("setai_no").to_list() == [s]
    assert "世帯主がいません（世帯員2人）" in none.failures.get_column("_reason")[0]
    assert res.outcome == "warn"                         # the gate never rejects it


def test_two_setainushi_or_one_person_without_are_errors_j490():
    a, s = _ids(6), _ids(3, 876540000)
    rows = [
        # s0: two 世帯主 at once
        _person(a[0], 1, s[0], "01", D(2010, 4, 1)), _person(a[1], 1, s[0], "01", D(2010, 4, 1)),
        # s1: one member who is not 世帯主 (j490: the one left is made 世帯主 by 職権)
        _person(a[2], 1, s[1], "20", D(2011, 4, 1)),
        # s2: the 世帯主 dies and two remain without one (j490: alert, 世帯主変更 later) → warn only
        _person(a[3], 1, s[2], "01", D(2012, 4, 1)), _person(a[4], 1, s[2], "12", D(2012, 4, 1)),
        _person(a[5], 1, s[2], "20", D(2012, 4, 1)),
        _person(a[3], 2, s[2], "01", D(2015, 6, 1), idou_jiyu="23", jumin_jotai="3", shojo_jiyu="23"),
    ]
    by = _run(rows).by_id()
    err = by["JUKI-SETAINUSHI"]
    assert err.failed == 2 and sorted(err.failures.get_column("setai_no").unique().to_list()) == sorted(s[:2])
    reasons = " ".join(err.failures.get_column("_reason").to_list())
    assert "世帯主が2人います" in reasons and "世帯主がいません（世帯員1人）" in reasons
    none = by["JUKI-SETAINUSHI-NONE"]
    assert none.failed == 1 and none.failures.get_column("setai_no").to_list() == [s[2]]
    assert none.failures.get_column("_at").to_list() == [D(2015, 6, 1)]


def test_tenshutsu_yotei_is_still_a_member_j50_j1080():
    """A 世帯主 whose 転出届 is taken (住民状態 6 転出予定) still heads the household until the
    planned date; with state 2 (転出, 除票) the household is left without one."""
    a, s = _ids(2), _ids(1, 876540000)[0]
    base = [_person(a[0], 1, s, "01", D(2010, 4, 1)), _person(a[1], 1, s, "12", D(2010, 4, 1))]
    yotei = base + [_person(a[0], 2, s, "01", D(2024, 3, 1), idou_jiyu="42", jumin_jotai="6")]
    by = _run(yotei).by_id()
    assert by["JUKI-SETAINUSHI"].failed == 0 and by["JUKI-SETAINUSHI-NONE"].failed == 0
    gone = base + [_person(a[0], 2, s, "01", D(2024, 3, 1), idou_jiyu="21", jumin_jotai="2", shojo_jiyu="21")]
    assert _run(gone).by_id()["JUKI-SETAINUSHI"].failed == 1   # 妻 alone without 世帯主


def test_unknown_idou_date_allowed_for_shisso_j80_j830():
    a, s = _ids(3), _ids(1, 876540000)[0]
    unk = {"idou_date_unknown": True, "idou_date_literal": "令和2年春"}
    rows = [
        _person(a[0], 1, s, "01", D(2000, 1, 1)),
        # 失踪: 職権消除 (26) on the 本籍地's notice (j830): a 不詳日 is allowed (j80)
        _person(a[0], 2, s, "01", None, idou_jiyu="26", jumin_jotai="4", shojo_jiyu="26", shori_date=D(2021, 1, 5), **unk),
        # 転居 with a 不詳日: not allowed
        _person(a[1], 1, s, "12", D(2000, 1, 1)),
        _person(a[1], 2, s, "12", None, idou_jiyu="41", shori_date=D(2021, 1, 5), **unk),
    ]
    r = _run(rows).by_id()["JUKI-DATE"]
    assert r.failed == 1
    assert r.failures.get_column("atena_no").to_list() == [a[1]]
    assert "失踪" in r.failures.get_column("_reason")[0]


def test_kukan_tennyu_codes_and_no_duplicate_of_the_flags_j130_j470_j560():
    from kikan_hub.layouts.isl import load_code_table

    ct = load_code_table("tennyu_tenshutsu_kubun")
    assert ct.codes["8"] == "区間転入" and ct.codes["9"] == "区間転出"
    # 特例 and 未届 are flags of juki_tennyu_tenshutsu, not 区分 values (and retired codes are not reused)
    assert not any("特例" in v or "未届" in v for v in ct.codes.values())
    assert not set(ct.extra["retired"]) & set(ct.codes)
    a = _ids(3)
    df = pl.DataFrame({"atena_no": a, "rireki_no": [1, 1, 1], "tennyu_tenshutsu_kubun": ["8", "9", "4"],
                       "idou_date": [D(2020, 1, 1)] * 3, "shori_date": [D(2020, 1, 1)] * 3})
    r = validate_tables({"juki_tennyu_tenshutsu": df}, gyomu="juki").by_id()["ISL-CODE.juki_tennyu_tenshutsu"]
    assert r.failed == 1 and r.failures.get_column("atena_no").to_list() == [a[2]]


# ---------------------------------------------------------------- step 3: rules from "What to build"

def _by(rows, **overrides):
    df = pl.DataFrame(rows, schema_overrides={"idou_date": pl.Date, "shori_date": pl.Date, "birth_date": pl.Date,
                                              "shojo_jiyu": pl.Utf8, **overrides})
    return validate_tables({"juki_jumin": df}, gyomu="juki").by_id()


def _failing(r) -> list:
    return sorted(set(r.failures.get_column("atena_no").to_list())) if r.failed else []


def test_gaikokujin_items_by_kubun_j20_j60():
    a, s = _ids(7), _ids(1, 876540000)[0]
    f = {"jumin_shubetsu": "2", "kokuseki": "410", "zairyu_shikaku": None, "zairyu_card_no": None,
         "zairyu_kikan": None, "zairyu_manryo_date": None, "joriku_kikan": None}
    full = {"zairyu_shikaku": "210", "zairyu_kikan": "3年", "zairyu_manryo_date": D(2026, 4, 1),
            "zairyu_card_no": "AB12345678CD"}
    rows = [
        _person(a[0], 1, s, "01", D(2020, 4, 1), **{**f, "gaikokujin_kubun": "1", **full}),                # fine
        _person(a[1], 1, s, "12", D(2020, 4, 1), **{**f, "gaikokujin_kubun": "2", "zairyu_card_no": "XY00000001ZZ"}),  # 特別永住者: fine
        _person(a[2], 1, s, "20", D(2020, 4, 1), **{**f, "gaikokujin_kubun": "2", "zairyu_shikaku": "601",
                                                       "zairyu_card_no": "XY00000002ZZ"}),                  # 特別永住者 with 在留資格
        _person(a[3], 1, s, "20", D(2020, 4, 1), **{**f, "gaikokujin_kubun": "1", **full, "zairyu_card_no": None}),  # no card
        # a 除票 (転出) 中長期在留者 without the card number: allowed (j60 除票の場合を除く)
        _person(a[4], 1, s, "20", D(2020, 4, 1), **{**f, "gaikokujin_kubun": "1", **full, "zairyu_card_no": None,
                                                       "jumin_jotai": "2", "shojo_jiyu": "21"}),
        _person(a[5], 1, s, "20", D(2020, 4, 1), **{**f, "gaikokujin_kubun": "3", "kokuseki": "392"}),      # 日本, no 上陸期間
        _person(a[6], 1, s, "20", D(2020, 4, 1), jumin_shubetsu="1", kokuseki="156", gaikokujin_kubun=None,
                zairyu_shikaku=None, zairyu_card_no=None, zairyu_kikan=None, zairyu_manryo_date=None, joriku_kikan=None),
    ]
    r = _by(rows, zairyu_manryo_date=pl.Date)["JUKI-GAIKOKU"]
    assert _failing(r) == sorted([a[2], a[3], a[5], a[6]])
    reasons = " ".join(r.failures.get_column("_reason").to_list())
    assert "在留資格を持ちません" in reasons and "中長期在留者の在留カード等の番号がありません" in reasons
    assert "一時庇護許可者の上陸期間がありません" in reasons and "国籍・地域が日本" in reasons
    assert "日本人住民に国籍・地域があります" in reasons


def test_manryo_past_is_a_warning_j20():
    a, s = _ids(2), _ids(1, 876540000)[0]
    g = {"jumin_shubetsu": "2", "gaikokujin_kubun": "1"}
    rows = [_person(a[0], 1, s, "01", D(2024, 4, 1), zairyu_manryo_date=D(2024, 3, 31), **g),
            _person(a[1], 1, s, "12", D(2024, 4, 1), zairyu_manryo_date=D(2025, 3, 31), **g)]
    r = _by(rows, zairyu_manryo_date=pl.Date)["JUKI-ZAIRYU-MANRYO"]
    assert (_failing(r), r.level) == ([a[0]], "warn")


def test_dates_in_order_and_shussei_j10_j20():
    a, s = _ids(4), _ids(1, 876540000)[0]
    rows = [
        _person(a[0], 1, s, "01", D(2000, 1, 1), birth_date=D(1970, 1, 1), jumin_date=D(1990, 1, 1), jusho_date=D(1995, 1, 1)),
        _person(a[1], 1, s, "12", D(2000, 1, 1), birth_date=D(1972, 1, 1), jumin_date=D(1996, 1, 1), jusho_date=D(1995, 1, 1)),
        _person(a[2], 1, s, "20", D(2001, 5, 5), idou_jiyu="13", birth_date=D(2001, 5, 4)),   # 出生 on another day
        _person(a[3], 1, s, "20", D(2003, 6, 6), idou_jiyu="13", birth_date=D(2003, 6, 6)),
    ]
    r = _by(rows, jumin_date=pl.Date, jusho_date=pl.Date)["JUKI-DATE-ORDER"]
    assert _failing(r) == sorted([a[1], a[2]])


def test_shojo_and_shojo_jiyu_go_together_j50_j210():
    a, s = _ids(4), _ids(1, 876540000)[0]
    rows = [
        _person(a[0], 1, s, "01", D(2000, 1, 1)),
        _person(a[0], 2, s, "01", D(2020, 1, 1), idou_jiyu="23", jumin_jotai="3", shojo_jiyu="23"),   # fine
        _person(a[1], 1, s, "12", D(2000, 1, 1), jumin_jotai="2"),                                       # 転出 without 事由
        _person(a[2], 1, s, "20", D(2000, 1, 1), shojo_jiyu="21"),                                       # 事由 on a 住民
        _person(a[3], 1, s, "20", D(2000, 1, 1), jumin_jotai="6"),                                       # 転出予定: fine
    ]
    assert _failing(_by(rows)["JUKI-SHOJO-JIYU"]) == sorted([a[1], a[2]])


def test_one_kojin_bango_and_juminhyo_code_per_atena_j210():
    a, s = _ids(4), _ids(1, 876540000)[0]
    k = list(m11_complete(pl.Series([10, 20, 30]).to_numpy() + 12345678900, 12))
    rows = [
        _person(a[0], 1, s, "01", D(2000, 1, 1), kojin_bango=k[0]),
        _person(a[0], 2, s, "01", D(2016, 1, 1), kojin_bango=k[1], idou_jiyu="45"),   # 変更請求: fine
        _person(a[1], 1, s, "12", D(2000, 1, 1), kojin_bango=k[2]),
        _person(a[1], 2, s, "12", D(2016, 1, 1), kojin_bango=k[0], idou_jiyu="41"),   # another's number, no change 異動
        _person(a[2], 1, s, "20", D(2000, 1, 1), kojin_bango=None),
    ]
    r = _by(rows, kojin_bango=pl.Utf8)["JUKI-KOJIN-BANGO-ONE"]
    assert _failing(r) == sorted([a[0], a[1]])
    text = " ".join(r.failures.get_column("_reason").to_list())
    assert k[0] not in text and "他の宛名番号" in text and "2種類" in text


def test_juminhyo_code_check_digit_is_a_warning():
    a, s = _ids(2), _ids(1, 876540000)[0]
    good = list(m11_complete(pl.Series([5]).to_numpy() + 1234567890, 11))[0]
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    rows = [_person(a[0], 1, s, "01", D(2000, 1, 1), juminhyo_code=good),
            _person(a[1], 1, s, "12", D(2000, 1, 1), juminhyo_code=bad)]
    r = _by(rows)["JUKI-JUMINHYO-CODE"]
    assert (_failing(r), r.level) == ([a[1]], "warn")


def test_zokugara_sanity_against_the_head_in_effect_j110():
    a, s = _ids(5), _ids(1, 876540000)[0]
    rows = [
        _person(a[0], 1, s, "01", D(2000, 1, 1), birth_date=D(1960, 1, 1)),
        _person(a[1], 1, s, "20", D(2000, 1, 1), birth_date=D(1955, 1, 1)),    # 子 older than the 世帯主
        _person(a[2], 1, s, "31", D(2000, 1, 1), birth_date=D(1990, 1, 1)),    # 父 younger
        _person(a[3], 1, s, "20", D(2000, 1, 1), birth_date=D(1990, 1, 1)),    # fine
        # from 2010 the 世帯主 is a[4] (born 1950): a[1]'s 2010 row as 子 is then fine
        _person(a[0], 2, s, "11", D(2010, 1, 1), birth_date=D(1960, 1, 1), idou_jiyu="54"),
        _person(a[4], 1, s, "01", D(2010, 1, 1), birth_date=D(1940, 1, 1), idou_jiyu="54"),
        _person(a[1], 2, s, "20", D(2010, 1, 1), birth_date=D(1955, 1, 1), idou_jiyu="54"),
    ]
    r = _by(rows)["JUKI-ZOKUGARA-SANITY"]
    assert r.level == "warn"
    assert sorted(zip(r.failures["atena_no"], r.failures["rireki_no"])) == sorted([(a[1], 1), (a[2], 1)])


def test_required_when_j60():
    a, s = _ids(4), _ids(1, 876540000)[0]
    rows = [
        _person(a[0], 1, s, "01", D(2000, 1, 1), jumin_shubetsu="1", honseki=None, juminhyo_code="x"),  # 日本人 without 本籍
        _person(a[1], 1, s, "12", D(2000, 1, 1), jumin_shubetsu="1", honseki="なし", juminhyo_code="x"),  # 「なし」: fine
        _person(a[2], 1, s, "20", D(2000, 1, 1), jumin_shubetsu="2", honseki=None, juminhyo_code="x"),  # 外国人: no 本籍
        _person(a[3], 1, s, "20", D(2000, 1, 1), jumin_shubetsu="1", honseki="東京都", juminhyo_code=None,
                jumin_jotai="2", shojo_jiyu="21"),                                                   # 除票: no 住民票コード ok
    ]
    r = _by(rows, honseki=pl.Utf8, juminhyo_code=pl.Utf8)["ISL-REQUIRED-WHEN.juki_jumin"]
    items = r.failures.select("atena_no", "_items").rows()
    assert ("honseki" in dict(items).get(a[0], "")) and a[1] not in dict(items) and a[3] not in dict(items)
    # the foreign resident fails on its own conditions (国籍・区分 …), never on 本籍
    assert "honseki" not in dict(items).get(a[2], "")
