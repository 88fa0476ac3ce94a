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
