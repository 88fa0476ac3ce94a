"""軽自動車税 (種別割) of the sample, 年度 2023–2026: 車両台帳 (履歴), 年度別課税明細, 納税義務者.

The 税率 of a vehicle in a 年度 is decided from codes/kei_shashu_kubun exactly as附則第30条 says:
経年重課 from the 年度 containing the month 14 years after the first registration (初度検査年月),
グリーン化特例 only for the 年度 after a registration in its window, 旧税率 before 2015-04, else the
standard rate of the 年度. Fixed edge vehicles are always present (see ``EDGES``)."""
from __future__ import annotations

import datetime as dt
import random

from kikan_hub.layouts.isl import load_code_table
from kikan_hub.sample.profile import Kei, ZeiProfile
from kikan_hub.sample.zei.population import Population, age_on

YEARS = (2023, 2024, 2025, 2026)
# (車種, 初度検査年月, 燃料, 取得日, 廃車日, why)
EDGES = [
    ("212", "201103", "1", dt.date(2011, 3, 20), None, "14年: 初回指定 2011-03 → 2024年度から重課"),
    ("212", "201104", "1", dt.date(2011, 4, 5), None, "14年: 初回指定 2011-04 → 2025年度から重課"),
    ("212", "202306", "4", dt.date(2023, 6, 10), None, "グリーン化特例 第2項 (電気): 2024年度だけ 2,700円"),
    ("106", "202511", "1", dt.date(2025, 11, 1), None, "新基準原付 (第463条の15第1項第1号ハ): 2,000円"),
    ("212", "200905", "3", dt.date(2009, 5, 1), None, "ハイブリッドは重課しない (旧税率のまま)"),
    ("211", "202305", "1", dt.date(2023, 5, 1), None, "グリーン化特例 第3項 (ガソリン営業用乗用): 2024年度 3,500円"),
    ("103", "", "1", dt.date(2018, 7, 1), dt.date(2024, 4, 1), "廃車日が4月1日: 2024年度は課税しない"),
    ("101", "", "1", dt.date(2025, 4, 1), None, "取得日が4月1日: 2025年度から課税"),
]


def _fy(yyyymm: str) -> int:
    y, m = int(yyyymm[:4]), int(yyyymm[4:])
    return y if m >= 4 else y - 1


def rate_for(shashu: str, reg: str, fuel: str, year: int, kei: dict, green: str | None = None) -> tuple[str, int]:
    """(重課・軽課区分, 税率) of a vehicle in a 年度 (附則第30条, 第463条の15)."""
    three = shashu in kei["three_wheels_or_more"]
    juka = kei["juka"]
    if three and reg and fuel not in juka["exempt_fuels"] and year >= juka["from_nendo"] \
            and year >= _fy(reg) + juka["years"]:
        return "1", juka["rates"][shashu]
    if three and reg and green and year == _fy(reg) + 1:
        g = kei["green"][green]
        if g["registered_from"][:7].replace("-", "") <= reg <= g["registered_to"][:7].replace("-", "") \
                and shashu in g["rates"]:
            return green, g["rates"][shashu]
    if three and reg and reg < kei["old_rate"]["registered_before"][:7].replace("-", ""):
        return "2", kei["old_rate"]["rates"][shashu]
    for w in kei["standard_rate"][shashu]:
        if w.get("from", 0) <= year <= w.get("to", 9999):
            return "0", w["rate"]
    raise ValueError(f"no rate for {shashu} in {year}")


def simulate_kei(pop: Population, rnd: random.Random, defects: bool,
                 prof: ZeiProfile) -> tuple[dict[str, list[dict]], list[dict]]:
    kei = load_code_table("kei_shashu_kubun").extra
    adults = [p for p in pop.persons if age_on(p.birth, dt.date(2023, 4, 1)) >= 18]
    rows: dict[str, list[dict]] = {"zei_kei_sharyo": [], "zei_kei_kazei_meisai": [], "zei_kei_nozeigimusha": []}
    vehicles = _vehicles(rnd, prof.kei, kei, adults)
    plant_juka = None
    if defects:     # a 2005 vehicle due 重課 but charged the standard rate (its rate is right for the 区分 given)
        vehicles.append(("212", "200501", "1", dt.date(2005, 1, 10), None, adults[0]))
        plant_juka = len(vehicles) - 1
    for n, vehicle in enumerate(vehicles):
        _register(rows, n, vehicle, adults, kei, plant_juka)
    if defects:
        # two active vehicles with one 標識番号
        rows["zei_kei_sharyo"][-1]["hyoshiki_no"] = rows["zei_kei_sharyo"][0]["hyoshiki_no"]
    _nozeigimusha(rows)
    return rows, (_planted(rows, plant_juka) if defects else [])


