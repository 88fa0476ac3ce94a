"""The gate engine on canonical tables with planted defects: exact counts, exact keys, no false alarms."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kikan_hub.validation.catalogue import Rule, full_catalogue, level_for, load_catalogue
from kikan_hub.validation.checks import zokugara_pattern
from kikan_hub.validation.engine import validate_tables
from kikan_hub.validation.synthetic import build, m11_complete


def _keys(r) -> set:
    return {tuple(k.values()) for k in r.keys}


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_every_planted_defect_caught_with_exact_count_and_keys(seed):
    tables, truth = build(households=400, seed=seed)
    result = validate_tables(tables)
    got = {r.id: r for r in result.rules}
    assert set(truth) <= set(got), set(truth) - set(got)
    for r in result.rules:
        expected = truth.get(r.id, set())
        assert r.failed == len(expected), (r.id, r.failed, len(expected), r.failures.head(5))
        assert _keys(r) == expected, r.id
        # every failing unit is in the failures frame, in full
        if r.table in tables and "_items" in r.failures.columns:
            assert r.failures.height == r.failed
            assert set(tables[r.table].columns) <= set(r.failures.columns)


def test_clean_tables_have_no_failures():
    tables, truth = build(households=500, seed=5, defects={})
    assert truth == {}
    result = validate_tables(tables)
    assert [(r.id, r.failed) for r in result.rules if r.failed] == []
    assert result.outcome == "ok"


def test_inputs_as_arrow_and_parquet(tmp_path, planted):
    tables, truth = planted
    arrow = {k: v.to_arrow() for k, v in tables.items()}
    paths = {}
    for k, v in tables.items():
        paths[k] = tmp_path / f"{k}.parquet"
        v.write_parquet(paths[k])
    a = validate_tables(arrow, gyomu="juki").by_id()
    b = validate_tables(paths, gyomu="juki").by_id()
    assert {k: v.failed for k, v in a.items()} == {k: v.failed for k, v in b.items()}
    assert all(r.gyomu == "juki" for r in a.values())
    assert a["JUKI-SETAINUSHI"].failed == len(truth["JUKI-SETAINUSHI"])


def test_catalogue_old_api_and_generated_rules():
    cat = load_catalogue()
    assert cat["READ-DECODE"].title == "宣言した文字コードで読めないバイト列"
    # one rule id per fact: the item rules live only as generated ISL-* rules (no CHK-* twin)
    assert not [rid for rid in full_catalogue() if rid.startswith("CHK-")]
    assert level_for(cat["CTL-COUNT"], 1, 10) == "critical"
    full = full_catalogue()
    for rid in ("ISL-CODE.juki_jumin", "ISL-LENGTH-BYTES.juki_jumin", "ISL-M11.juki_setai", "JUKI-SETAINUSHI",
                "XREF-ATENA.zei_kotei_tochi"):
        assert full[rid].title and full[rid].division and full[rid].check["kind"], rid
    assert full["XREF-ATENA.zei_kotei_tochi"].division == "資産税課"
    # zokugara is the closed vocabulary's own rule, not the generic code rule
    assert "zokugara" not in full["ISL-CODE.juki_jumin"].check["items"]


def test_thresholds_count_and_share():
    r = Rule("X", "t", "d", "error", "", {"warn": 1, "error": 0.01, "critical": 100})
    assert level_for(r, 0, 1000) == "ok"
    assert level_for(r, 1, 1000) == "warn"
    assert level_for(r, 10, 1000) == "error"
    assert level_for(r, 100, 100000) == "critical"


def test_zokugara_vocabulary_is_the_composition():
    import re

    from kikan_hub.layouts.isl import load_code_table

    pat = re.compile(zokugara_pattern())
    codes = load_code_table("zokugara").codes
    assert all(pat.match(c) for c in codes)
    assert len(codes) == 1 + 11 + 11 ** 2 + 11 ** 3 + 11 ** 4 + 2
    assert not pat.match("2020202020") and not pat.match("61")


def _person(atena, rireki, setai, zok, idou, **kw):
    base = {"atena_no": atena, "rireki_no": rireki, "setai_no": setai, "zokugara": zok, "idou_date": idou,
            "idou_jiyu": "11", "jumin_jotai": "1", "shojo_jiyu": None, "shori_date": idou}
    base.update(kw)
    return base


def _ids(n):
    return list(m11_complete(pl.Series(range(n)).to_numpy() + 123450000, 10))


def test_setainushi_over_time():
    a = _ids(10)
    s = list(m11_complete(pl.Series(range(4)).to_numpy() + 777770000, 10))
    d = dt.date
    rows = [
        # S0: head change on one day (old head becomes 子's … no: 妻 becomes 世帯主, head becomes 夫) → fine
        _person(a[0], 1, s[0], "01", d(2000, 1, 1)), _person(a[1], 1, s[0], "12", d(2000, 1, 1)),
        _person(a[0], 2, s[0], "11", d(2010, 1, 1), idou_jiyu="54"), _person(a[1], 2, s[0], "01", d(2010, 1, 1), idou_jiyu="54"),
        # S1: the head moves out to S2 on 2005-05-05 and nobody takes over in S1 → fails (S2 is fine)
        _person(a[2], 1, s[1], "01", d(2001, 1, 1)), _person(a[3], 1, s[1], "20", d(2001, 1, 1)),
        _person(a[2], 2, s[2], "01", d(2005, 5, 5), idou_jiyu="51"),
        # S3: the only member dies → the household ends, no failure
        _person(a[4], 1, s[3], "01", d(1990, 1, 1)),
        _person(a[4], 2, s[3], "01", d(2020, 2, 2), idou_jiyu="23", jumin_jotai="3", shojo_jiyu="23"),
    ]
    df = pl.DataFrame(rows, schema_overrides={"idou_date": pl.Date, "shori_date": pl.Date, "shojo_jiyu": pl.Utf8})
    res = validate_tables({"juki_jumin": df}, gyomu="juki")["JUKI-SETAINUSHI"]
    assert res.failed == 1 and res.total == 4
    assert res.failures.get_column("setai_no").to_list() == [s[1]]
    assert "世帯主がいません" in res.failures.get_column("_reason")[0]


def test_dates_j80():
    d = dt.date
    a = _ids(6)
    s = list(m11_complete(pl.Series([1]).to_numpy() + 777770000, 10))[0]
    rows = [
        # 不詳日 in 生年月日: allowed
        _person(a[0], 1, s, "01", d(2000, 1, 1), birth_date=None, birth_date_literal="昭和20年頃", birth_date_unknown=True),
        # 明治45年7月30日 (= 大正 first day) is allowed by j80
        _person(a[1], 1, s, "12", d(2000, 1, 1), birth_date=d(1912, 7, 30), birth_date_literal="M450730", birth_date_unknown=False),
        # 昭和64年1月8日 does not exist
        _person(a[2], 1, s, "20", d(2000, 1, 1), birth_date=d(1989, 1, 8), birth_date_literal="3640108", birth_date_unknown=False),
        # 不詳 異動日 for 出生: allowed; for 転居: not
        _person(a[3], 1, s, "20", None, idou_jiyu="13", idou_date_unknown=True, idou_date_literal="令和2年春",
                shori_date=d(2020, 6, 1), birth_date=d(2020, 4, 1), birth_date_literal="R020401", birth_date_unknown=False),
        _person(a[4], 1, s, "20", None, idou_jiyu="41", idou_date_unknown=True, idou_date_literal="令和2年春",
                shori_date=d(2020, 6, 1), birth_date=d(1980, 4, 1), birth_date_literal="S550401", birth_date_unknown=False),
        # a literal with no date and no 不詳 flag: the date was lost
        _person(a[5], 1, s, "20", d(2000, 1, 1), birth_date=None, birth_date_literal="S550431", birth_date_unknown=False),
    ]
    df = pl.DataFrame(rows, schema_overrides={"idou_date": pl.Date, "shori_date": pl.Date, "birth_date": pl.Date,
                                              "shojo_jiyu": pl.Utf8, "idou_date_literal": pl.Utf8,
                                              "idou_date_unknown": pl.Boolean})
    r = validate_tables({"juki_jumin": df}, gyomu="juki")["JUKI-DATE"]
    assert sorted(k["atena_no"] for k in r.keys) == sorted([a[2], a[4], a[5]])


def test_history_numbers_consecutive():
    a = _ids(3)
    df = pl.DataFrame({"atena_no": [a[0], a[0], a[1], a[1], a[2]], "rireki_no": [1, 2, 1, 3, 0]})
    r = validate_tables({"juki_jumin": df}, gyomu="juki")["JUKI-RIREKI"]
    assert r.failed == 2 and r.total == 3 and {k["atena_no"] for k in r.keys} == {a[1], a[2]}


def test_no_cap_on_counts():
    tables, _ = build(households=300, seed=2, defects={"code_seibetsu": 0})
    df = tables["juki_jumin"].with_columns(seibetsu=pl.lit("X"))
    r = validate_tables({"juki_jumin": df}, gyomu="juki")["ISL-CODE.juki_jumin"]
    assert r.failed == df.height == r.failures.height and r.level == "critical"


def test_pandera_schema_agrees_with_engine(planted):
    from kikan_hub.validation.schemas import pandera_schema, validate_with_pandera

    tables, truth = planted
    for table_id in ("juki_jumin", "juki_setai"):
        df = tables[table_id]
        engine = {r.id: r.failed for r in validate_tables({table_id: df}, gyomu="juki").rules
                  if r.table == table_id and "_items" in r.failures.columns}
        via_pandera = validate_with_pandera(df, table_id)
        assert {k: v for k, v in engine.items() if v} == via_pandera
        schema = pandera_schema(table_id, df.columns)
        assert len(schema.checks) > 5 and "atena_no" in schema.columns or table_id == "juki_setai"
    # a clean frame passes the schema
    clean, _ = build(households=50, seed=9, defects={})
    assert validate_with_pandera(clean["juki_jumin"], "juki_jumin") == {}
