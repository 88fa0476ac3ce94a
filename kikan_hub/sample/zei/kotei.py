"""固定資産税 of the sample, 年度 2024: 土地 (住宅用地の区分ごとの課税標準), 家屋 (新築減額), 共有の持分,
区分所有の共用土地 (第352条の2), 償却資産の申告と資産明細, 納税義務者ごとの免税点と税額.

Ratios, 免税点 and the 新築減額 years come from the code tables (jutaku_yochi_tokurei, kotei_shisan_kubun,
shinchiku_genmen_kubun), the same data the rules check against."""
from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

from kikan_hub.layouts.isl import load_code_table
from kikan_hub.sample.profile import Kotei, Shokyaku, ZeiProfile
from kikan_hub.sample.zei.population import Population

YEAR = 2024
SHORI = dt.date(2024, 4, 1)


def _ratio(kubun: str, key: str) -> Fraction:
    num, den = load_code_table("jutaku_yochi_tokurei").extra[key][kubun]
    return Fraction(num, den)


def simulate_kotei(pop: Population, rnd: random.Random, defects: bool,
                   prof: ZeiProfile) -> tuple[dict[str, list[dict]], list[dict]]:
    spec = prof.kotei
    rows: dict[str, list[dict]] = {k: [] for k in ("zei_kotei_nozeigimusha", "zei_kotei_tochi", "zei_kotei_tochi_kubun",
                                                    "zei_kotei_mochibun", "zei_kotei_kaoku", "zei_kotei_shokyaku_shinkoku",
                                                    "zei_kotei_shokyaku_shisan")}
    base: dict[tuple[str, str], dict[str, int]] = {}     # (atena, kyoyu) → 課税標準 / 価格 totals
    menzei = load_code_table("kotei_shisan_kubun").extra["menzeiten"]
    nendo_su = load_code_table("shinchiku_genmen_kubun").extra["nendo_su"]
    bukken = 0
    heads = [(s, next((m for m in ms if m.zokugara == "01"), ms[0]), ms) for s, ms in sorted(pop.households.items())]
    for i, (setai, head, members) in enumerate(heads):
        if rnd.random() > spec.owner_share:
            continue
        bukken += 1
        owners = [head]
        spouse = next((m for m in members if m is not head and m.zokugara in ("11", "12")), None)
        if spouse and rnd.random() < spec.kyoyu_share:
            owners.append(spouse)                           # 共有 (夫婦)
        kyoyu = "00000000" if len(owners) == 1 else f"{bukken:08d}"
        hyoka, kazei_total, toshi_total = _land(rows, rnd, spec, head, bukken, kyoyu)
        kaoku_hyoka = _house(rows, rnd, spec, head, bukken, kyoyu, "A" if i % 5 == 0 else "1", nendo_su)
        _mochibun(rows, owners, f"{bukken:012d}", kyoyu)
        b = base.setdefault((head.atena_no, kyoyu), {"tochi": 0, "kaoku": 0, "tochi_h": 0, "kaoku_h": 0, "toshi": 0})
        b["tochi"] += kazei_total
        b["tochi_h"] += hyoka
        b["toshi"] += toshi_total
        b["kaoku"] += kaoku_hyoka // 1000 * 1000
        b["kaoku_h"] += kaoku_hyoka
    _kyoyo_tochi(rows, pop, base)
    shokyaku = _shokyaku(rows, pop, rnd, spec.shokyaku)
    for (atena, kyoyu), b in sorted(base.items()):
        _nozei(rows, atena, kyoyu, b, 0, menzei)
    for atena, kazei in shokyaku.items():
        _nozei(rows, atena, "00000000", {"tochi": 0, "kaoku": 0, "tochi_h": 0, "kaoku_h": 0, "toshi": 0}, kazei, menzei)
    return rows, (_plant(rows) if defects else [])


