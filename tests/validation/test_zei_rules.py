"""Tax rules (rules/zei.yaml) on crafted rows: each test names the article it enforces, and each
has rows that pass and rows that fail, so it fails if the rule stops checking."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kikan_hub.validation.catalogue import full_catalogue
from kikan_hub.validation.engine import RuleResult, validate_tables


def run(rule_id: str, tables: dict[str, pl.DataFrame]) -> RuleResult:
    rule = full_catalogue()[rule_id]
    res = validate_tables(tables, rules=[rule])
    (out,) = [r for r in res.rules if r.id == rule_id]
    assert out.status == "checked", (rule_id, out.note)
    return out


def failing(res: RuleResult, col: str) -> list:
    return sorted(res.failures.get_column(col).to_list()) if res.failed else []


def rows_of(keys: dict, **cols) -> pl.DataFrame:
    """Crafted rows: `cols` plus key columns (a constant, or numbered 0000000000, 0000000001 …)."""
    n = len(next(iter(cols.values())))
    base = {k: ([f"{i:010d}" for i in range(n)] if v is None else [v] * n) for k, v in keys.items()}
    return pl.DataFrame({**base, **cols})


def zeigaku(**cols) -> pl.DataFrame:
    return rows_of({"kazei_nendo": 2024, "atena_no": None, "kosei_kaisu": 0}, **cols)


# ---------------------------------------------------------------- 個人住民税

def test_nenzeigaku_is_shotokuwari_plus_kintowari_plus_shinrin_minus_genmen():
    """第314条の3・第35条 (所得割) + 第310条・第38条 (均等割) + 森林環境税 − 第323条 (減免)."""
    z = zeigaku(shi_shotokuwari=[60000, 60000, 0], ken_shotokuwari=[40000, 40000, 0], shi_kintowari=[3000, 3000, 3000],
                ken_kintowari=[1000, 1000, 1000], shinrin_kankyozei=[1000, 1000, 1000], genmen_gaku=[0, 0, 5000],
                nenzeigaku=[105000, 104000, 0])
    res = run("ZEI-KOJIN-NENZEIGAKU", {"zei_kojin_zeigaku": z})
    assert failing(res, "atena_no") == ["0000000001"]   # 1,000 short; row 2: 5,000 − 5,000 = 0 passes


def test_nenzeigaku_is_the_sum_of_the_collection_methods():
    """第319条 (普通徴収), 第321条の3 (給与特徴), 第321条の7の2 (年金特徴)."""
    z = zeigaku(nenzeigaku=[100000, 100000], tokucho_zeigaku=[60000, 60000], nenkin_tokucho_zeigaku=[20000, None],
                fucho_zeigaku=[20000, 20000])
    assert failing(run("ZEI-KOJIN-CHOSHU", {"zei_kojin_zeigaku": z}), "atena_no") == ["0000000001"]


def test_kazei_hyojun_in_thousands_and_shotokuwari_in_hundreds():
    """第20条の4の2: 課税標準は1,000円未満、税額は100円未満を切り捨てる."""
    z = zeigaku(kazei_sogo_shotoku=[2_345_000, 2_345_600, 0], shi_shotokuwari=[140_700, 140_700, 0],
                ken_shotokuwari=[93_800, 93_850, 0])
    assert failing(run("ZEI-KOJIN-KAZEI-HYOJUN", {"zei_kojin_zeigaku": z}), "atena_no") == ["0000000001"]
    assert failing(run("ZEI-KOJIN-ZEIGAKU-HYAKU", {"zei_kojin_zeigaku": z}), "atena_no") == ["0000000001"]


def test_hikazei_means_zero():
    """第295条: 非課税の者には均等割・所得割を課さない."""
    z = zeigaku(kazei_kubun=["4", "4", "1"], nenzeigaku=[0, 5000, 5000], shi_kintowari=[0, 3000, 3000],
                ken_kintowari=[0, 1000, 1000], shinrin_kankyozei=[0, 1000, 1000], shi_shotokuwari=[0, 0, 0],
                ken_shotokuwari=[0, 0, 0])
    assert failing(run("ZEI-KOJIN-HIKAZEI", {"zei_kojin_zeigaku": z}), "atena_no") == ["0000000001"]


def test_kintowari_is_the_rate_of_its_nendo():
    """第310条・第38条 and the 復興特例 (+500 each, 平成26〜令和5年度): codes/zei_kojin_kintowari."""
    z = zeigaku(kazei_nendo=[2023, 2023, 2024, 2024, 2024], shi_kintowari=[3500, 3000, 3000, 3500, 0],
                ken_kintowari=[1500, 1000, 1000, 1500, 0])
    assert failing(run("ZEI-KOJIN-KINTOWARI", {"zei_kojin_zeigaku": z}), "atena_no") == ["0000000001", "0000000003"]


def test_shinrin_kankyozei_from_reiwa6_with_kintowari():
    """森林環境税法: 令和6年度から1,000円、均等割と併せて (地方税法第319条第2項)."""
    z = zeigaku(kazei_nendo=[2023, 2023, 2024, 2024, 2024], shi_kintowari=[3500, 3500, 3000, 3000, 0],
                ken_kintowari=[1500, 1500, 1000, 1000, 0], shinrin_kankyozei=[0, 1000, 1000, 0, 1000])
    assert failing(run("ZEI-KOJIN-SHINRIN", {"zei_kojin_zeigaku": z}), "atena_no") == [
        "0000000001", "0000000003", "0000000004"]


def test_teigaku_genzei_reiwa6_and_reiwa7():
    """附則第5条の8 (令和6: 1万円 × 人数, 合計所得 1,805万円以下), 附則第5条の12 (令和7: 配偶者分 1万円)."""
    z = zeigaku(kazei_nendo=[2024, 2024, 2024, 2025, 2025, 2023],
                gokei_shotoku=[5_000_000, 5_000_000, 18_050_001, 3_000_000, 3_000_000, 3_000_000],
                tokubetsu_kojo_ninzu=[3, 2, 1, 1, 1, 1],
                shi_tokubetsu_zeigaku_kojo=[18000, 18000, 6000, 6000, 12000, 6000],
                ken_tokubetsu_zeigaku_kojo=[12000, 12000, 4000, 4000, 0, 0])
    # row 1: 30,000 > 2 人 × 1万; row 2: over 1,805万円; row 4: 令和7 12,000 > 1万; row 5: 令和5 has none
    assert failing(run("ZEI-KOJIN-TEIGAKU", {"zei_kojin_zeigaku": z}), "atena_no") == [
        "0000000001", "0000000002", "0000000004", "0000000005"]


def test_kyuyo_tokucho_needs_a_shitei_no():
    """第321条の4第1項: 給与特別徴収は特別徴収義務者の指定による."""
    n = pl.DataFrame({"kazei_nendo": [2024] * 3, "atena_no": ["A", "B", "C"], "choshu_hoho": ["2", "4", "1"],
                      "tokucho_gimusha_no": ["000000000001", None, None]})
    assert failing(run("ZEI-KOJIN-TOKUCHO-SHITEI", {"zei_kojin_nozeigimusha": n}), "atena_no") == ["B"]


def test_tokucho_gimusha_exists_in_the_master():
    """第321条の4: 指定番号は特別徴収義務者の台帳にある."""
    t = pl.DataFrame({"kazei_nendo": [2024, 2024], "atena_no": ["A", "B"], "shitei_no": ["000000000001", "000000000009"],
                      "ido_renban": [0, 0]})
    g = pl.DataFrame({"shitei_no": ["000000000001"], "atena_no": ["Z"]})
    res = run("ZEI-KOJIN-TOKUCHO-GIMUSHA", {"zei_kojin_tokucho": t, "zei_kojin_tokucho_gimusha": g})
    assert failing(res, "atena_no") == ["B"]


def test_nenkin_tokucho_only_from_65_on_april_1():
    """第321条の7の2 (年度の初日に65歳以上); 年齢計算ニ関スル法律: 1959-04-02 生まれは 2024-04-01 に65歳."""
    n = pl.DataFrame({"kazei_nendo": [2024] * 4, "atena_no": ["A", "B", "C", "D"], "choshu_hoho": ["3", "3", "5", "1"],
                      "birth_date": [dt.date(1959, 4, 2), dt.date(1959, 4, 3), dt.date(1970, 1, 1), dt.date(1990, 1, 1)]})
    assert failing(run("ZEI-KOJIN-NENKIN-65", {"zei_kojin_nozeigimusha": n}), "atena_no") == ["B", "C"]


def test_kibetsu_sums_match_the_zeigaku():
    """第320条 (普通徴収の納期), 第321条の5 (月割額), 第321条の7の2 (年金特徴): 各回の合計 = 税額."""
    z = zeigaku(fucho_zeigaku=[40000, 40000], tokucho_zeigaku=[0, 0], nenkin_tokucho_zeigaku=[0, 0])
    k = pl.DataFrame({"kazei_nendo": [2024] * 8, "atena_no": ["0000000000"] * 4 + ["0000000001"] * 4,
                      "kosei_kaisu": [0] * 8, "choshu_kubun": ["1"] * 8, "shitei_no": ["000000000000"] * 8,
                      "ki": [1, 2, 3, 4] * 2, "zeigaku": [10000] * 4 + [10000, 10000, 10000, 9000]})
    res = run("ZEI-KOJIN-KIBETSU-FUCHO", {"zei_kojin_kibetsu": k, "zei_kojin_zeigaku": z})
    assert res.failed == 1 and res.keys == [{"kazei_nendo": "2024", "atena_no": "0000000001", "kosei_kaisu": "0"}]


def test_reiwa6_tokucho_skips_june_for_teigaku_genzei():
    """附則第5条の10: 令和6年度の給与特徴は11分の1を7月から (6月はない)."""
    z = zeigaku(shi_tokubetsu_zeigaku_kojo=[6000, 0], ken_tokubetsu_zeigaku_kojo=[4000, 0])
    k = pl.DataFrame({"kazei_nendo": [2024] * 4, "atena_no": ["0000000000", "0000000000", "0000000001", "0000000001"],
                      "kosei_kaisu": [0] * 4, "choshu_kubun": ["2"] * 4, "shitei_no": ["000000000001"] * 4,
                      "ki": [6, 7, 6, 7], "zeigaku": [1000] * 4})
    res = run("ZEI-KOJIN-R6-JUNE", {"zei_kojin_kibetsu": k, "zei_kojin_zeigaku": z})
    assert res.failed == 1 and res.failures.row(0, named=True)["ki"] == 6
    assert res.failures.row(0, named=True)["atena_no"] == "0000000000"


def test_codes_valid_only_in_their_nendo():
    """第314条の2: ひとり親は令和3年度から、特別寡婦・寡夫は令和2年度まで; 特定親族特別控除は令和8年度から."""
    n = pl.DataFrame({"kazei_nendo": [2020, 2020, 2021, 2021], "atena_no": ["A", "B", "C", "D"],
                      "kafu_hitorioya_kubun": ["3", "2", "2", "4"]})
    assert failing(run("ZEI-KOJIN-CODE-NENDO.zei_kojin_nozeigimusha", {"zei_kojin_nozeigimusha": n}), "atena_no") == ["B", "D"]
    k = pl.DataFrame({"kazei_nendo": [2025, 2026], "atena_no": ["A", "B"], "kojo_renban": [1, 1], "kojo_shurui": ["15", "15"]})
    assert failing(run("ZEI-KOJIN-CODE-NENDO.zei_kojin_kojo", {"zei_kojin_kojo": k}), "atena_no") == ["A"]


# ---------------------------------------------------------------- 固定資産税

def test_kazei_hyojun_not_above_kakaku():
    """第349条: 課税標準は価格; 特例・負担調整は下げるだけ."""
    t = pl.DataFrame({"kazei_nendo": [2024, 2024], "tochi_bukken_no": ["1", "2"], "hyokagaku": [1000, 1000],
                      "kazei_hyojungaku": [1000, 1001]})
    assert failing(run("ZEI-KOTEI-HYOJUN-KAKAKU.zei_kotei_tochi", {"zei_kotei_tochi": t}), "tochi_bukken_no") == ["2"]


def test_jutaku_yochi_share_and_200m2_per_dwelling():
    """第349条の3の2第1項 (1/3), 第2項 (小規模 1/6, 200㎡ × 戸数), 第702条の3 (都市計画税 1/3・2/3)."""
    t = pl.DataFrame({"kazei_nendo": [2024] * 4, "tochi_bukken_no": ["1", "2", "3", "4"], "tokurei_kubun": ["1", "1", "2", "0"],
                      "chiseki": [200.0, 250.0, 100.0, 50.0], "jutaku_kosu": [1, 1, 1, None],
                      "hyokagaku": [6_000_000, 6_000_000, 3_000_000, 1_000_000],
                      "kazei_hyojungaku": [1_000_000, 1_000_001, 1_000_000, 1_000_000],
                      "toshikei_kazei_hyojungaku": [2_000_000, 2_000_000, 2_000_001, 1_000_000]})
    assert failing(run("ZEI-KOTEI-JUTAKU-YOCHI", {"zei_kotei_tochi_kubun": t}), "tochi_bukken_no") == ["2", "3"]
    assert failing(run("ZEI-KOTEI-SHOKIBO", {"zei_kotei_tochi_kubun": t}), "tochi_bukken_no") == ["2"]


def test_menzeiten_iff_tax_zero():
    """第351条: 土地30万円・家屋20万円・償却資産150万円未満は課さない."""
    n = pl.DataFrame({"kazei_nendo": [2024] * 4, "atena_no": ["A", "B", "C", "D"], "kyoyu_no": ["00000000"] * 4,
                      "tochi_kazei_hyojungaku": [299_999, 300_000, 299_999, 299_999],
                      "kaoku_kazei_hyojungaku": [0, 0, 0, 0], "shokyaku_kazei_hyojungaku": [0, 0, 0, 0],
                      "tochi_menzeiten_flag": [True, False, True, False], "kaoku_menzeiten_flag": [True] * 4,
                      "shokyaku_menzeiten_flag": [True] * 4, "kotei_zeigaku": [0, 4200, 4200, 0]})
    assert failing(run("ZEI-KOTEI-MENZEITEN", {"zei_kotei_nozeigimusha": n}), "atena_no") == ["C", "D"]


def test_mochibun_add_up_to_one_with_one_representative():
    """第10条の2 (共有物の連帯納税義務), 第352条の2 (区分所有家屋の敷地): 持分の合計 1, 代表者 1人 (分数で正確に)."""
    m = pl.DataFrame({"kazei_nendo": [2024] * 7, "shisan_kubun": ["1"] * 7,
                      "bukken_no": ["1", "1", "1", "2", "2", "3", "3"], "atena_no": list("ABCDEFG"),
                      "mochibun_bunshi": [1, 1, 1, 1, 1, 333_333_333, 666_666_666],
                      "mochibun_bunbo": [3, 3, 3, 2, 2, 999_999_999, 999_999_998],
                      "daihyo_flag": [True, False, False, True, True, True, False]})
    res = run("ZEI-KOTEI-MOCHIBUN", {"zei_kotei_mochibun": m})
    assert sorted(r["bukken_no"] for r in res.keys) == ["2", "3"]   # 2: two 代表; 3: 1/3 + 1/1.5 − ε ≠ 1
    assert "合計" in res.failures.filter(pl.col("bukken_no") == "3").item(0, "_reason")


def test_shinchiku_genmen_years():
    """附則第15条の6 (一般3・中高層5年度), 附則第15条の7 (長期優良5・中高層7年度)."""
    k = pl.DataFrame({"kazei_nendo": [2024] * 5, "kaoku_bukken_no": list("12345"),
                      "shinchiku_genmen_kubun": ["1", "2", "4", "4", "0"],
                      "genmen_kaishi_nendo": [2023, 2023, 2020, 2020, None], "genmen_shuryo_nendo": [2025, 2026, 2026, 2025, None]})
    assert failing(run("ZEI-KOTEI-SHINCHIKU", {"zei_kotei_kaoku": k}), "kaoku_bukken_no") == ["2", "4"]


# ---------------------------------------------------------------- 軽自動車税

def sharyo(**cols) -> pl.DataFrame:
    return rows_of({"sharyo_no": None, "rireki_no": 1}, **cols)


def test_taxed_exactly_when_owned_on_april_1():
    """第463条の16 (賦課期日4月1日), 第443条第1項: 取得 ≤ 4月1日 < 廃車 の車両だけに課税."""
    s = sharyo(shutoku_date=[dt.date(2024, 4, 1), dt.date(2024, 4, 2), dt.date(2020, 1, 1), dt.date(2020, 1, 1)],
               haisha_date=[None, None, dt.date(2024, 4, 1), dt.date(2024, 4, 2)])
    m = pl.DataFrame({"kazei_nendo": [2024, 2024, 2024], "sharyo_no": ["0000000000", "0000000001", "0000000002"],
                      "rireki_no": [1, 1, 1]})
    res = run("ZEI-KEI-KAZEI-KIKAN", {"zei_kei_sharyo": s, "zei_kei_kazei_meisai": m})
    assert sorted(k["sharyo_no"] for k in res.keys) == ["0000000001", "0000000002", "0000000003"]


def meisai(**cols) -> pl.DataFrame:
    return rows_of({"kazei_nendo": 2024, "sharyo_no": None, "rireki_no": 1}, **cols)


def test_rate_is_f_of_shashu_nendo_and_kubun():
    """第463条の15第1項 (新基準原付 第1号ハ 2,000円), 附則第30条 (重課・グリーン化), 第463条の23 (減免)."""
    m = meisai(kazei_nendo=[2025, 2024, 2024, 2024, 2015, 2024, 2024],
               shashu_kubun=["106", "103", "212", "212", "101", "211", "212"],
               juka_keika_kubun=["0", "0", "1", "0", "0", "3", "1"],
               zeiritsu=[2000, 2400, 12900, 10800, 1000, 1800, 10800],
               genmen_gaku=[0, 0, 0, 10800, 0, 0, 0], zeigaku=[2000, 2400, 12900, 0, 1000, 1800, 10800])
    assert failing(run("ZEI-KEI-ZEIRITSU", {"zei_kei_kazei_meisai": m}), "sharyo_no") == ["0000000006"]
    wrong = meisai(shashu_kubun=["106"], juka_keika_kubun=["0"], zeiritsu=[2400], genmen_gaku=[0], zeigaku=[2400])  # charged as 90cc超
    assert run("ZEI-KEI-ZEIRITSU", {"zei_kei_kazei_meisai": wrong}).failed == 1


def test_juka_from_the_nendo_of_the_14th_year_and_exempt_fuels():
    """附則第30条第1項: 初回指定の月から14年を経過した月の属する年度以後; EV・CNG・ハイブリッド・被けん引は除く."""
    s = sharyo(shashu_kubun=["212"] * 6, nenryo=["1", "1", "1", "3", "1", "1"],
               hikenin_flag=[False, False, False, False, True, False],
               shodo_kensa_nengetsu=["201103", "201104", "201104", "201001", "201001", "201001"])
    m = meisai(shashu_kubun=["212"] * 6, juka_keika_kubun=["1", "1", "2", "2", "2", "0"])
    # 2011-03 → 2025-03 is in 年度2024: 重課; 2011-04 → 年度2025: not yet (旧税率 until then);
    # hybrid and 被けん引 never 重課 (旧税率); the last one (2010, gasoline) must be 重課
    res = run("ZEI-KEI-JUKA", {"zei_kei_kazei_meisai": m, "zei_kei_sharyo": s})
    assert failing(res, "sharyo_no") == ["0000000001", "0000000005"]


def test_green_tokurei_only_the_next_nendo_in_the_window():
    """附則第30条第2項: 令和4.4〜令和8.3 に初回指定の電気・天然ガス車の翌年度分だけ; 第3・4項 ガソリンは営業用乗用のみ."""
    s = sharyo(shashu_kubun=["212", "212", "212", "212", "212"], nenryo=["4", "4", "4", "1", "1"], hikenin_flag=[False] * 5,
               shodo_kensa_nengetsu=["202306", "202306", "202203", "202306", "202306"])
    m = meisai(kazei_nendo=[2024, 2025, 2023, 2024, 2024], shashu_kubun=["212"] * 5,
               juka_keika_kubun=["3", "3", "3", "3", "4"])
    res = run("ZEI-KEI-JUKA", {"zei_kei_kazei_meisai": m, "zei_kei_sharyo": s})
    assert failing(res, "sharyo_no") == ["0000000001", "0000000002", "0000000003", "0000000004"]


def test_hyoshiki_and_shatai_unique_among_active_vehicles():
    """標識・車台番号は有効な車両の間で一意 (廃車済み・過去の履歴は除く)."""
    s = pl.DataFrame({"sharyo_no": ["1", "1", "2", "3", "4"], "rireki_no": [1, 2, 1, 1, 1],
                      "hyoshiki_no": ["架空 あ 1", "架空 あ 9", "架空 あ 1", "架空 あ 9", "架空 あ 5"],
                      "shatai_no": ["X1", "X1", "X2", "X3", "X3"],
                      "haisha_date": [None, None, None, None, dt.date(2023, 1, 1)]})
    res = run("ZEI-KEI-UNIQUE", {"zei_kei_sharyo": s})
    # vehicle 1 (latest 履歴 あ 9) and vehicle 3 share あ 9; あ 1 of 1's old 履歴 does not count; 4 is 廃車
    assert sorted(res.failures.get_column("sharyo_no").to_list()) == ["1", "3"]


def test_shin_kijun_gentsuki_code_valid_from_its_nendo():
    """第463条の15第1項第1号ハ (新基準原付) is in the text in force 2025; not before."""
    m = meisai(kazei_nendo=[2024, 2025], shashu_kubun=["106", "106"], juka_keika_kubun=["0", "0"])
    assert failing(run("ZEI-KEI-CODE-NENDO.zei_kei_kazei_meisai", {"zei_kei_kazei_meisai": m}), "sharyo_no") == ["0000000000"]


@pytest.mark.parametrize("rule_id", ["ZEI-KOJIN-NENZEIGAKU", "ZEI-KEI-JUKA", "ZEI-KOTEI-MOCHIBUN", "ZEI-KEI-KAZEI-KIKAN"])
def test_rules_cite_an_article(rule_id):
    assert "条" in full_catalogue()[rule_id].description


def test_missing_columns_skip_not_pass():
    rule = full_catalogue()["ZEI-KOJIN-NENZEIGAKU"]
    res = validate_tables({"zei_kojin_zeigaku": pl.DataFrame({"kazei_nendo": [2024], "atena_no": ["A"]})}, rules=[rule])
    assert res.rules[0].status == "skipped"
