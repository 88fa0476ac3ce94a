"""個人住民税 of the sample residents, 年度 2023–2025: the 課税台帳, 調定 (with 更正), 期別, 特別徴収.

The arithmetic follows 地方税法 as the rules check it (rules/zei.yaml): 課税標準 in 1,000円, 所得割 in
100円 after the 税額控除, 均等割 and 森林環境税 per 年度 from codes/zei_kojin_kintowari, the 令和6年度
特別税額控除 (1万円 × 人数, 合計所得 ≤ 1,805万円; 給与特徴 11回 from July, 附則第5条の10) and the 令和7年度
配偶者分 (附則第5条の12). Incomes and deductions are simplified (a sample, not a tax engine).
"""
from __future__ import annotations

import datetime as dt
import math
import random

from kikan_hub.layouts.isl import load_code_table
from kikan_hub.sample.profile import Kojin, ZeiProfile
from kikan_hub.sample.zei.population import Person, Population, age_on

YEARS = (2023, 2024, 2025)
SHI_RATE, KEN_RATE = 6, 4                 # 所得割 (%) 第314条の3, 第35条 (標準税率)
KISO_KOJO, FUYO_KOJO = 430_000, 330_000   # 基礎控除・扶養控除 (住民税; simplified)
HIKAZEI_GENDO = 450_000                   # 均等割の非課税限度 (単身, 条例; simplified)
TEIGAKU_LIMIT = 18_050_000                # 附則第5条の8: 合計所得金額 1,805万円以下
NOKI = ((6, 30), (8, 31), (10, 31), (1, 31))   # 第320条 (条例で定める納期の例)


def kintowari(year: int, code: str) -> int:
    for w in load_code_table("zei_kojin_kintowari").extra["standard_rate"][code]:
        if w.get("from", 0) <= year <= w.get("to", 9999):
            return int(w["rate"])
    return 0


