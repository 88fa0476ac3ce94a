"""Helpers for the business-module tests: rows built by hand and inserted after upgrade()."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kikan_hub.layouts.isl import get_table
from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade
from kikan_hub.store.schema import build_metadata

D = dt.date


def m11(body: str) -> str:
    """宛名番号 / 世帯番号 with the modulus-11 check digit."""
    from kikan_hub.validation.check_digits import m11_check_digit
    return body + str(m11_check_digit(body))


def jumin_row(atena_no, rireki_no, **kw):
    row = {c.name: None for c in get_table("juki_jumin").columns}
    row.update({"atena_no": atena_no, "rireki_no": rireki_no, "setai_no": "S0000000001", "jumin_shubetsu": "1",
                "jumin_jotai": "1", "shimei": "架空　太郎", "shimei_kana": "カクウ　タロウ",
                "birth_date": D(1980, 1, 1), "birth_date_literal": "3550101", "birth_date_unknown": False,
                "seibetsu": "1", "zokugara": "01", "jusho": "霞野市松町一丁目1番1号", "machiaza": "松町",
                "idou_jiyu": "11", "idou_date": D(2000, 4, 1), "idou_date_unknown": False,
                "shori_date": D(2000, 4, 2), "_run_id": "T", "_source_file": "test", "_record_no": 1})
    row.update(kw)
    if row.get("idou_date") is None and "idou_date_unknown" not in kw:
        row["idou_date_unknown"] = True
    return row


def rehearse_sample(base, residents: int, seed: int):
    """`kikan sample` (no defects) rehearsed into a SQLite store under ``base``: (engine, sample dir)."""
    import kikan_hub.pipeline.manifest as manifest_mod
    import kikan_hub.pipeline.rehearsal as rehearsal
    import kikan_hub.sample.generator as gen

    out = base / "sample"
    gen.generate(gen.SampleOptions(residents=residents, out=out, seed=seed, defect_rate=0.0))
    url = f"sqlite:///{base / 'kikan.db'}"
    result = rehearsal.rehearse(manifest_mod.load_manifest(out / "manifest.yaml"), url, base / "run")
    assert result.exit_code == 0, result.summary
    return open_engine(url), out


def insert_rows(engine, table_id: str, rows: list[dict]) -> None:
    if not rows:
        return
    t = build_metadata().tables[table_id]
    cols = [c.name for c in t.columns]
    full = [{c: r.get(c) for c in cols} for r in rows]
    with engine.begin() as conn:
        for i in range(0, len(full), 5000):
            conn.execute(sa.insert(t), full[i:i + 5000])




def jutogai_row(atena_no, rireki_no=1, **kw):
    row = {c.name: None for c in get_table("jutogai_atena").columns}
    row.update({"atena_no": atena_no, "rireki_no": rireki_no, "kojin_hojin_kubun": "1", "toroku_jiyu": "11",
                "toroku_date": D(2015, 1, 1), "shimei": "架空　次郎", "shimei_kana": "カクウ　ジロウ",
                "birth_date": D(1970, 1, 1), "birth_date_unknown": False, "seibetsu": "1",
                "jusho": "東京都架空区1-1", "shori_date": D(2015, 1, 1), "_run_id": "T", "_source_file": "test"})
    row.update(kw)
    return row


def _names(fname):
    import csv
    from pathlib import Path

    import kikan_hub.sample as sample_pkg
    path = Path(sample_pkg.__file__).parent / "assets" / fname
    lines = [l for l in path.read_text(encoding="utf-8").splitlines() if l and not l.startswith("#")]
    rows = list(csv.DictReader(lines))
    return [(r["kanji"], r["kana"]) for r in rows if "[" not in r["kanji"]]


_KNUM = "〇一二三四五六七八九"


def _kanji_num(n: int) -> str:
    if n < 10:
        return _KNUM[n]
    t, o = divmod(n, 10)
    return ("" if t == 1 else _KNUM[t]) + "十" + (_KNUM[o] if o else "")


def _variant_kana(kana: str, rnd) -> str:
    import unicodedata
    choice = rnd.randrange(4)
    if choice == 0:     # half-width, as the old system wrote it
        out = kana
        import kikan_hub.sample  # noqa: F401
        table = str.maketrans({chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFF61, 0xFFA0)})
        inv = {v: k for k, v in ((chr(c), unicodedata.normalize("NFKC", chr(c))) for c in range(0xFF61, 0xFFA0))}
        out = "".join(inv.get(ch, ch) for ch in unicodedata.normalize("NFD", out).replace("\u3099", "ﾞ").replace("\u309a", "ﾟ"))
        return out
    if choice == 1:     # dakuten lost
        return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", kana) if c not in "\u3099\u309a"))
    if choice == 2:     # long vowel written differently / small kana as large
        return kana.replace("ウ", "ー", 1) if "ウ" in kana else kana.replace("ッ", "ツ").replace("ョ", "ヨ")
    return kana.replace("　", " ")  # only the space differs


def planted_population(n_residents: int, n_dups: int, seed: int = 7):
    """(jumin rows, jutogai rows, tax rows, planted pairs). Each planted duplicate is a resident
    registered again as a 住登外者 under a new 宛名番号, with a kana variant and an address written
    in another style. Distractors: twins (same birth date and address, different given name) and
    namesakes (same name, different birth date)."""
    import random
    rnd = random.Random(seed)
    surn, male, female = _names("surnames.csv"), _names("given_male.csv"), _names("given_female.csv")
    machi = ["松町", "竹町", "梅町", "桜町", "楓町", "柳町"]
    jumin, jutogai, tax, planted = [], [], [], set()
    people = []
    for i in range(n_residents):
        a = m11(f"{100000000 + i:09d}")
        s_k, s_kana = rnd.choice(surn)
        sex = rnd.choice("12")
        g_k, g_kana = rnd.choice(male if sex == "1" else female)
        bd = D(1940, 1, 1) + dt.timedelta(days=rnd.randrange(365 * 70))
        ma = rnd.choice(machi)
        c, b, g = rnd.randrange(1, 6), rnd.randrange(1, 30), rnd.randrange(1, 20)
        jusho = f"霞野市{ma}{_kanji_num(c)}丁目{b}番{g}号"
        people.append((a, s_k, s_kana, g_k, g_kana, sex, bd, ma, c, b, g))
        jumin.append(jumin_row(a, 1, setai_no=m11(f"{200000000 + i:09d}"), shimei=f"{s_k}　{g_k}",
                               shimei_kana=f"{s_kana}　{g_kana}", seibetsu=sex, birth_date=bd, machiaza=ma,
                               jusho=jusho, idou_date=D(2010, 4, 1)))
    # twins: a sibling with the same birth date and address, another given name
    for k in range(n_residents // 50):
        a, s_k, s_kana, g_k, g_kana, sex, bd, ma, c, b, g = people[rnd.randrange(n_residents)]
        g2_k, g2_kana = rnd.choice(male if sex == "1" else female)
        if g2_kana == g_kana:
            continue
        jumin.append(jumin_row(m11(f"{300000000 + k:09d}"), 1, shimei=f"{s_k}　{g2_k}", shimei_kana=f"{s_kana}　{g2_kana}",
                               seibetsu=sex, birth_date=bd, machiaza=ma, jusho=f"霞野市{ma}{_kanji_num(c)}丁目{b}番{g}号"))
    # namesakes: same name, another birth date, another address
    for k in range(n_residents // 50):
        a, s_k, s_kana, g_k, g_kana, sex, bd, ma, c, b, g = people[rnd.randrange(n_residents)]
        jutogai.append(jutogai_row(m11(f"{400000000 + k:09d}"), shimei=f"{s_k}　{g_k}", shimei_kana=f"{s_kana}　{g_kana}",
                                   seibetsu=sex, birth_date=bd + dt.timedelta(days=400 + rnd.randrange(3000)),
                                   jusho="東京都架空区" + str(k)))
    # planted duplicates
    for k, idx in enumerate(rnd.sample(range(n_residents), n_dups)):
        a, s_k, s_kana, g_k, g_kana, sex, bd, ma, c, b, g = people[idx]
        dup = m11(f"{500000000 + k:09d}")
        style = rnd.randrange(3)
        jusho = (f"霞野市{ma}{c}-{b}-{g}" if style == 0 else f"霞野市 {ma}{c}丁目{b}番地{g}" if style == 1
                 else "東京都架空区架空町" + str(k))     # moved away: address does not help
        jutogai.append(jutogai_row(dup, shimei=f"{s_k}　{g_k}" if rnd.random() < 0.7 else f"{s_k}{g_k}",
                                   shimei_kana=_variant_kana(f"{s_kana}　{g_kana}", rnd), seibetsu=sex,
                                   birth_date=bd, jusho=jusho))
        tax.append({"kazei_nendo": 2024, "atena_no": dup, "kazei_jusho_kubun": "2", "kazei_kubun": "1",
                    "choshu_hoho": "1", "shori_date": D(2024, 6, 1), "_run_id": "T", "_source_file": "test"})
        planted.add(tuple(sorted((a, dup))))
    return jumin, jutogai, tax, planted