def _vehicles(rnd: random.Random, spec: Kei, kei: dict, adults: list) -> list[tuple]:
    """(車種, 初度検査年月, 燃料, 取得日, 廃車日, owner): the fixed edge vehicles, then the adults' own."""
    vehicles = []
    for k, (shashu, reg, fuel, got, gone, _why) in enumerate(EDGES):
        vehicles.append((shashu, reg, fuel, got, gone, adults[k % len(adults)]))
    for p in adults:
        if rnd.random() > spec.owner_share:
            continue
        shashu = rnd.choice(spec.shashu)
        got = dt.date(rnd.randint(*spec.acquired), rnd.randint(1, 12), rnd.randint(1, 28))
        reg = f"{got.year}{got.month:02d}" if shashu in kei["three_wheels_or_more"] else ""
        fuel = rnd.choice(spec.fuel)
        gone = (got + dt.timedelta(days=rnd.randint(*spec.scrapped.after_days))
                if rnd.random() < spec.scrapped.share else None)
        vehicles.append((shashu, reg, fuel, got, gone, p))
    return vehicles


GREEN_OF_FUEL = {"4": "3", "5": "3", "1": "4"}


def _register(rows, n: int, vehicle: tuple, adults: list, kei: dict, plant_juka: int | None) -> None:
    """The vehicle's 車両台帳 履歴 (a 名義変更 for some) and its 課税明細 per 年度 it is held on 4月1日."""
    shashu, reg, fuel, got, gone, owner = vehicle
    sharyo_no = f"{n + 1:010d}"
    transfer = dt.date(2024, 9, 1) if n % 17 == 5 and not gone and got < dt.date(2024, 9, 1) else None
    spans = [(1, owner, got, transfer, "2"), (2, adults[(n * 7) % len(adults)], transfer, gone, "1")] if transfer \
        else [(1, owner, got, gone, "1")]
    for rireki, who, start, end, jiyu in spans:
        rows["zei_kei_sharyo"].append({
            "sharyo_no": sharyo_no, "rireki_no": rireki, "atena_no": who.atena_no, "shoyusha_atena_no": who.atena_no,
            "shashu_kubun": shashu, "hyoshiki_no": f"架空市 {'あいうえお'[n % 5]} {n + 1}", "shatai_no": f"KK{n + 1:07d}",
            "saiko_shutsuryoku": "3.50" if shashu == "106" else None, "nenryo": fuel, "hikenin_flag": False,
            "shodo_kensa_nengetsu": reg or None, "shinkoku_moto": "3" if shashu[0] in "13" else "1",
            "shutoku_date": start, "haisha_date": end, "haisha_jiyu": jiyu if end else None,
            "shori_date": start})
        for year in YEARS:
            fuku = dt.date(year, 4, 1)
            if not (start <= fuku and (end is None or fuku < end)):
                continue
            green = GREEN_OF_FUEL.get(fuel) if not (fuel == "1" and shashu != "211") else None
            kubun, rate = rate_for(shashu, reg, fuel, year, kei, green)
            if n == plant_juka and year == 2024:
                kubun, rate = "0", rate_for(shashu, "", fuel, year, kei)[1]
            genmen = rate if (n % 53 == 11) else 0
            rows["zei_kei_kazei_meisai"].append({
                "kazei_nendo": year, "sharyo_no": sharyo_no, "rireki_no": rireki, "atena_no": who.atena_no,
                "shashu_kubun": shashu, "juka_keika_kubun": kubun, "zeiritsu": rate,
                "genmen_kubun": "1" if genmen else "0", "genmen_gaku": genmen, "zeigaku": rate - genmen,
                "shori_date": dt.date(year, 4, 1)})


def _nozeigimusha(rows) -> None:
    """納税義務者 per 年度: the sum of the owner's vehicles."""
    by_owner: dict[tuple[int, str], list[dict]] = {}
    for m in rows["zei_kei_kazei_meisai"]:
        by_owner.setdefault((m["kazei_nendo"], m["atena_no"]), []).append(m)
    for (year, atena), ms in sorted(by_owner.items()):
        zei, gen = sum(m["zeiritsu"] for m in ms), sum(m["genmen_gaku"] for m in ms)
        rows["zei_kei_nozeigimusha"].append({
            "kazei_nendo": year, "atena_no": atena, "kazei_daisu": len(ms), "hikazei_daisu": sum(1 for m in ms if m["genmen_gaku"]),
            "zeigaku": zei, "genmen_gaku": gen, "nenzeigaku": zei - gen, "shori_date": dt.date(year, 4, 1)})


def _planted(rows, plant_juka: int) -> list[dict]:
    """ZEI-KEI-JUKA (the 2005 vehicle charged the standard rate) and ZEI-KEI-UNIQUE (one 標識番号 twice)."""
    first, last = rows["zei_kei_sharyo"][0], rows["zei_kei_sharyo"][-1]
    return [{"rule": "ZEI-KEI-JUKA", "table": "zei_kei_kazei_meisai",
             "key": {"kazei_nendo": 2024, "sharyo_no": f"{plant_juka + 1:010d}"}},
            {"rule": "ZEI-KEI-UNIQUE", "table": "zei_kei_sharyo",
             "key": {"sharyo_no": first["sharyo_no"], "rireki_no": first["rireki_no"]}},
            {"rule": "ZEI-KEI-UNIQUE", "table": "zei_kei_sharyo",
             "key": {"sharyo_no": last["sharyo_no"], "rireki_no": last["rireki_no"]}}]