def _floor(v: float, step: int) -> int:
    return int(v // step * step)


class Taxpayer:
    def __init__(self, p: Person, salary: int, pension: int, business: int, employer: str | None,
                 employer2: str | None, spouse: Person | None, dependents: list[Person]):
        self.p, self.salary, self.pension, self.business = p, salary, pension, business
        self.employer, self.employer2, self.spouse, self.dependents = employer, employer2, spouse, dependents

    def kyuyo_shotoku(self) -> int:
        return max(0, self.salary - max(550_000, self.salary * 3 // 10)) if self.salary else 0

    def nenkin_shotoku(self) -> int:
        return max(0, self.pension - 1_100_000)

    def gokei(self) -> int:
        return self.kyuyo_shotoku() + self.nenkin_shotoku() + self.business


def _split(total: int, n: int, step: int) -> list[int]:
    """n instalments in `step` units, the remainder in the first (第321条の5: 端数は最初の月)."""
    base = _floor(total / n, step) if n else 0
    return [total - base * (n - 1)] + [base] * (n - 1)


def compute(tp: Taxpayer, year: int, extra_salary: int = 0) -> dict:
    salary = tp.salary + extra_salary
    t = Taxpayer(tp.p, salary, tp.pension, tp.business, tp.employer, tp.employer2, tp.spouse, tp.dependents)
    gokei = t.gokei()
    shaho = salary * 14 // 100
    kojo = KISO_KOJO + shaho + FUYO_KOJO * (len(t.dependents) + (1 if t.spouse and gokei <= 10_000_000 else 0))
    kazei_sogo = _floor(max(0, gokei - kojo), 1000)
    out = {"gokei_shotoku": gokei, "sogo_shotoku": gokei, "shotoku_kojo_gokei": kojo, "kazei_sogo_shotoku": kazei_sogo,
           "shaho": shaho}
    if gokei <= HIKAZEI_GENDO:
        out.update(kazei_kubun="4", shi_sangaku=0, ken_sangaku=0, shi_chosei=0, ken_chosei=0, shi_tok=0, ken_tok=0,
                   ninzu=None, shi=0, ken=0, shi_kin=0, ken_kin=0, shinrin=0)
        return out
    shi_s, ken_s = kazei_sogo * SHI_RATE // 100, kazei_sogo * KEN_RATE // 100
    shi_c, ken_c = (min(1500, shi_s), min(1000, ken_s)) if kazei_sogo else (0, 0)
    shi_a, ken_a = shi_s - shi_c, ken_s - ken_c
    credit, ninzu = 0, None
    if year == 2024 and gokei <= TEIGAKU_LIMIT:              # 附則第5条の8
        ninzu = 1 + (1 if t.spouse else 0) + len(t.dependents)
        credit = min(10_000 * ninzu, shi_a + ken_a)
    elif year == 2025 and t.spouse and 10_000_000 < gokei <= TEIGAKU_LIMIT:   # 附則第5条の12 (控除対象配偶者でない配偶者)
        ninzu = 1
        credit = min(10_000, shi_a + ken_a)
    ken_t = math.ceil(credit * ken_a / (shi_a + ken_a)) if credit else 0     # 附則第5条の12第2項: 1円未満切上げ
    shi_t = credit - ken_t
    shi, ken = _floor(max(0, shi_a - shi_t), 100), _floor(max(0, ken_a - ken_t), 100)
    out.update(kazei_kubun="1" if kazei_sogo else "2", shi_sangaku=shi_s, ken_sangaku=ken_s, shi_chosei=shi_c,
               ken_chosei=ken_c, shi_tok=shi_t, ken_tok=ken_t, ninzu=ninzu, shi=shi, ken=ken,
               shi_kin=kintowari(year, "1"), ken_kin=kintowari(year, "2"), shinrin=kintowari(year, "3"))
    return out


def _choshu(tp: Taxpayer, year: int) -> str:
    if tp.employer:
        return "2"
    if tp.pension and age_on(tp.p.birth, dt.date(year, 4, 1)) >= 65:
        return "3"
    return "1"


def simulate_kojin(pop: Population, rnd: random.Random, defects: bool,
                   prof: ZeiProfile) -> tuple[dict[str, list[dict]], list[dict]]:
    rows: dict[str, list[dict]] = {k: [] for k in ("zei_kojin_nozeigimusha", "zei_kojin_shotoku", "zei_kojin_kojo",
                                                    "zei_kojin_zeigaku", "zei_kojin_tokucho_gimusha", "zei_kojin_tokucho",
                                                    "zei_kojin_kibetsu", "zei_kojin_nenkin_tokucho")}
    for i, c in enumerate(pop.companies):
        rows["zei_kojin_tokucho_gimusha"].append({
            "shitei_no": f"{i + 1:012d}", "atena_no": c, "hojin_bango": None, "meisho": f"架空商事{i + 1}号株式会社",
            "meisho_kana": "カクウシヨウジ" + "イロハニホヘトチリヌ"[i % 10], "jusho": "架空市本町1丁目1番1号", "eltax_flag": i % 2 == 0,
            "noki_tokurei_flag": i % 3 == 0, "shitei_date": dt.date(2015, 4, 1), "shori_date": dt.date(2023, 5, 1)})
    taxpayers = _taxpayers(pop, rnd, prof.kojin)
    kosei_targets = {tp.p.atena_no for tp in taxpayers if rnd.random() < prof.kojin.kosei_share}
    for year in YEARS:
        jan1 = dt.date(year, 1, 1)
        for tp in taxpayers:
            if age_on(tp.p.birth, jan1) < 18:
                continue
            base = compute(tp, year)
            versions = [(0, base, "1", "00")]
            if year == 2024 and tp.p.atena_no in kosei_targets and base["kazei_kubun"] != "4":
                versions.append((1, compute(tp, year, extra_salary=200_000 if tp.salary else 0), "2", "01"))
            choshu = _choshu(tp, year)
            if base["kazei_kubun"] == "4":
                choshu = "1"
            _nozei(rows, tp, year, versions[-1][1], choshu, len(versions) - 1)
            _shotoku(rows, tp, year)
            _kojo(rows, tp, year, versions[-1][1])
            prev = None
            for kosei, r, chotei, jiyu in versions:
                nenzei = r["shi"] + r["ken"] + r["shi_kin"] + r["ken_kin"] + r["shinrin"]
                _zeigaku(rows, tp, year, kosei, r, chotei, jiyu, nenzei, choshu, prev)
                _kibetsu_and_tokucho(rows, tp, year, kosei, r, nenzei, choshu, last=kosei == len(versions) - 1)
                prev = nenzei
    planted = _plant(rows, pop) if defects else []
    return rows, planted


def _taxpayers(pop: Population, rnd: random.Random, spec: Kojin) -> list[Taxpayer]:
    ref = dt.date(2024, 1, 1)
    out: list[Taxpayer] = []
    forced_spouse_case = False
    for setai, members in sorted(pop.households.items()):
        head = next((m for m in members if m.zokugara == "01"), members[0])
        for p in members:
            age = age_on(p.birth, ref)
            if age < spec.adult_age:
                continue
            r = rnd.random()
            salary = pension = business = 0
            if age >= spec.pension_age:
                pension = spec.pension.draw(rnd)
                salary = spec.pensioner_salary.draw(rnd) if r < spec.pensioner_salary.share else 0
            elif r < spec.salary.upto:
                salary = spec.salary.draw(rnd)
            elif r < spec.business.upto:
                business = spec.business.draw(rnd)
            employer = pop.companies[rnd.randrange(len(pop.companies))] if salary else None
            employer2 = pop.companies[(pop.companies.index(employer) + 1) % len(pop.companies)] \
                if employer and rnd.random() < spec.second_employer_share else None
            spouse = next((m for m in members if m is not p and p is head and m.zokugara in ("12", "11")), None)
            deps = [m for m in members if p is head and m is not spouse and m is not p and age_on(m.birth, ref) < 23]
            if spouse and salary and not forced_spouse_case:        # the 令和7 配偶者分 edge case (附則第5条の12)
                salary, forced_spouse_case = 16_000_000, True
            out.append(Taxpayer(p, salary, pension, business, employer, employer2, spouse, deps))
    return out


_INDEX_CACHE: list = [None, -1, {}]       # [the master list itself (kept, so no id reuse), its length, index]


def _company_index(rows) -> dict[str, str]:
    """宛名番号 → 指定番号 of the 特別徴収義務者, rebuilt only when the master has changed (rebuilding it once
    per taxpayer made the sample quadratic in the city's size)."""
    masters = rows["zei_kojin_tokucho_gimusha"]
    if _INDEX_CACHE[0] is not masters or _INDEX_CACHE[1] != len(masters):
        _INDEX_CACHE[:] = [masters, len(masters), {g["atena_no"]: g["shitei_no"] for g in masters}]
    return _INDEX_CACHE[2]


def _nozei(rows, tp: Taxpayer, year: int, r: dict, choshu: str, kosei: int) -> None:
    idx = _company_index(rows)
    rows["zei_kojin_nozeigimusha"].append({
        "kazei_nendo": year, "atena_no": tp.p.atena_no, "setai_no": tp.p.setai_no, "kazei_jusho_kubun": "1",
        "jusho": "架空市", "kazei_kubun": r["kazei_kubun"], "hikazei_jiyu": "3" if r["kazei_kubun"] == "4" else None,
        "choshu_hoho": choshu, "tokucho_gimusha_no": idx.get(tp.employer) if choshu == "2" else None,
        "tokucho_gimusha_atena_no": tp.employer if choshu == "2" else None,
        "shinkoku_shurui": "3" if tp.salary else ("4" if tp.pension else "2"), "mishinkoku_flag": False,
        "birth_date": tp.p.birth, "doitsu_seikei_haigusha_flag": tp.spouse is not None,
        "haigusha_atena_no": tp.spouse.atena_no if tp.spouse else None, "fuyo_ninzu": len(tp.dependents),
        "honnin_shogaisha_kubun": "0", "kafu_hitorioya_kubun": "0", "gokei_shotoku": r["gokei_shotoku"],
        "sogo_shotoku": r["sogo_shotoku"], "kosei_kaisu": kosei, "kazei_date": dt.date(year, 6, 1),
        "shori_date": dt.date(year, 6, 1)})


def _shotoku(rows, tp: Taxpayer, year: int) -> None:
    idx = _company_index(rows)
    n = 0
    for shurui, shunyu, shotoku, payer in (("06", tp.salary, tp.kyuyo_shotoku(), tp.employer),
                                           ("07", tp.pension, tp.nenkin_shotoku(), None),
                                           ("01", tp.business, tp.business, None)):
        if not shunyu:
            continue
        n += 1
        rows["zei_kojin_shotoku"].append({
            "kazei_nendo": year, "atena_no": tp.p.atena_no, "shotoku_renban": n, "shotoku_shurui": shurui,
            "bunri_kazei_flag": False, "shiryo_shurui": {"06": "3", "07": "4"}.get(shurui, "2"),
            "shunyu_kingaku": shunyu, "hitsuyo_keihi": shunyu - shotoku, "shotoku_kingaku": shotoku,
            "shiharaisha_atena_no": payer, "shiharaisha_shitei_no": idx.get(payer) if payer else None,
            "shushoku_date": dt.date(year - 1, 7, 1) if payer and int(tp.p.atena_no[-4:-1]) % 7 == 0 else None,
            "taishoku_date": None, "shiryo_juri_date": dt.date(year, 1, 31), "shori_date": dt.date(year, 2, 15)})


def _kojo(rows, tp: Taxpayer, year: int, r: dict) -> None:
    items = [("14", KISO_KOJO, None)]
    if r["shaho"]:
        items.append(("03", r["shaho"], None))
    if tp.spouse:
        items.append(("11", FUYO_KOJO, tp.spouse.atena_no))
    items += [("13", FUYO_KOJO, d.atena_no) for d in tp.dependents]
    for n, (shurui, amount, taisho) in enumerate(items, 1):
        rows["zei_kojin_kojo"].append({"kazei_nendo": year, "atena_no": tp.p.atena_no, "kojo_renban": n,
                                       "kojo_shurui": shurui, "kojo_kingaku": amount, "taisho_atena_no": taisho,
                                       "shori_date": dt.date(year, 2, 15)})


def _zeigaku(rows, tp, year, kosei, r, chotei, jiyu, nenzei, choshu, prev) -> None:
    tokucho = nenzei if choshu == "2" else 0
    nenkin = nenzei if choshu == "3" else 0
    rows["zei_kojin_zeigaku"].append({
        "kazei_nendo": year, "atena_no": tp.p.atena_no, "kosei_kaisu": kosei, "chotei_kubun": chotei, "kosei_jiyu": jiyu,
        "kazei_kubun": r["kazei_kubun"], "gokei_shotoku": r["gokei_shotoku"], "sogo_shotoku": r["sogo_shotoku"],
        "shotoku_kojo_gokei": r["shotoku_kojo_gokei"], "kazei_sogo_shotoku": r["kazei_sogo_shotoku"],
        "shi_shotokuwari_sangaku": r["shi_sangaku"], "ken_shotokuwari_sangaku": r["ken_sangaku"],
        "shi_chosei_kojo": r["shi_chosei"], "ken_chosei_kojo": r["ken_chosei"],
        "tokubetsu_kojo_ninzu": r["ninzu"], "shi_tokubetsu_zeigaku_kojo": r["shi_tok"],
        "ken_tokubetsu_zeigaku_kojo": r["ken_tok"], "shi_shotokuwari": r["shi"], "ken_shotokuwari": r["ken"],
        "shi_kintowari": r["shi_kin"], "ken_kintowari": r["ken_kin"], "shinrin_kankyozei": r["shinrin"],
        "genmen_gaku": 0, "nenzeigaku": nenzei, "tokucho_zeigaku": tokucho, "nenkin_tokucho_zeigaku": nenkin,
        "fucho_zeigaku": nenzei - tokucho - nenkin, "zengaku_nenzeigaku": prev,
        "zogen_gaku": None if prev is None else nenzei - prev,
        "kettei_date": dt.date(year, 6, 1) if kosei == 0 else dt.date(year, 9, 1),
        "shori_date": dt.date(year, 6, 1) if kosei == 0 else dt.date(year, 9, 1)})


def _kibetsu_and_tokucho(rows, tp, year, kosei, r, nenzei, choshu, last: bool) -> None:
    def put(kubun: str, shitei: str, ki: int, due: dt.date, amount: int) -> None:
        rows["zei_kojin_kibetsu"].append({"kazei_nendo": year, "atena_no": tp.p.atena_no, "kosei_kaisu": kosei,
                                          "choshu_kubun": kubun, "shitei_no": shitei, "ki": ki, "nokigen": due,
                                          "zeigaku": amount, "shori_date": dt.date(year, 6, 1)})
    if nenzei == 0:
        return
    if choshu == "1":
        for k, ((m, d), amount) in enumerate(zip(NOKI, _split(nenzei, 4, 1000)), 1):
            put("1", "000000000000", k, dt.date(year + (m == 1), m, d), amount)
    elif choshu == "2":
        idx = _company_index(rows)
        payers = [idx[tp.employer]] + ([idx[tp.employer2]] if tp.employer2 else [])
        shares = [nenzei] if len(payers) == 1 else [nenzei - _floor(nenzei * 0.3, 100), _floor(nenzei * 0.3, 100)]
        credit = r["shi_tok"] + r["ken_tok"]
        months = list(range(7, 13)) + list(range(1, 6)) if year == 2024 and credit > 0 else \
            list(range(6, 13)) + list(range(1, 6))                      # 附則第5条の10 / 第321条の5第1項
        for shitei, share in zip(payers, shares):
            parts = _split(share, len(months), 100)
            for m, amount in zip(months, parts):
                y = year + (m <= 5)
                put("2", shitei, m, dt.date(y + (m == 12), 1 if m == 12 else m + 1, 10), amount)
            if last:
                retire = int(tp.p.atena_no[-4:-1]) % 29 == 0
                rows["zei_kojin_tokucho"].append({
                    "kazei_nendo": year, "atena_no": tp.p.atena_no, "shitei_no": shitei, "ido_renban": 0, "ido_jiyu": "0",
                    "ido_date": None, "tokucho_zeigaku": share, "tsukiwari_shogatsu": parts[0],
                    "tsukiwari": parts[1] if len(parts) > 1 else None, "kaishi_tsuki": f"{year}{months[0]:02d}",
                    "shuryo_tsuki": f"{year + 1}05", "tsuchi_date": dt.date(year, 5, 15), "shori_date": dt.date(year, 5, 15)})
                if retire:   # 年度中の退職: 普通徴収へ切替 (第321条の4第5項, 第321条の5第2項)
                    rows["zei_kojin_tokucho"].append({
                        "kazei_nendo": year, "atena_no": tp.p.atena_no, "shitei_no": shitei, "ido_renban": 1,
                        "ido_jiyu": "1", "ido_date": dt.date(year, 10, 15), "tokucho_zeigaku": share,
                        "tsukiwari_shogatsu": parts[0], "tsukiwari": parts[1] if len(parts) > 1 else None,
                        "kaishi_tsuki": f"{year}{months[0]:02d}", "shuryo_tsuki": f"{year}10",
                        "fucho_kirikae_gaku": sum(parts[5:]) if len(parts) > 5 else 0,
                        "tsuchi_date": dt.date(year, 5, 15), "shori_date": dt.date(year, 10, 20)})
    else:
        kari = _floor(nenzei / 6, 100)
        hon = _split(nenzei - 3 * kari, 3, 100)
        for m, amount in zip((4, 6, 8), [kari] * 3):
            put("3", "000000000000", m, dt.date(year, m + 1, 10), amount)
        for m, amount in zip((10, 12, 2), hon):
            y = year + (m == 2)
            put("4", "000000000000", m, dt.date(y + (m == 12), 1 if m == 12 else m + 1, 10), amount)
        if last:
            rows["zei_kojin_nenkin_tokucho"].append({
                "kazei_nendo": year, "atena_no": tp.p.atena_no, "nenkin_hokensha": "001", "nenkin_code": "0120",
                "nenkin_shikyu_gaku": tp.pension, "kari_choshu_gaku": kari, "kari_choshu_kaisu": 3,
                "hon_choshu_gaku": hon[0], "hon_choshu_gaku_2": hon[1], "nenkin_tokucho_zeigaku": nenzei,
                "kaishi_date": dt.date(year, 4, 15), "shori_date": dt.date(year, 7, 1)})


def _plant(rows, pop: Population) -> list[dict]:
    """One row per rule, each breaking exactly that rule."""
    planted = []
    z = next(r for r in rows["zei_kojin_zeigaku"] if r["kazei_nendo"] == 2024 and r["kazei_kubun"] == "1"
             and r["kosei_kaisu"] == 0 and r["shi_shotokuwari"] > 0)
    z["genmen_gaku"] = 100            # 減免額 without lowering the 年税額
    planted.append({"rule": "ZEI-KOJIN-NENZEIGAKU", "table": "zei_kojin_zeigaku",
                    "key": {"kazei_nendo": 2024, "atena_no": z["atena_no"], "kosei_kaisu": 0}})
    n = next(r for r in rows["zei_kojin_nozeigimusha"] if r["kazei_nendo"] == 2024 and r["choshu_hoho"] == "1"
             and age_on(r["birth_date"], dt.date(2024, 4, 1)) < 65)
    n["choshu_hoho"] = "3"            # 年金特徴 for someone under 65 on 4月1日
    planted.append({"rule": "ZEI-KOJIN-NENKIN-65", "table": "zei_kojin_nozeigimusha",
                    "key": {"kazei_nendo": 2024, "atena_no": n["atena_no"]}})
    return planted