def _land(rows, rnd: random.Random, spec: Kotei, head, bukken: int, kyoyu: str) -> tuple[int, int, int]:
    """A 住宅用地: 小規模 up to 200 ㎡ per 戸, the rest 一般 (1/6・1/3; 都市計画税 1/3・2/3).
    Returns (価格, 課税標準額, 都市計画税の課税標準額)."""
    chiseki = spec.chiseki.draw(rnd)
    kosu = 1
    price_m2 = spec.price_per_m2.draw(rnd)
    hyoka = chiseki * price_m2
    shokibo = min(chiseki, 200 * kosu)
    parts = [("1", shokibo), ("2", chiseki - shokibo)] if chiseki > shokibo else [("1", shokibo)]
    tochi_no = f"{bukken:012d}"
    kazei_total = toshi_total = 0
    for kubun, area in parts:
        h = hyoka * area // chiseki
        kazei = int(h * _ratio(kubun, "kotei_ritsu")) // 1000 * 1000
        toshi = int(h * _ratio(kubun, "toshikei_ritsu")) // 1000 * 1000
        kazei_total += kazei
        toshi_total += toshi
        rows["zei_kotei_tochi_kubun"].append({
            "kazei_nendo": YEAR, "tochi_bukken_no": tochi_no, "atena_no": head.atena_no, "tokurei_kubun": kubun,
            "chiseki": f"{area}.00", "jutaku_kosu": kosu, "hyokagaku": h, "honsoku_kazei_hyojungaku": kazei,
            "zennendo_kazei_hyojungaku": kazei, "hijun_kazei_hyojungaku": kazei, "fudan_suijun": "100.0",
            "kazei_hyojungaku": kazei, "toshikei_honsoku_kazei_hyojungaku": toshi, "toshikei_kazei_hyojungaku": toshi,
            "shori_date": SHORI})
    rows["zei_kotei_tochi"].append({
        "kazei_nendo": YEAR, "tochi_bukken_no": tochi_no, "atena_no": head.atena_no, "kyoyu_no": kyoyu,
        "daicho_kubun": "1", "shozai": "架空市桜町1丁目", "chiban": f"{bukken}番", "toki_chimoku": "10",
        "genkyo_chimoku": "03", "toki_chiseki": f"{chiseki}.00", "genkyo_chiseki": f"{chiseki}.00",
        "toshikei_kuiki": "1", "nochi_kubun": "0", "akiya_kankoku_flag": False, "kyoyo_tochi_flag": False,
        "jutaku_yochi_kubun": "1" if len(parts) == 1 else "2", "shokibo_jutaku_chiseki": f"{shokibo}.00",
        "ippan_jutaku_chiseki": f"{chiseki - shokibo}.00", "jutaku_kosu": kosu, "hyokagaku": hyoka,
        "zennendo_kazei_hyojungaku": kazei_total, "kazei_hyojungaku": kazei_total,
        "toshikei_kazei_hyojungaku": toshi_total, "toki_date": dt.date(2001, 4, 1), "shori_date": SHORI})
    return hyoka, kazei_total, toshi_total


