"""Synthetic canonical tables with planted defects — for the gate tests and bench/gates.py.

``build(households, seed, defects)`` returns ``(tables, truth)``: canonical polars frames
(juki_jumin, juki_setai, jutogai_atena, zei_kojin_nozeigimusha) that are clean except for
the planted defects, and ``truth[rule_id] = set of failing unit keys`` for exactly the rules
each planted defect must trip. Everything is vectorised (numpy/polars) so 1,000,000 rows
take a couple of seconds.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from kikan_hub.mapping.era_dates import load_eras
from kikan_hub.validation.check_digits import m11_complete

SURNAMES = ["山田", "佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "中村", "小林", "加藤"]
GIVEN = ["太郎", "花子", "一郎", "桜", "翔", "陽菜", "健", "美咲"]
KANA_S = ["ヤマダ", "サトウ", "スズキ", "タカハシ", "タナカ", "ワタナベ", "イトウ", "ナカムラ", "コバヤシ", "カトウ"]
KANA_G = ["タロウ", "ハナコ", "イチロウ", "サクラ", "ショウ", "ヒナ", "ケン", "ミサキ"]
MACHI = ["桜町1丁目", "松町2丁目", "梅ケ丘3丁目", "本町", "緑町4丁目"]
EPOCH = dt.date(1970, 1, 1)

DEFAULT_DEFECTS = {
    "m11_setai": 3, "m11_atena": 2, "mynumber": 4, "code_seibetsu": 3, "zokugara_vocab": 5,
    "date_unknown_not_allowed": 2, "date_era": 2, "birth_after_idou": 3, "rireki_gap": 2,
    "two_heads": 2, "no_head": 2, "shojo_no_date": 3, "xref_missing": 4, "required_shimei": 2,
    "chars_shimei": 2, "bytes_yubin": 2, "type_kana": 2,
}


def _wrong_check(values: np.ndarray) -> np.ndarray:
    last = np.array([int(v[-1]) for v in values])
    return np.array([v[:-1] + str((d + 1) % 10) for v, d in zip(values, last)])


def era_literal(days: np.ndarray) -> np.ndarray:
    """Era letter + YYMMDD literals for dates given as days since 1970-01-01."""
    d = days.astype("datetime64[D]")
    eras = load_eras()[0]                                  # mapping/eras.yaml, the one era table
    starts = np.array([np.datetime64(e.start) for e in eras])
    idx = np.searchsorted(starts, d, side="right") - 1
    y = d.astype("datetime64[Y]").astype(int) + 1970
    m = (d.astype("datetime64[M]").astype(int) % 12) + 1
    day = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    yy = y - np.array([e.start.year for e in eras])[idx] + 1
    letters = np.array([e.letter for e in eras])[idx]
    return np.char.add(letters, np.char.add(np.char.zfill(yy.astype(str), 2),
                                            np.char.add(np.char.zfill(m.astype(str), 2), np.char.zfill(day.astype(str), 2))))


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


def build(households: int = 200, seed: int = 1, defects: dict[str, int] | None = None):
    rng = np.random.default_rng(seed)
    defects = DEFAULT_DEFECTS if defects is None else defects
    H = households
    size = rng.choice([1, 2, 3, 4], size=H, p=[0.35, 0.3, 0.2, 0.15])
    P = int(size.sum())
    hh_of = np.repeat(np.arange(H), size)
    pos = np.arange(P) - np.repeat(np.cumsum(size) - size, size)     # 0 = 世帯主
    atena = m11_complete(100000000 + np.arange(P) * 7, 10)
    setai_nos = m11_complete(500000000 + np.arange(H) * 3, 10)
    d0 = rng.integers(_days(dt.date(1995, 1, 1)), _days(dt.date(2015, 12, 31)), size=H)
    r = rng.integers(0, 365 * 70, size=P)
    # ages that fit the 続柄 (JUKI-ZOKUGARA-SANITY): the 世帯主 25–70 at d0, the 妻 near the
    # 世帯主's age, the 子 born 20–25 years after the 世帯主 (never after d0)
    head_birth = d0 - 365 * 25 - r[np.cumsum(size) - size] % (365 * 45)
    hb = head_birth[hh_of]
    birth = np.where(pos == 0, hb, np.where(pos == 1, hb + r % 365 * 3 - 365, hb + 365 * 20 + r % (365 * 5)))
    birth = np.minimum(birth, d0[hh_of])
    two = rng.random(P) < 0.4                     # a second history row: 転居 on the household's date d1
    d1 = d0 + rng.integers(30, 3000, size=H)
    zok_by_pos = np.array(["01", "12", "20", "20"])
    zok = zok_by_pos[np.minimum(pos, 3)]
    # one row per person, then the second rows
    rows_person = np.concatenate([np.arange(P), np.flatnonzero(two)])
    rireki = np.concatenate([np.ones(P, dtype=np.int64), np.full(int(two.sum()), 2, dtype=np.int64)])
    is2 = rireki == 2
    hh = hh_of[rows_person]
    idou = np.where(is2, d1[hh], d0[hh])
    n = len(rows_person)
    mynum = m11_complete(10000000000 + rows_person.astype(np.int64) * 13, 12)
    machi = np.array(MACHI)[hh % len(MACHI)]
    sur_i, giv_i = hh % len(SURNAMES), rows_person % len(GIVEN)
    df = pl.DataFrame({
        "atena_no": atena[rows_person], "rireki_no": rireki, "setai_no": setai_nos[hh],
        "jumin_shubetsu": ["1"] * n, "jumin_jotai": ["1"] * n,
        "shimei": np.char.add(np.char.add(np.array(SURNAMES)[sur_i], "　"), np.array(GIVEN)[giv_i]),
        "shimei_kana": np.char.add(np.char.add(np.array(KANA_S)[sur_i], "　"), np.array(KANA_G)[giv_i]),
        "birth_date": birth[rows_person].astype("datetime64[D]"),
        "birth_date_literal": era_literal(birth[rows_person]), "birth_date_unknown": np.zeros(n, dtype=bool),
        "seibetsu": np.where(rows_person % 2 == 0, "1", "2"), "zokugara": zok[rows_person],
        "jusho": np.char.add(np.char.add("架空市", machi), (hh % 30 + 1).astype(str)), "machiaza": machi,
        "yubin_no": ["1000001"] * n, "kojin_bango": mynum,
        "idou_jiyu": np.where(is2, "41", "11"),
        "idou_date": idou.astype("datetime64[D]"), "idou_date_literal": era_literal(idou),
        "idou_date_unknown": np.zeros(n, dtype=bool),
        "shori_date": (idou + 3).astype("datetime64[D]"),
        # items j60 requires of a 日本人住民 (ISL-REQUIRED-WHEN) and the 外国人住民 / 住民票コード columns,
        # so the rules that read them run on these tables as they do on a store
        "honseki": np.char.add("霞野市", machi), "hittosha": np.char.add(np.array(SURNAMES)[sur_i], "　太郎"),
        "jumin_date": d0[hh].astype("datetime64[D]"), "jumin_date_literal": era_literal(d0[hh]),
        "jumin_date_unknown": np.zeros(n, dtype=bool),
        "juminhyo_code": m11_complete(1000000000 + rows_person.astype(np.int64) * 17, 11),
        "kokuseki": pl.Series([None] * n, dtype=pl.Utf8), "gaikokujin_kubun": pl.Series([None] * n, dtype=pl.Utf8),
        "zairyu_manryo_date": pl.Series([None] * n, dtype=pl.Date),
        "shojo_jiyu": pl.Series([None] * n, dtype=pl.Utf8),
        "shojo_date": pl.Series([None] * n, dtype=pl.Date), "shojo_date_literal": pl.Series([None] * n, dtype=pl.Utf8),
        "shojo_date_unknown": np.zeros(n, dtype=bool),
    }).with_columns(pl.col("birth_date").cast(pl.Date), pl.col("idou_date").cast(pl.Date), pl.col("shori_date").cast(pl.Date),
                    pl.col("jumin_date").cast(pl.Date))
    setai = pl.DataFrame({
        "setai_no": setai_nos, "rireki_no": np.ones(H, dtype=np.int64),
        "setainushi_atena_no": atena[np.cumsum(size) - size],
        "setainushi_shimei": np.char.add(np.array(SURNAMES)[np.arange(H) % len(SURNAMES)], "　太郎"),
        "jusho": np.char.add("架空市", np.array(MACHI)[np.arange(H) % len(MACHI)]),
        "shori_date": (d0 + 3).astype("datetime64[D]"),
    }).with_columns(pl.col("shori_date").cast(pl.Date))
    J = max(4, H // 10)
    jutogai_atena = m11_complete(900000000 + np.arange(J) * 11, 10)
    jutogai = pl.DataFrame({"atena_no": jutogai_atena, "rireki_no": np.ones(J, dtype=np.int64),
                            "shimei": ["株式会社架空"] * J, "jusho": ["他県架空市本町1"] * J})
    subjects = np.concatenate([atena[pos == 0], jutogai_atena])
    zei = pl.DataFrame({"kazei_nendo": np.full(len(subjects), 2024, dtype=np.int64), "atena_no": subjects})

    truth: dict[str, set] = {}
    jumin = df.with_row_index("_i")
    taken: set[int] = set()          # rows already carrying a defect (defects never overlap)
    taken_hh: set[int] = set()
    person_of = rows_person
    hh_of_row = hh
    head_row = (pos[person_of] == 0)
    single = np.bincount(person_of, minlength=P)[person_of] == 1

    def pick(cond: np.ndarray, k: int, whole_household: bool = False) -> np.ndarray:
        ok = cond & ~np.isin(np.arange(n), list(taken)) & ~np.isin(hh_of_row, list(taken_hh))
        cand = np.flatnonzero(ok)
        got = rng.choice(cand, size=min(k, len(cand)), replace=False) if k else np.array([], dtype=int)
        for i in got:
            taken.add(int(i))
            taken_hh.add(int(hh_of_row[i]))   # one defect per household keeps truths independent
        return np.sort(got)

    updates: dict[str, dict[int, object]] = {}

    def put(col: str, idx, values) -> None:
        d = updates.setdefault(col, {})
        for i, v in zip(np.atleast_1d(idx), values if isinstance(values, (list, np.ndarray)) else [values] * len(np.atleast_1d(idx))):
            d[int(i)] = v

    def key(i: int) -> tuple:
        return (atena[person_of[i]], int(rireki[i]))

    tax_subject = head_row  # heads are tax subjects: don't break their atena_no
    k = defects.get("m11_atena", 0)
    idx = pick(single & ~tax_subject, k)
    if len(idx):
        bad = _wrong_check(atena[person_of[idx]])
        put("atena_no", idx, list(bad))
        truth.setdefault("ISL-M11.juki_jumin", set()).update((b, 1) for b in bad)
    idx = pick(np.ones(n, bool), defects.get("mynumber", 0))
    put("kojin_bango", idx, list(_wrong_check(mynum[idx])))
    truth.setdefault("ISL-MYNUMBER.juki_jumin", set()).update(key(i) for i in idx)
    # the person's other row keeps the right number: two 個人番号 without a change 異動
    for i in idx:
        if two[person_of[i]]:
            truth.setdefault("JUKI-KOJIN-BANGO-ONE", set()).add((atena[person_of[i]],))
    idx = pick(np.ones(n, bool), defects.get("code_seibetsu", 0))
    put("seibetsu", idx, "9")
    truth.setdefault("ISL-CODE.juki_jumin", set()).update(key(i) for i in idx)
    idx = pick(~head_row, defects.get("zokugara_vocab", 0))
    put("zokugara", idx, ["2020202020" if j % 2 else "61" for j in range(len(idx))])
    truth.setdefault("JUKI-ZOKUGARA", set()).update(key(i) for i in idx)
    truth.setdefault("ISL-LENGTH-CHARS.juki_jumin", set()).update(key(i) for j, i in enumerate(idx) if j % 2)
    truth.setdefault("ISL-LENGTH-BYTES.juki_jumin", set()).update(key(i) for j, i in enumerate(idx) if j % 2)
    # 異動日 不詳 on a 転居 (not 出生・死亡): not allowed
    idx = pick(is2, defects.get("date_unknown_not_allowed", 0))
    put("idou_date", idx, None)
    put("idou_date_unknown", idx, True)
    put("idou_date_literal", idx, "令和元年頃")
    truth.setdefault("JUKI-DATE", set()).update(key(i) for i in idx)
    # 昭和64年1月8日 stored as 1989-01-08 with an S literal: outside 昭和
    idx = pick(~is2 & ~head_row & (idou[np.arange(n)] > _days(dt.date(1989, 1, 9))), defects.get("date_era", 0))
    put("birth_date", idx, dt.date(1989, 1, 8))
    put("birth_date_literal", idx, "S640108")
    truth["JUKI-DATE"].update(key(i) for i in idx)
    idx = pick(~head_row, defects.get("birth_after_idou", 0))
    for i in idx:
        b = idou[i] + 2   # after 異動日, still before 処理日 (idou + 3)
        put("birth_date", [i], [EPOCH + dt.timedelta(days=int(b))])
        put("birth_date_literal", [i], [str(era_literal(np.array([b]))[0])])
    truth.setdefault("JUKI-BIRTH-IDOU", set()).update(key(i) for i in idx)
    truth.setdefault("JUKI-DATE-ORDER", set()).update(key(i) for i in idx)   # also after 住民となった年月日 (d0)
    # history gap: the second row numbered 3
    idx = pick(is2 & ~head_row, defects.get("rireki_gap", 0))
    put("rireki_no", idx, 3)
    truth.setdefault("JUKI-RIREKI", set()).update((atena[person_of[i]],) for i in idx)
    # two heads: a non-head member (all rows) becomes 世帯主
    cand = np.flatnonzero((pos[person_of] == 1) & ~is2)
    chosen = pick(np.isin(np.arange(n), cand) & ~two[person_of], defects.get("two_heads", 0))
    put("zokugara", chosen, "01")
    truth.setdefault("JUKI-SETAINUSHI", set()).update((setai_nos[hh_of_row[i]],) for i in chosen)
    # no head from d1: the head's second row says 子. Members never leave here, so the household's
    # size decides: one member → JUKI-SETAINUSHI (error); two or more → JUKI-SETAINUSHI-NONE (warn,
    # 世帯主未設定 is allowed by j100/j490)
    idx = pick(head_row & is2, defects.get("no_head", 0))
    put("zokugara", idx, "20")
    for i in idx:
        rid = "JUKI-SETAINUSHI" if size[hh_of_row[i]] == 1 else "JUKI-SETAINUSHI-NONE"
        truth.setdefault(rid, set()).add((setai_nos[hh_of_row[i]],))
    # 消除事由 without 消除日 on a non-head member's last row
    last_row = is2 | ~two[person_of]
    idx = pick(~head_row & last_row, defects.get("shojo_no_date", 0))
    put("shojo_jiyu", idx, "21")
    put("jumin_jotai", idx, "2")
    truth.setdefault("JUKI-SHOJO", set()).update(key(i) for i in idx)
    idx = pick(np.ones(n, bool), defects.get("required_shimei", 0))
    put("shimei", idx, None)
    truth.setdefault("ISL-REQUIRED.juki_jumin", set()).update(key(i) for i in idx)
    idx = pick(np.ones(n, bool), defects.get("chars_shimei", 0))
    put("shimei", idx, "長" * 31)
    truth["ISL-LENGTH-CHARS.juki_jumin"].update(key(i) for i in idx)
    truth["ISL-LENGTH-BYTES.juki_jumin"].update(key(i) for i in idx)
    idx = pick(np.ones(n, bool), defects.get("bytes_yubin", 0))
    put("yubin_no", idx, "１０００００１")
    truth["ISL-LENGTH-BYTES.juki_jumin"].update(key(i) for i in idx)
    truth.setdefault("ISL-TYPE.juki_jumin", set()).update(key(i) for i in idx)
    idx = pick(np.ones(n, bool), defects.get("type_kana", 0))
    put("shimei_kana", idx, "山田　タロウ")
    truth["ISL-TYPE.juki_jumin"].update(key(i) for i in idx)

    for col, d in updates.items():
        if not d:
            continue
        series = jumin.get_column(col).clone()
        series.scatter(list(d.keys()), pl.Series(list(d.values()), dtype=series.dtype, strict=False))
        jumin = jumin.with_columns(series)
    jumin = jumin.drop("_i")

    # juki_setai: setai_no check digit errors
    k = defects.get("m11_setai", 0)
    if k:
        sel = rng.choice(H, size=k, replace=False)
        bad = _wrong_check(setai_nos[sel])
        s_no = setai_nos.copy()
        s_no[sel] = bad
        setai = setai.with_columns(pl.Series("setai_no", s_no))
        truth["ISL-M11.juki_setai"] = {(b, 1) for b in bad}
    k = defects.get("xref_missing", 0)
    if k:
        ghost = m11_complete(800000000 + np.arange(k) * 17, 10)
        zei = pl.concat([zei, pl.DataFrame({"kazei_nendo": np.full(k, 2024, dtype=np.int64), "atena_no": ghost})])
        truth["XREF-ATENA.zei_kojin_nozeigimusha"] = {(2024, g) for g in ghost}
    tables = {"juki_jumin": jumin, "juki_setai": setai, "jutogai_atena": jutogai, "zei_kojin_nozeigimusha": zei}
    return tables, {k: v for k, v in truth.items() if v}