def _house(rows, rnd: random.Random, spec: Kotei, head, bukken: int, kyoyu: str, kozo: str, nendo_su) -> int:
    """家屋: 木造 or 軽量鉄骨造 (A), some 新築 with the 減額 of their 年度. Returns its 価格."""
    built = rnd.choice(spec.built_years)
    kaoku_hyoka = spec.kaoku_hyoka.draw(rnd)
    genmen = "1" if built >= 2022 else "0"
    kaishi = built + 1 if genmen != "0" else None
    rows["zei_kotei_kaoku"].append({
        "kazei_nendo": YEAR, "kaoku_bukken_no": f"{bukken:012d}", "atena_no": head.atena_no, "kyoyu_no": kyoyu,
        "daicho_kubun": "1", "shozai": "架空市桜町1丁目", "kaoku_bango": f"{bukken}番", "toki_shurui": "居宅",
        "kaoku_yoto": "01", "kaoku_kozo": kozo, "kaisu_chijo": 2, "genkyo_yuka_menseki": "98.50",
        "jutaku_yuka_menseki": "98.50", "shinchiku_date": _era_literal(built),
        "shinchiku_genmen_kubun": genmen, "genmen_kaishi_nendo": kaishi,
        "genmen_shuryo_nendo": kaishi + nendo_su[genmen] - 1 if kaishi else None,
        "hyokagaku": kaoku_hyoka, "kazei_hyojungaku": kaoku_hyoka // 1000 * 1000, "shori_date": SHORI})
    return kaoku_hyoka


def _mochibun(rows, owners: list, bukken_no: str, kyoyu: str) -> None:
    """持分 of the land (1) and the house (2): one owner whole, a 共有 of two 1/2 each (the first 代表者)."""
    shares = [Fraction(1, 1)] if len(owners) == 1 else [Fraction(1, 2), Fraction(1, 2)]
    for k, (o, share) in enumerate(zip(owners, shares)):
        for shisan in ("1", "2"):
            rows["zei_kotei_mochibun"].append({
                "kazei_nendo": YEAR, "shisan_kubun": shisan, "bukken_no": bukken_no, "atena_no": o.atena_no,
                "kyoyu_no": kyoyu, "gimusha_kubun": "1" if len(owners) == 1 else ("2" if k == 0 else "3"),
                "mochibun_bunshi": share.numerator, "mochibun_bunbo": share.denominator, "daihyo_flag": k == 0,
                "shori_date": SHORI})


def _plant(rows) -> list[dict]:
    """ZEI-KOTEI-MOCHIBUN: the last 共有 land's 持分 no longer sum to 1 (1/2 + 1/3)."""
    shared = [r for r in rows["zei_kotei_mochibun"] if r["kyoyu_no"] != "00000000" and r["shisan_kubun"] == "1"]
    if not shared:
        return []
    shared[-1]["mochibun_bunbo"] = 3
    return [{"rule": "ZEI-KOTEI-MOCHIBUN", "table": "zei_kotei_mochibun",
             "key": {"kazei_nendo": YEAR, "shisan_kubun": "1", "bukken_no": shared[-1]["bukken_no"]}}]


def _era_literal(year: int) -> str:
    """6月1日 of `year` as era code + YYMMDD (3 昭和, 4 平成, 5 令和), as the vendor writes 建築年月日."""
    era, first = ("3", 1926) if year < 1989 else ("4", 1989) if year < 2019 else ("5", 2019)
    return f"{era}{year - first + 1:02d}0601"


def _kyoyo_tochi(rows, pop: Population, base) -> None:
    """A マンション敷地 (共用土地, 第352条の2) shared by three 区分所有者 in proportion to their 専有床面積."""
    owners = pop.persons[:3]
    if len(owners) < 3:
        return
    no, floor = "990000000001", [70, 55, 75]
    for k, (p, f) in enumerate(zip(owners, floor)):
        rows["zei_kotei_mochibun"].append({
            "kazei_nendo": YEAR, "shisan_kubun": "1", "bukken_no": no, "atena_no": p.atena_no, "kyoyu_no": "99000001",
            "gimusha_kubun": "2" if k == 0 else "3", "mochibun_bunshi": f, "mochibun_bunbo": sum(floor),
            "daihyo_flag": k == 0, "anbun_bunshi": f, "anbun_bunbo": sum(floor), "shori_date": SHORI})
    rows["zei_kotei_tochi"].append({
        "kazei_nendo": YEAR, "tochi_bukken_no": no, "atena_no": owners[0].atena_no, "kyoyu_no": "99000001",
        "daicho_kubun": "1", "shozai": "架空市駅前2丁目", "chiban": "1番", "toki_chimoku": "10", "genkyo_chimoku": "03",
        "genkyo_chiseki": "600.00", "toshikei_kuiki": "1", "nochi_kubun": "0", "kyoyo_tochi_flag": True,
        "jutaku_yochi_kubun": "1", "jutaku_kosu": 3, "hyokagaku": 60_000_000, "kazei_hyojungaku": 10_000_000,
        "toshikei_kazei_hyojungaku": 20_000_000, "shori_date": SHORI})
    rows["zei_kotei_tochi_kubun"].append({
        "kazei_nendo": YEAR, "tochi_bukken_no": no, "atena_no": owners[0].atena_no, "tokurei_kubun": "1",
        "chiseki": "600.00", "jutaku_kosu": 3, "hyokagaku": 60_000_000, "honsoku_kazei_hyojungaku": 10_000_000,
        "kazei_hyojungaku": 10_000_000, "toshikei_kazei_hyojungaku": 20_000_000, "shori_date": SHORI})
    b = base.setdefault((owners[0].atena_no, "99000001"), {"tochi": 0, "kaoku": 0, "tochi_h": 0, "kaoku_h": 0, "toshi": 0})
    b["tochi"] += 10_000_000
    b["tochi_h"] += 60_000_000
    b["toshi"] += 20_000_000


def _shokyaku(rows, pop: Population, rnd: random.Random, spec: Shokyaku) -> dict[str, int]:
    """償却資産: each 事業者 declares a few assets; 評価額 = 取得価額 × 減価残存率 (前年取得は半年分), floor 5%."""
    out = {}
    for c in pop.companies:
        total_h = total_k = total_s = 0
        n = rnd.randint(*spec.assets)
        for k in range(1, n + 1):
            year = rnd.randint(*spec.acquired)
            cost = spec.cost.draw(rnd)
            life = rnd.choice(spec.life_years)
            r = round(0.5 / life * 2, 3)                    # 定率 (simplified); 前年中取得は r/2
            years = YEAR - 1 - year
            zanzon = (1 - r / 2) * (1 - r) ** years
            hyoka = max(int(cost * zanzon), cost * 5 // 100)
            tokurei = "13" if year == 2023 and k == 1 else "00"
            kazei = hyoka // 2 if tokurei == "13" else hyoka
            total_h, total_k, total_s = total_h + hyoka, total_k + kazei, total_s + cost
            rows["zei_kotei_shokyaku_shisan"].append({
                "kazei_nendo": YEAR, "atena_no": c, "shisan_no": k, "shisan_shurui": rnd.choice(spec.shurui),
                "shisan_meisho": "工作機械" if k % 2 else "応接セット", "suryo": 1, "shutoku_nengetsu": f"{year}{rnd.randint(1, 12):02d}",
                "shutoku_kakaku": cost, "taiyo_nensu": life, "genka_zanzon_ritsu": f"{round(zanzon, 3):.3f}",
                "hyokagaku": hyoka, "tokurei_kubun": tokurei, "kazei_hyojungaku": kazei, "zogen_kubun": 0,
                "shori_date": SHORI})
        kazei_total = total_k // 1000 * 1000
        rows["zei_kotei_shokyaku_shinkoku"].append({
            "kazei_nendo": YEAR, "atena_no": c, "shinkoku_kubun": "1", "shinkoku_date": dt.date(2024, 1, 25),
            "jigyo_shurui": "製造業", "shisan_su": n, "shutoku_kakaku_gokei": total_s, "hyokagaku_gokei": total_h,
            "kettei_kakaku": total_h, "kazei_hyojungaku": kazei_total, "menzeiten_flag": kazei_total < 1_500_000,
            "zeigaku": 0 if kazei_total < 1_500_000 else kazei_total * 14 // 1000 // 100 * 100, "shori_date": SHORI})
        out[c] = kazei_total
    return out


def _nozei(rows, atena: str, kyoyu: str, b: dict, shokyaku: int, menzei: dict) -> None:
    t_flag, k_flag, s_flag = b["tochi"] < menzei["1"], b["kaoku"] < menzei["2"], shokyaku < menzei["3"]
    taxable = (0 if t_flag else b["tochi"]) + (0 if k_flag else b["kaoku"]) + (0 if s_flag else shokyaku)
    kotei = taxable * 14 // 1000 // 100 * 100
    toshi = b["toshi"] * 3 // 1000 // 100 * 100
    rows["zei_kotei_nozeigimusha"].append({
        "kazei_nendo": YEAR, "atena_no": atena, "kyoyu_no": kyoyu, "gimusha_kubun": "1" if kyoyu == "00000000" else "2",
        "tochi_hyokagaku": b["tochi_h"], "tochi_kazei_hyojungaku": b["tochi"], "kaoku_hyokagaku": b["kaoku_h"],
        "kaoku_kazei_hyojungaku": b["kaoku"], "shokyaku_hyokagaku": shokyaku, "shokyaku_kazei_hyojungaku": shokyaku,
        "tochi_menzeiten_flag": t_flag, "kaoku_menzeiten_flag": k_flag, "shokyaku_menzeiten_flag": s_flag,
        "kotei_zeigaku": kotei, "toshikei_zeigaku": toshi, "genmen_gaku": 0, "nenzeigaku": kotei + toshi,
        "shori_date": SHORI})
