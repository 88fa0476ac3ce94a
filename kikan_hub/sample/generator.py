"""The fictional old vendor's extract generator (旧住記, ベンダー「架空システム」).

``generate(SampleOptions(residents=N, out=DIR, seed=S))`` writes a deterministic legacy extract
set — JUMIN.DAT, SETAI.DAT, their layouts, the mapping, the gaiji register and the rehearsal
manifest — plus the ground truth under DIR/truth/ (see ``kikan_hub/sample/README.md``).

How it works: residents are simulated household by household in chunks (one ``random.Random``
per chunk, seeded from (seed, chunk number), so memory stays bounded and the output depends on
N and the seed only). A chunk's history rows are small integer columns; the fixed-width records
are then assembled with numpy (one uint8 matrix per chunk) and streamed to the files, while
the truth tables are built with pyarrow and streamed to Parquet.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import random
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from kikan_hub.mapping.era_dates import load_eras
from kikan_hub.sample import cp932w, juki_extras
from kikan_hub.sample.assets_loader import (
    ASSETS, FULLWIDTH_DIGITS, UNIDENTIFIED_ORDER, Assets, field_positions, load_assets, register, resolved_text,
    source_text,
)
from kikan_hub.validation.check_digits import m11_check_digits

GENERATOR_VERSION = "kikan-sample/1"

# ---------------------------------------------------------------- calendar

def _day(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01."""
    return (dt.date(y, m, d) - dt.date(1970, 1, 1)).days


# The era table is mapping/eras.yaml (the one copy); numpy views of it for the vectorised writers.
_ERAS = load_eras()[0]
ERA_NAMES = [e.name for e in _ERAS]
ERA_LETTERS = np.frombuffer("".join(e.letter for e in _ERAS).encode("ascii"), dtype=np.uint8)
ERA_START_DAYS = np.array([_day(e.start.year, e.start.month, e.start.day) for e in _ERAS], dtype=np.int64)
ERA_YEAR0 = np.array([e.start.year for e in _ERAS], dtype=np.int64)

KAISEI_DAY = _day(2000, 1, 4)          # 旧住記への改製 (system start): history begins here
MYNUMBER_DAY = _day(2015, 10, 5)       # 個人番号の職権記載
END_DAY = _day(2024, 3, 31)            # last event day
EXTRACT_DATE = dt.date(2024, 4, 1)     # 抽出日 (header)
NONE = -(10 ** 9)                      # "no date" sentinel
DANTAI_CODE = "999997"                 # fictional 団体コード (99xxxx is not assigned)
CITY = "霞野市"

# Vendor codes (旧住記) — translated to canonical codes by mapping.yaml code_maps.
V_TENNYU, V_KOKUGAI_TENNYU, V_SHUSSEI, V_KAISEI = "10", "11", "12", "16"
V_TENSHUTSU, V_KOKUGAI_TENSHUTSU, V_SHIBOU = "20", "21", "22"
V_TENKYO, V_KEIBI, V_MYNUMBER, V_NUSHI_HENKO = "30", "31", "35", "40"
TODOKEDE_EVENTS = {V_TENNYU, V_KOKUGAI_TENNYU, V_SHUSSEI, V_TENSHUTSU, V_KOKUGAI_TENSHUTSU, V_SHIBOU, V_TENKYO,
                   V_NUSHI_HENKO}
Z_HEAD, Z_HUSBAND, Z_WIFE, Z_CHILD, Z_FATHER, Z_MOTHER = "00", "01", "02", "03", "04", "05"
Z_GRANDCHILD, Z_CHILD_WIFE, Z_HUSBAND_MIKODOKE, Z_WIFE_MIKODOKE, Z_DOKYONIN = "10", "11", "13", "14", "90"

# ---------------------------------------------------------------- defects

DEFECT_RULES = {
    "record_length": "READ-LENGTH",
    "impossible_date": "MAP-DATE",
    "check_digit_atena": "ISL-M11.juki_jumin",     # the item rules' ids are per canonical table
    "check_digit_setai": "ISL-M11.juki_jumin",
    "unknown_code": "MAP-CODE",
    "undecodable": "READ-DECODE",
    "gaiji_unresolved": "GAIJI-UNRESOLVED",
}
# Planted defects that load with a warning (j130: M11 applies to numbers newly assigned; the old
# system's numbers keep theirs, so a mismatch against the layout's declared scheme is a warning).
WARN_DEFECTS = {"check_digit_atena", "check_digit_setai"}
JUMIN_DEFECTS = ["record_length", "impossible_date", "check_digit_atena", "check_digit_setai", "unknown_code",
                 "undecodable"]
SETAI_DEFECTS = ["impossible_date", "check_digit_setai", "undecodable"]
SETAI_DEFECT_RULES = {**DEFECT_RULES, "check_digit_setai": "ISL-M11.juki_setai"}   # SETAI maps to juki_setai


@dataclass
class SampleOptions:
    residents: int
    out: Path
    seed: int = 0
    defect_rate: float = 0.01
    unidentified_gaiji: int = 0
    chunk_residents: int = 20_000
    progress: Callable[[int, int], None] | None = None   # (residents done, total)


# ---------------------------------------------------------------- small vectorised helpers

def digits_matrix(x: np.ndarray, width: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    p = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((x[:, None] // p) % 10 + 48).astype(np.uint8)


def bytes_matrix(values: list[bytes], width: int) -> np.ndarray:
    if not values:
        return np.empty((0, width), dtype=np.uint8)
    longest = max(map(len, values))
    if longest > width:
        bad = next(v for v in values if len(v) > width)
        raise ValueError(f"value {bad!r} is longer than the field ({width} bytes)")
    arr = np.array(values, dtype=f"S{width}")
    m = arr.view(np.uint8).reshape(len(values), width).copy()
    m[m == 0] = 0x20
    return m


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    mo = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y, mo, dd


def era_of(days: np.ndarray) -> np.ndarray:
    return np.searchsorted(ERA_START_DAYS, days, side="right") - 1


def era_code_matrix(days: np.ndarray, letter: bool = False) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    none = days == NONE
    safe = np.where(none, ERA_START_DAYS[-1], days)
    e = era_of(safe)
    y, mo, dd = ymd(safe)
    yy = y - ERA_YEAR0[e] + 1
    m = np.empty((len(days), 7), dtype=np.uint8)
    m[:, 0] = ERA_LETTERS[e] if letter else (49 + e).astype(np.uint8)
    m[:, 1:3] = digits_matrix(yy, 2)
    m[:, 3:5] = digits_matrix(mo, 2)
    m[:, 5:7] = digits_matrix(dd, 2)
    m[none] = 0x20
    return m


def western_matrix(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    none = days == NONE
    y, mo, dd = ymd(np.where(none, 0, days))
    m = np.empty((len(days), 8), dtype=np.uint8)
    m[:, 0:4] = digits_matrix(y, 4)
    m[:, 4:6] = digits_matrix(mo, 2)
    m[:, 6:8] = digits_matrix(dd, 2)
    m[none] = 0x20
    return m


def date_array(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    mask = days == NONE
    return pa.array(np.where(mask, 0, days).astype(np.int32), type=pa.date32(), mask=mask)


def matrix_strings(m: np.ndarray) -> pa.Array:
    """ASCII matrix rows → strings with trailing spaces trimmed (as the reader trims)."""
    if len(m) == 0:
        return pa.array([], type=pa.string())
    arr = np.ascontiguousarray(m).view(f"S{m.shape[1]}").ravel()
    s = pa.array(arr, type=pa.binary()).cast(pa.string())
    return pc.utf8_rtrim(s, characters=" ")


def packed(value: int, nbytes: int) -> bytes:
    digits = str(abs(int(value))).zfill(nbytes * 2 - 1)
    if len(digits) > nbytes * 2 - 1:
        raise ValueError(f"{value} does not fit COMP-3 of {nbytes} bytes")
    nibbles = digits + ("D" if value < 0 else "C")
    return bytes.fromhex(nibbles)


def packed_matrix(values: np.ndarray, nbytes: int) -> np.ndarray:
    """COMP-3, sign nibble C (positive); values must be ≥ 0."""
    values = np.asarray(values, dtype=np.int64)
    nd = nbytes * 2 - 1
    d = digits_matrix(values, nd).astype(np.int64) - 48
    nib = np.concatenate([d, np.full((len(values), 1), 0xC, dtype=np.int64)], axis=1)
    return ((nib[:, 0::2] << 4) | nib[:, 1::2]).astype(np.uint8)


# ---------------------------------------------------------------- simulation

@dataclass
class ChunkData:
    # persons (chunk-local index)
    p_gid: list[int] = field(default_factory=list)          # global person number (0-based)
    p_sur: list[int] = field(default_factory=list)          # surname index (-1: foreign)
    p_giv: list[int] = field(default_factory=list)          # given-name index / foreign name index
    p_sex: list[int] = field(default_factory=list)          # 1 / 2
    p_foreign: list[bool] = field(default_factory=list)
    p_birth: list[int] = field(default_factory=list)        # day
    p_bkind: list[int] = field(default_factory=list)        # 0 normal, 1 年頃, 2 年月頃, 3 年月日不詳, 4 2/29 non-leap
    # households (chunk-local)
    h_gid: list[int] = field(default_factory=list)
    h_honseki: list[str] = field(default_factory=list)      # marked text
    h_hittosha: list[int] = field(default_factory=list)     # person
    # addresses (chunk-local)
    a_machi: list[int] = field(default_factory=list)
    a_text: list[str] = field(default_factory=list)         # marked, without 方書
    a_kata: list[str] = field(default_factory=list)         # marked 方書 or ""
    a_code: list[int] = field(default_factory=list)         # 9-digit 住所コード
    # JUMIN rows
    r: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "person", "rireki", "house", "jotai", "zoku", "head", "addr", "jumin_day", "jusho_day", "mynum", "idou",
        "idou_day", "todoke_day", "shori_day", "tennyu", "tenshutsu", "shojo", "shojo_day")})
    # SETAI rows
    s: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "house", "rireki", "head", "addr", "jinzu", "kosei_day", "shori_day")})


class Simulator:
    def __init__(self, assets: Assets, allow_multigen: bool) -> None:
        self.a = assets
        self.allow_multigen = allow_multigen
        self.cum = {k: list(getattr(assets, k).weights) for k in
                    ("surnames", "male", "female", "foreign", "machiaza", "katagaki", "places")}
        self.places_abroad = [i for i, r in enumerate(assets.places.extra) if r["abroad"] == "1"]
        self.places_domestic = [i for i, r in enumerate(assets.places.extra) if r["abroad"] != "1"]

    def pick(self, rnd: random.Random, table: str) -> int:
        return min(bisect.bisect_right(self.cum[table], rnd.random()), len(self.cum[table]) - 1)

    # -- addresses
    def new_address(self, c: ChunkData, rnd: random.Random) -> int:
        mi = self.pick(rnd, "machiaza")
        row = self.a.machiaza.extra[mi]
        machi = row["machiaza"]
        fw = lambda n: str(n).translate(FULLWIDTH_DIGITS)  # noqa: E731
        kanji_num = "一二三四五六七八九"
        if row["style"] == "chome":
            chome = rnd.randint(1, int(row["chome_max"]))
            ban, go = rnd.randint(1, 30), rnd.randint(1, 25)
            text = f"{CITY}{machi}{kanji_num[chome - 1]}丁目{fw(ban)}番{fw(go)}号"
        else:
            chome = 0
            ban = rnd.randint(1, 2500)
            text = f"{CITY}{machi}{fw(ban)}番地" + (f"{fw(rnd.randint(1, 9))}" if rnd.random() < 0.4 else "")
        kata = ""
        if rnd.random() < 0.22:
            kata = self.a.katagaki.marked[self.pick(rnd, "katagaki")].replace("{n}", fw(rnd.randint(1, 12) * 100 + rnd.randint(1, 9)) if rnd.random() < 0.7 else fw(rnd.randint(1, 20)))
        c.a_machi.append(mi)
        c.a_text.append(text)
        c.a_kata.append(kata)
        c.a_code.append(int(row["code"]) * 10000 + chome * 100)
        return len(c.a_text) - 1

    # -- persons
    def new_person(self, c: ChunkData, rnd: random.Random, gid: int, sur: int, sex: int, birth: int,
                   foreign: bool = False) -> int:
        if foreign:
            giv = self.pick(rnd, "foreign")
        else:
            giv = self.pick(rnd, "male" if sex == 1 else "female")
        kind = 0
        y = (dt.date(1970, 1, 1) + dt.timedelta(days=birth)).year
        if not foreign and y < 1940 and rnd.random() < 0.06:
            kind = rnd.choice((1, 1, 2, 3))
        elif rnd.random() < 0.004 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
            kind = 4
        c.p_gid.append(gid)
        c.p_sur.append(-1 if foreign else sur)
        c.p_giv.append(giv)
        c.p_sex.append(sex)
        c.p_foreign.append(foreign)
        c.p_birth.append(birth)
        c.p_bkind.append(kind)
        return len(c.p_gid) - 1

    def simulate_household(self, c: ChunkData, rnd: random.Random, next_pid: Callable[[], int | None],
                           hgid: int) -> None:
        kind = rnd.choices(("single", "couple", "family", "single_parent", "three_gen", "foreign"),
                           (30, 18, 32, 7, 8, 6))[0]   # 外国人住民 ≈ 2.5 % of residents
        legacy = kind != "foreign" and rnd.random() < 0.55
        start = KAISEI_DAY if legacy else rnd.randint(KAISEI_DAY + 1, END_DAY - 60)
        Y = 365.25

        def birth_at_age(age: float) -> int:
            return int(start - age * Y - rnd.randint(0, 364))

        members: list[tuple[int, str]] = []    # (person, vendor 続柄)
        planned_births = 0
        sur = self.pick(rnd, "surnames")

        def add(sex: int, age: float, zoku: str, surname: int | None = None, foreign: bool = False) -> bool:
            gid = next_pid()
            if gid is None:
                return False
            p = self.new_person(c, rnd, gid, sur if surname is None else surname, sex, birth_at_age(age), foreign)
            members.append((p, zoku))
            return True

        if kind == "foreign":
            if not add(rnd.choice((1, 2)), rnd.uniform(20, 45), Z_HEAD, foreign=True):
                return
        elif kind == "single":
            if not add(rnd.choice((1, 2)), rnd.uniform(19, 92 if legacy else 60), Z_HEAD):
                return
            if rnd.random() < 0.03:
                add(rnd.choice((1, 2)), rnd.uniform(20, 70), Z_DOKYONIN, surname=self.pick(rnd, "surnames"))
        else:
            if kind == "single_parent":
                head_sex, head_age = (2 if rnd.random() < 0.85 else 1), rnd.uniform(25, 52)
            elif kind == "three_gen":
                head_sex, head_age = (1 if rnd.random() < 0.85 else 2), rnd.uniform(36, 72)
            elif kind == "family":
                head_sex, head_age = (1 if rnd.random() < 0.85 else 2), rnd.uniform(26, 52)
            else:
                head_sex, head_age = (1 if rnd.random() < 0.8 else 2), rnd.uniform(24, 88 if legacy else 70)
            if not add(head_sex, head_age, Z_HEAD):
                return
            if kind != "single_parent":
                mikodoke = rnd.random() < 0.05
                sp_sex = 3 - head_sex
                zoku = (Z_WIFE_MIKODOKE if sp_sex == 2 else Z_HUSBAND_MIKODOKE) if mikodoke else (
                    Z_WIFE if sp_sex == 2 else Z_HUSBAND)
                add(sp_sex, max(18.5, head_age + rnd.uniform(-6, 4)), zoku,
                    surname=self.pick(rnd, "surnames") if mikodoke else None)
            if kind in ("family", "single_parent"):
                for _ in range(rnd.choice((0, 1, 1, 2, 2, 3)) if kind == "family" else rnd.randint(1, 3)):
                    add(rnd.choice((1, 2)), rnd.uniform(0, min(head_age - 20, 24)), Z_CHILD)
                if kind == "family" and head_age < 40:
                    planned_births = rnd.choice((0, 1, 1, 2))
            elif kind == "three_gen":
                if self.allow_multigen and head_age > 55 and rnd.random() < 0.5:
                    cs = rnd.choice((1, 2))
                    c_age = head_age - rnd.uniform(24, 32)
                    add(cs, c_age, Z_CHILD)
                    add(3 - cs, c_age + rnd.uniform(-3, 3), Z_CHILD_WIFE if cs == 1 else "12",
                        surname=None if cs == 1 else self.pick(rnd, "surnames"))
                    for _ in range(rnd.randint(1, 2)):
                        add(rnd.choice((1, 2)), rnd.uniform(0, max(0.5, c_age - 22)), Z_GRANDCHILD)
                else:
                    for _ in range(rnd.randint(1, 2)):
                        add(rnd.choice((1, 2)), rnd.uniform(0, min(head_age - 22, 20)), Z_CHILD)
                    parent_sex = 1 if rnd.random() < 0.3 else 2
                    add(parent_sex, head_age + rnd.uniform(24, 32), Z_FATHER if parent_sex == 1 else Z_MOTHER)
        self._play(c, rnd, hgid, members, kind, legacy, start, planned_births, next_pid)

    def _play(self, c: ChunkData, rnd: random.Random, hgid: int, members: list[tuple[int, str]], kind: str,
              legacy: bool, start: int, planned_births: int, next_pid) -> None:
        h = len(c.h_gid)
        c.h_gid.append(hgid)
        head = members[0][0]
        foreign = kind == "foreign"
        addr = self.new_address(c, rnd)
        # 本籍: mostly in the city itself, else elsewhere
        if foreign:
            c.h_honseki.append("")
        elif rnd.random() < 0.55:
            c.h_honseki.append(f"{CITY}{self.a.machiaza.marked[c.a_machi[addr]]}{str(rnd.randint(1, 999)).translate(FULLWIDTH_DIGITS)}番地")
        else:
            c.h_honseki.append(self.a.places.marked[rnd.choice(self.places_domestic)][:10] + "１番地")
        c.h_hittosha.append(-1 if foreign else head)

        zoku = {p: z for p, z in members}
        present = [p for p, _ in members]
        jumin_day: dict[int, int] = {}
        jusho_day: dict[int, int] = {}
        has_mynum: dict[int, bool] = {}
        rireki: dict[int, int] = {}
        tennyu = NONE
        if legacy:
            settled = max(start - rnd.randint(300, 40 * 365), c.p_birth[head] + 18 * 365)
            settled = min(settled, start - 30)
            moved = rnd.randint(settled, start - 1)
            for p in present:
                jumin_day[p] = max(settled, c.p_birth[p])
                jusho_day[p] = max(moved, c.p_birth[p])
            first_code = V_KAISEI
        else:
            abroad = foreign or rnd.random() < 0.05
            first_code = V_KOKUGAI_TENNYU if abroad else V_TENNYU
            tennyu = rnd.choice(self.places_abroad if abroad else self.places_domestic)
            for p in present:
                jumin_day[p] = jusho_day[p] = start
        for p in present:
            has_mynum[p] = start >= MYNUMBER_DAY
            rireki[p] = 0
        state = {"head": head, "addr": addr, "setai_rireki": 0, "kosei": jumin_day[head]}

        def row(p: int, code: str, day: int, jotai: str = "0", shojo: str = "", shojo_day: int = NONE,
                tenshutsu: int = -1) -> None:
            rireki[p] += 1
            R = c.r
            R["person"].append(p)
            R["rireki"].append(rireki[p])
            R["house"].append(h)
            R["jotai"].append(jotai)
            R["zoku"].append(zoku[p])
            R["head"].append(state["head"])
            R["addr"].append(state["addr"])
            R["jumin_day"].append(jumin_day[p])
            R["jusho_day"].append(jusho_day[p])
            R["mynum"].append(has_mynum[p])
            R["idou"].append(code)
            R["idou_day"].append(day)
            if code in TODOKEDE_EVENTS:
                if code in (V_TENSHUTSU, V_KOKUGAI_TENSHUTSU):
                    todoke = day - rnd.randint(0, 13)
                else:
                    todoke = min(day + rnd.randint(0, 13), END_DAY)
                shori = todoke
            else:
                todoke, shori = NONE, day
            R["todoke_day"].append(todoke)
            R["shori_day"].append(shori)
            R["tennyu"].append(tennyu if first_code != V_KAISEI else -1)
            R["tenshutsu"].append(tenshutsu)
            R["shojo"].append(shojo)
            R["shojo_day"].append(shojo_day)

        def setai_row(day: int) -> None:
            state["setai_rireki"] += 1
            S = c.s
            S["house"].append(h)
            S["rireki"].append(state["setai_rireki"])
            S["head"].append(state["head"])
            S["addr"].append(state["addr"])
            S["jinzu"].append(len(present))
            S["kosei_day"].append(state["kosei"])
            S["shori_day"].append(day)

        for p in present:
            row(p, first_code, start)
        setai_row(start if not legacy else KAISEI_DAY)

        # schedule
        events: list[tuple[int, int, str, int]] = []   # (day, order, kind, arg)
        span = END_DAY - start
        if span > 60:
            for i in range(planned_births):
                events.append((rnd.randint(start + 30, END_DAY), 1, "birth", i))
            if start < MYNUMBER_DAY:
                events.append((MYNUMBER_DAY, 0, "mynumber", 0))
            if rnd.random() < 0.3:
                events.append((rnd.randint(start + 30, END_DAY), 2, "move", 0))
            for p in present:
                if rnd.random() < 0.15:
                    events.append((rnd.randint(start + 1, END_DAY), 3, "minor", p))
            head_age_at_start = (start - c.p_birth[head]) / 365.25
            others = {zoku[p] for p in present[1:]}
            if len(present) >= 3 and rnd.random() < 0.01:
                # the 世帯主 alone moves out; two or more stay without one (j490, j100)
                events.append((rnd.randint(start + 30, END_DAY), 4, "head_leaves", 0))
            if rnd.random() < 0.10:
                events.append((rnd.randint(start + 30, END_DAY), 9, "leave", 0))
            elif len(present) == 1 and head_age_at_start > 68 and rnd.random() < 0.4:
                events.append((rnd.randint(start + 30, END_DAY), 9, "death", 0))
            elif (head_age_at_start > 62 and others and others <= {Z_WIFE, Z_HUSBAND, Z_CHILD}
                  and zoku[present[1]] in (Z_WIFE, Z_HUSBAND) and rnd.random() < 0.3):
                events.append((rnd.randint(start + 30, END_DAY), 5, "head_death", 0))
        events.sort()
        terminal_day = next((d for d, _, k, _ in events if k in ("leave", "death")), None)
        mother = next((p for p in present if c.p_sex[p] == 2 and zoku[p] in (Z_HEAD, Z_WIFE, Z_WIFE_MIKODOKE)), None)
        for day, _, ev, arg in events:
            if terminal_day is not None and day > terminal_day:
                break
            if ev == "birth":
                if mother is None or mother not in present or (day - c.p_birth[mother]) / 365.25 > 44:
                    continue
                gid = next_pid()
                if gid is None:
                    continue
                sur = c.p_sur[head] if zoku.get(mother) != Z_WIFE_MIKODOKE else c.p_sur[mother]
                p = self.new_person(c, rnd, gid, sur, rnd.choice((1, 2)), day)
                zoku[p] = Z_CHILD
                jumin_day[p] = jusho_day[p] = day
                has_mynum[p] = day >= MYNUMBER_DAY
                rireki[p] = 0
                present.append(p)
                row(p, V_SHUSSEI, day)
                setai_row(day)
            elif ev == "mynumber":
                for p in present:
                    has_mynum[p] = True
                    row(p, V_MYNUMBER, day)
            elif ev == "move":
                state["addr"] = self.new_address(c, rnd)
                for p in present:
                    jusho_day[p] = day
                    row(p, V_TENKYO, day)
                setai_row(day)
            elif ev == "minor":
                if arg in present and day > c.p_birth[arg]:
                    row(arg, V_KEIBI, day)
            elif ev == "head_death":
                old = state["head"]
                if old not in present or len(present) < 2:
                    continue
                spouse = present[1]
                row(old, V_SHIBOU, day, jotai="2", shojo=V_SHIBOU, shojo_day=day)
                present.remove(old)
                if len(present) >= 2 and rnd.random() < 0.2:
                    # j490: two or more remain; the 世帯主変更 is still to come (j100: 世帯主未設定)
                    state["head"] = -1
                    setai_row(day)
                    continue
                state["head"] = spouse
                zoku[spouse] = Z_HEAD
                for p in present:
                    row(p, V_NUSHI_HENKO, day)
                setai_row(day)
            elif ev == "head_leaves":
                old = state["head"]
                if old not in present or len(present) < 3:
                    continue
                dest = rnd.choice(self.places_domestic)
                row(old, V_TENSHUTSU, day, jotai="1", shojo=V_TENSHUTSU, shojo_day=day, tenshutsu=dest)
                present.remove(old)
                state["head"] = -1
                setai_row(day)
            elif ev == "death":
                p = present[0]
                row(p, V_SHIBOU, day, jotai="2", shojo=V_SHIBOU, shojo_day=day)
                present.clear()
                setai_row(day)
            elif ev == "leave":
                abroad = rnd.random() < (0.5 if foreign else 0.08)
                code = V_KOKUGAI_TENSHUTSU if abroad else V_TENSHUTSU
                dest = rnd.choice(self.places_abroad if abroad else self.places_domestic)
                for p in present:
                    row(p, code, day, jotai="1", shojo=code, shojo_day=day, tenshutsu=dest)
                present.clear()
                setai_row(day)


# ---------------------------------------------------------------- the generator

class _Writer:
    """Streams one legacy file and remembers offsets, counts and the hash total."""

    def __init__(self, path: Path, terminator: bytes) -> None:
        self.fh = path.open("wb")
        self.offset = 0
        self.record_no = 0
        self.term = terminator
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.sha.update(data)
        self.offset += len(data)

    def close(self) -> None:
        self.fh.close()


def _layout_header(name: str) -> list[str]:
    return [str(c) for c in yaml.safe_load((ASSETS / name).read_text(encoding="utf-8"))["header"]]


def generate(opts: SampleOptions) -> dict:
    if opts.residents < 1:
        raise ValueError("residents must be ≥ 1")
    if not 0 <= opts.defect_rate <= 0.5:
        raise ValueError("defect_rate must be between 0 and 0.5")
    assets = load_assets()
    reg = register()
    if not 0 <= opts.unidentified_gaiji <= len(reg.entries):
        raise ValueError(f"unidentified_gaiji must be between 0 and {len(reg.entries)}")
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)

    # --- copy layouts/mapping/manifest; write the register with K entries 未同定
    for name in ("layout_jumin.yaml", "layout_setai.yaml", "layout_shien.yaml", "layout_tsusho.yaml", "mapping.yaml",
                 "manifest.yaml"):
        shutil.copyfile(ASSETS / name, out / name)
    unresolved_codes = UNIDENTIFIED_ORDER[:opts.unidentified_gaiji]
    unresolved_mask = 0
    lines = [",".join(reg.header)]
    for code, e in reg.entries.items():
        row = dict(e.row)
        if code in unresolved_codes:
            unresolved_mask |= 1 << e.bit
            row.update(mj="", gj="", ucs="", status="未同定", decided_by="", decided_at="")
        lines.append(",".join(row[h] for h in reg.header))
    (out / "gaiji_register.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    code_maps = {k: {str(a): str(b) for a, b in v.items()} for k, v in assets.mapping["code_maps"].items()}
    fj = field_positions(assets.layout_jumin, "resident")
    fs = field_positions(assets.layout_setai, "household")
    rl_j = int(assets.layout_jumin["record_length"])
    rl_s = int(assets.layout_setai["record_length"])

    from kikan_hub.layouts.isl import get_table
    t_jumin, t_setai = get_table("juki_jumin"), get_table("juki_setai")
    allow_multigen = t_jumin.item("zokugara").length >= 4
    sim = Simulator(assets, allow_multigen)

    wj = _Writer(out / "JUMIN.DAT", b"\r\n")
    ws = _Writer(out / "SETAI.DAT", b"")
    rec_schema = pa.schema([("file_id", pa.string()), ("record_no", pa.int64()), ("offset", pa.int64()),
                            ("length", pa.int64()), ("record_type", pa.string()), ("key_no", pa.string()),
                            ("rireki_no", pa.int64()), ("expected", pa.string()), ("defect_class", pa.string()),
                            ("expected_rule", pa.string())])
    rec_w = pq.ParquetWriter(out / "truth" / "records.parquet", rec_schema)
    jumin_schema = _truth_schema(t_jumin)
    setai_schema = _truth_schema(t_setai)
    jw = pq.ParquetWriter(out / "truth" / "jumin.parquet", jumin_schema)
    sw = pq.ParquetWriter(out / "truth" / "setai.parquet", setai_schema)
    persons_schema = pa.schema([
        ("atena_no", pa.string()), ("rireki_no", pa.int64()), ("setai_no", pa.string()), ("shimei", pa.string()),
        ("zokugara", pa.string()), ("jusho", pa.string()), ("katagaki", pa.string()), ("machiaza", pa.string()),
        ("idou_jiyu", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32()),
        ("resident", pa.bool_()), ("jumin_jotai", pa.string())])
    pw = pq.ParquetWriter(out / "truth" / "persons.parquet", persons_schema)

    stats = {fid: {"types": {}, "defects": {}, "rules": {}} for fid in ("JUMIN", "SETAI")}

    def count(fid: str, rtype: str, loaded: int, quarantined: int) -> None:
        t = stats[fid]["types"].setdefault(rtype, {"read": 0, "loaded": 0, "quarantined": 0})
        t["read"] += loaded + quarantined
        t["loaded"] += loaded
        t["quarantined"] += quarantined

    def control_record(fid: str, rtype: str, w: _Writer, rl: int, body: bytes) -> None:
        rec = body.ljust(rl, b" ")
        assert len(rec) == rl
        w.record_no += 1
        rec_w.write_table(pa.table({
            "file_id": [fid], "record_no": [w.record_no], "offset": [w.offset], "length": [rl],
            "record_type": [rtype], "key_no": [None], "rireki_no": [None], "expected": ["loaded"],
            "defect_class": [None], "expected_rule": [None]}, schema=rec_schema))
        w.write(rec + w.term)
        count(fid, rtype, 1, 0)

    sakusei = EXTRACT_DATE.strftime("%Y%m%d").encode()
    vendor = cp932w.encode("架空システム")
    for fid, w, rl in (("JUMIN", wj, rl_j), ("SETAI", ws, rl_s)):
        control_record(fid, "header", w, rl, b"1" + fid.encode().ljust(8) + sakusei + vendor.ljust(20)
                       + DANTAI_CODE.encode())

    sinks = {
        # the header line is the one the layout declares (and the reader checks)
        "SHIEN": juki_extras.CsvSink(out / "SHIEN.CSV", "SHIEN", "shien", _layout_header("layout_shien.yaml")),
        "TSUSHO": juki_extras.CsvSink(out / "TSUSHO.CSV", "TSUSHO", "tsusho", _layout_header("layout_tsusho.yaml")),
    }
    for sink in sinks.values():
        sink.open()
    hash_j = 0
    hash_s = 0
    n_data_j = 0
    n_data_s = 0
    total = opts.residents
    next_gid = 0
    next_hgid = 0
    chunk_no = 0
    households = 0
    while next_gid < total:
        rnd = random.Random(f"kikan-sample:{opts.seed}:{chunk_no}")
        c = ChunkData()
        limit = min(total, next_gid + opts.chunk_residents)
        counter = [next_gid]

        def next_pid() -> int | None:
            if counter[0] >= limit:
                return None
            counter[0] += 1
            return counter[0] - 1

        while counter[0] < limit:
            sim.simulate_household(c, rnd, next_pid, next_hgid)
            next_hgid += 1
        next_gid = counter[0]
        households = next_hgid
        res = _emit_chunk(c, rnd, opts, assets, code_maps, fj, fs, rl_j, rl_s, unresolved_mask, wj, ws,
                          rec_w, jw, sw, pw, rec_schema, jumin_schema, setai_schema, persons_schema, t_jumin,
                          t_setai, stats, count, sinks)
        hash_j += res["hash_j"]
        hash_s += res["hash_s"]
        n_data_j += res["n_j"]
        n_data_s += res["n_s"]
        chunk_no += 1
        if opts.progress:
            opts.progress(next_gid, total)

    for fid, w, rl, n, hsum in (("JUMIN", wj, rl_j, n_data_j, hash_j), ("SETAI", ws, rl_s, n_data_s, hash_s)):
        control_record(fid, "trailer", w, rl, b"9" + str(n).zfill(10).encode() + str(hsum % 10 ** 18).zfill(18).encode())
    wj.write(b"\x1a")
    for w in (wj, ws):
        w.close()
    for fid, sink in sinks.items():
        sink.close()
        if sink.rows:
            rec_w.write_table(pa.Table.from_pylist(sink.rows, schema=rec_schema))
        types: dict[str, dict[str, int]] = {}
        for r in sink.rows:                 # the header line (_header_line) and the data records
            t = types.setdefault(r["record_type"], {"read": 0, "loaded": 0, "quarantined": 0})
            t["read"] += 1
            t["loaded"] += 1
        stats[fid] = {"types": types, "defects": {}, "rules": {}}
    for pqw in (rec_w, jw, sw, pw):
        pqw.close()

    summary = {
        "generator": GENERATOR_VERSION,
        "residents": total,
        "households": households,
        "seed": opts.seed,
        "defect_rate": opts.defect_rate,
        "unidentified_gaiji": list(unresolved_codes),
        "zokugara_multigeneration": allow_multigen,
        "files": {},
    }
    files = [(fid, name, w.offset, w.sha.hexdigest()) for fid, w, name in (("JUMIN", wj, "JUMIN.DAT"), ("SETAI", ws, "SETAI.DAT"))]
    files += [(fid, Path(sk.path).name, sk.offset, hashlib.sha256(Path(sk.path).read_bytes()).hexdigest())
              for fid, sk in sinks.items()]
    for fid, name, nbytes, sha in files:
        st = stats[fid]
        summary["files"][fid] = {
            "path": name, "bytes": nbytes, "sha256": sha,
            "record_types": st["types"],
            "read": sum(t["read"] for t in st["types"].values()),
            "expected_loaded": sum(t["loaded"] for t in st["types"].values()),
            "expected_quarantined": sum(t["quarantined"] for t in st["types"].values()),
            "defect_classes": dict(sorted(st["defects"].items())),
            "expected_rules": dict(sorted(st["rules"].items())),
        }
    from kikan_hub.sample.zei import generate_zei   # the 税 extract of the same residents: DIR/zei/ (its own manifest)
    summary["zei"] = generate_zei(out, opts.seed, defects=opts.defect_rate > 0)
    (out / "truth" / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                                encoding="utf-8")
    return summary


def _truth_schema(table) -> pa.Schema:
    fields = []
    for col in table.columns:
        if col.role in ("lineage", "wareki", "unknown_day", "non_calendar"):  # derived by the mapping, not truth
            continue
        typ = {"text": pa.string(), "integer": pa.int64(), "date": pa.date32(), "flag": pa.bool_()}.get(col.type)
        if typ is None:
            typ = pa.decimal128(18, col.item.scale if col.item else 0)
        fields.append((col.name, typ))
    fields += [("_source_file", pa.string()), ("_source_offset", pa.int64()), ("_record_no", pa.int64())]
    return pa.schema(fields)


def _emit_chunk(c: ChunkData, rnd: random.Random, opts: SampleOptions, assets: Assets, code_maps, fj, fs, rl_j,
                rl_s, unresolved_mask, wj: _Writer, ws: _Writer, rec_w, jw, sw, pw, rec_schema, jumin_schema,
                setai_schema, persons_schema, t_jumin, t_setai, stats, count, sinks) -> dict:

    reg = register()
    A = assets
    np_rng = np.random.default_rng(rnd.getrandbits(64))

    # ---------------- persons
    P = len(c.p_gid)
    gid = np.array(c.p_gid, dtype=np.int64)
    atena_data = 100_000 + gid
    atena = atena_data * 10 + m11_check_digits(atena_data, 9)
    kojin_data = (gid * 48271 + 31_415_926_535) % 10 ** 11
    kojin = kojin_data * 10 + m11_check_digits(kojin_data, 11)
    jcode_data = (gid * 69621 + 2_718_281_828) % 10 ** 10
    jcode = jcode_data * 10 + m11_check_digits(jcode_data, 10)
    p_foreign = np.array(c.p_foreign, dtype=bool)
    sur = np.array(c.p_sur, dtype=np.int64)
    giv = np.array(c.p_giv, dtype=np.int64)
    sex = np.array(c.p_sex, dtype=np.int64)
    # names
    name_raw, name_res, kana_hw, name_mask = [], [], [], np.zeros(P, dtype=np.int64)
    for i in range(P):
        if p_foreign[i]:
            name_raw.append(A.foreign.raw[giv[i]])
            name_res.append(A.foreign.resolved[giv[i]])
            kana_hw.append(A.foreign.kana_hw[giv[i]])
        else:
            gt = A.male if sex[i] == 1 else A.female
            name_raw.append(A.surnames.raw[sur[i]] + b"\x81\x40" + gt.raw[giv[i]])
            name_res.append(A.surnames.resolved[sur[i]] + "\u3000" + gt.resolved[giv[i]])
            kana_hw.append(A.surnames.kana_hw[sur[i]] + " " + gt.kana_hw[giv[i]])
            name_mask[i] = A.surnames.mask[sur[i]] | gt.mask[giv[i]]
    name_m = bytes_matrix(name_raw, fj["shimei"][1])
    kana_m = bytes_matrix([k.encode("cp932") for k in kana_hw], fj["shimei_kana"][1])
    kana_full = [unicodedata.normalize("NFKC", k) for k in kana_hw]
    # birth dates
    birth = np.array(c.p_birth, dtype=np.int64)
    bkind = np.array(c.p_bkind, dtype=np.int64)
    e = era_of(birth)
    by, bm, bd = ymd(birth)
    yy = by - ERA_YEAR0[e] + 1
    lit_mm = np.where(np.isin(bkind, (1, 3)), 0, np.where(bkind == 4, 2, bm))
    lit_dd = np.where(np.isin(bkind, (1, 2, 3)), 0, np.where(bkind == 4, 29, bd))
    lit_yy = np.where(bkind == 3, 0, yy)
    # a 2/29 literal takes the era of that year's February (never an era boundary month)
    e_lit = np.where(bkind == 4, era_of(np.array([_day(int(y), 2, 28) for y in by]) if (bkind == 4).any() else e), e)
    lit_yy = np.where(bkind == 4, by - ERA_YEAR0[e_lit] + 1, lit_yy)
    birth_m = np.empty((P, 7), dtype=np.uint8)
    birth_m[:, 0] = (49 + e_lit).astype(np.uint8)
    birth_m[:, 1:3] = digits_matrix(lit_yy, 2)
    birth_m[:, 3:5] = digits_matrix(lit_mm, 2)
    birth_m[:, 5:7] = digits_matrix(lit_dd, 2)
    fusho = [""] * P
    for i in np.flatnonzero(np.isin(bkind, (1, 2, 3))):
        era_name = ERA_NAMES[e[i]]
        y_txt = "元" if yy[i] == 1 else str(int(yy[i])).translate(FULLWIDTH_DIGITS)
        if bkind[i] == 1:
            fusho[i] = f"{era_name}{y_txt}年頃"
        elif bkind[i] == 2:
            fusho[i] = f"{era_name}{y_txt}年{str(int(bm[i])).translate(FULLWIDTH_DIGITS)}月頃"
        else:
            fusho[i] = "年月日不詳"
    fusho_m = bytes_matrix([cp932w.encode(f) for f in fusho], fj["birth_fusho"][1])
    birth_lit_str = matrix_strings(birth_m)
    birth_literal = pa.array([fusho[i] if fusho[i] else None for i in range(P)], type=pa.string())
    birth_literal = pc.if_else(pc.is_null(birth_literal), birth_lit_str, birth_literal)
    birth_unknown = bkind != 0
    birth_iso = date_array(np.where(birth_unknown, NONE, birth))

    # ---------------- addresses / households
    addr_raw = [cp932w.encode(source_text(t)) for t in c.a_text]
    kata_raw = [cp932w.encode(source_text(t)) for t in c.a_kata]
    machi_idx = np.array(c.a_machi, dtype=np.int64)
    addr_mask = np.array([reg.mask_of(t) | reg.mask_of(k) for t, k in zip(c.a_text, c.a_kata)], dtype=np.int64)
    addr_res = [resolved_text(t) for t in c.a_text]
    kata_res = [resolved_text(k) if k else None for k in c.a_kata]
    addr_m = bytes_matrix(addr_raw, fj["jusho"][1])
    kata_m = bytes_matrix(kata_raw, fj["katagaki"][1])
    machi_m_table = bytes_matrix(A.machiaza.raw, fj["machiaza"][1])
    machi_res = pa.array(A.machiaza.resolved, type=pa.string())
    yubin_tab = np.array([int(r["yubin"]) for r in A.machiaza.extra], dtype=np.int64)
    acode = np.array(c.a_code, dtype=np.int64)
    honseki_raw = [cp932w.encode(source_text(t)) for t in c.h_honseki]
    honseki_m = bytes_matrix(honseki_raw, fj["honseki"][1])
    honseki_mask = np.array([reg.mask_of(t) for t in c.h_honseki], dtype=np.int64)
    honseki_res = pa.array([resolved_text(t) if t else None for t in c.h_honseki], type=pa.string())
    hitto = np.array(c.h_hittosha, dtype=np.int64)
    hgid = np.array(c.h_gid, dtype=np.int64)
    setai_data = 500_000 + hgid
    setai_no = setai_data * 10 + m11_check_digits(setai_data, 9)
    places_m = bytes_matrix(A.places.raw, fj["tennyu_mae_jusho"][1])
    places_res = pa.array(A.places.resolved, type=pa.string())

    # ---------------- JUMIN rows
    R = {k: v for k, v in c.r.items()}
    person = np.array(R["person"], dtype=np.int64)
    order = np.lexsort((np.array(R["rireki"], dtype=np.int64), gid[person]))
    take = lambda key, dtype=np.int64: np.array(R[key], dtype=dtype)[order]  # noqa: E731
    person = person[order]
    rireki = take("rireki")
    house = take("house")
    head = take("head")
    addr = take("addr")
    jumin_day = take("jumin_day")
    jusho_day = take("jusho_day")
    mynum = take("mynum", bool)
    idou_day = take("idou_day")
    todoke_day = take("todoke_day")
    shori_day = take("shori_day")
    tennyu = take("tennyu")
    tenshutsu = take("tenshutsu")
    shojo_day = take("shojo_day")
    jotai = np.array(R["jotai"], dtype="S1")[order]
    zoku = np.array(R["zoku"], dtype="S2")[order]
    idou = np.array(R["idou"], dtype="S2")[order]
    shojo = np.array(R["shojo"], dtype="S2")[order]
    n = len(person)
    hit = hitto[house]

    rec = np.full((n, rl_j), 0x20, dtype=np.uint8)

    def put(name: str, m: np.ndarray) -> None:
        s, ln = fj[name]
        rec[:, s:s + ln] = m

    rec[:, 0] = ord("2")
    put("atena_no", digits_matrix(atena[person], 10))
    put("rireki_no", digits_matrix(rireki, 4))
    put("setai_no", digits_matrix(setai_no[house], 10))
    put("jumin_shubetsu", np.where(p_foreign[person], ord("2"), ord("1")).astype(np.uint8)[:, None])
    put("jumin_jotai", jotai.view(np.uint8).reshape(n, 1))
    put("shimei", name_m[person])
    put("shimei_kana", kana_m[person])
    put("seibetsu", (48 + sex[person]).astype(np.uint8)[:, None])
    put("birth_date", birth_m[person])
    put("birth_fusho", fusho_m[person])
    put("zokugara", zoku.view(np.uint8).reshape(n, 2))
    no_head = head < 0    # 世帯主未設定 (j100): the 世帯主の氏名 is blank
    put("setainushi_shimei", np.where(no_head[:, None], 0x20, name_m[np.maximum(head, 0)]).astype(np.uint8))
    put("jusho", addr_m[addr])
    put("katagaki", kata_m[addr])
    put("jusho_code", digits_matrix(acode[addr], 9))
    put("machiaza", machi_m_table[machi_idx[addr]])
    put("yubin_no", digits_matrix(yubin_tab[machi_idx[addr]], 7))
    put("honseki", honseki_m[house])
    hitto_m = np.where((hit >= 0)[:, None], name_m[np.maximum(hit, 0)], 0x20).astype(np.uint8)
    put("hittosha", hitto_m[:, :fj["hittosha"][1]] if name_m.shape[1] > fj["hittosha"][1] else hitto_m)
    put("jumin_date", era_code_matrix(jumin_day))
    put("jusho_date", era_code_matrix(jusho_day, letter=True))
    kojin_m = np.where(mynum[:, None], digits_matrix(kojin[person], 12), 0x20).astype(np.uint8)
    put("kojin_bango", kojin_m)
    put("juminhyo_code", digits_matrix(jcode[person], 11))
    put("idou_jiyu", idou.view(np.uint8).reshape(n, 2))
    put("idou_date", era_code_matrix(idou_day))
    put("todokede_date", western_matrix(todoke_day))
    put("shori_date", western_matrix(shori_day))
    put("tennyu_mae_jusho", np.where((tennyu >= 0)[:, None], places_m[np.maximum(tennyu, 0)], 0x20).astype(np.uint8))
    put("tenshutsu_saki_jusho",
        np.where((tenshutsu >= 0)[:, None], places_m[np.maximum(tenshutsu, 0)], 0x20).astype(np.uint8))
    shojo_m = shojo.view(np.uint8).reshape(n, 2).copy()
    shojo_m[shojo_m == 0] = 0x20
    put("shojo_jiyu", shojo_m)
    put("shojo_date", era_code_matrix(shojo_day))
    # 外国人住民, 旧氏, 届出の年月日, 支援措置 (juki_extras; its own generator: the defects stay as they were)
    ex_rng = np.random.default_rng([opts.seed, int(gid[0]) if P else 0, 19])
    ex_mats, ex_truth = juki_extras.emit(
        ex_rng, gid=gid, atena=atena, foreign=p_foreign, sex=sex, birth=birth, name_res=name_res, person=person,
        house=house, head=head, zoku=zoku, idou_day=idou_day, jumin_day=jumin_day, todoke_day=todoke_day, assets=A,
        sinks=sinks, city=CITY, dantai_code=DANTAI_CODE, end_day=END_DAY, fields=fj)
    for name, mat in ex_mats.items():
        put(name, mat)

    # hittosha is the household's first head; guard the field width (a long name would be cut)
    if name_m.shape[1] > fj["hittosha"][1]:
        over = (name_m[:, fj["hittosha"][1]:] != 0x20).any(axis=1)
        if over[np.maximum(hit, 0)][hit >= 0].any():
            raise ValueError("筆頭者 field too short for a name")

    # gaiji masks per row
    row_mask = (name_mask[person] | np.where(no_head, 0, name_mask[np.maximum(head, 0)]) | addr_mask[addr] | honseki_mask[house]
                | np.where(hit >= 0, name_mask[np.maximum(hit, 0)], 0))
    unresolved = (row_mask & unresolved_mask) != 0
    eligible = row_mask == 0

    # ---------------- defects (JUMIN)
    defect = np.full(n, None, dtype=object)
    defect[unresolved] = "gaiji_unresolved"
    lengths = np.full(n, rl_j, dtype=np.int64)
    pick = np.flatnonzero(eligible & (np_rng.random(n) < opts.defect_rate))
    classes = np_rng.integers(0, len(JUMIN_DEFECTS), size=len(pick))
    variants = np_rng.integers(0, 3, size=len(pick))
    s_sh, l_sh = fj["shimei"]
    s_ju, l_ju = fj["jusho"]
    s_ka, _ = fj["katagaki"]
    for i, k, v in zip(pick, classes, variants):
        cls = JUMIN_DEFECTS[k]
        if cls == "record_length":
            lengths[i] = rl_j - 1 if v % 2 == 0 else rl_j + 1
        elif cls == "impossible_date":
            if v == 0 and bkind[person[i]] == 0:
                put_row(rec, i, fj["birth_date"], b"3640108")          # 昭和64年1月8日
            elif v == 1 or bkind[person[i]] != 0:
                put_row(rec, i, fj["idou_date"], b"4310501")           # 平成31年5月1日
            else:
                s, _ = fj["birth_date"]
                rec[i, s + 3:s + 5] = (ord("1"), ord("3"))            # month 13
        elif cls == "check_digit_atena":
            s, _ = fj["atena_no"]
            rec[i, s + 9] = 48 + (rec[i, s + 9] - 48 + 1 + v) % 10
        elif cls == "check_digit_setai":
            s, _ = fj["setai_no"]
            rec[i, s + 9] = 48 + (rec[i, s + 9] - 48 + 1 + v) % 10
        elif cls == "unknown_code":
            if v == 0:
                put_row(rec, i, fj["idou_jiyu"], b"99")
            else:
                put_row(rec, i, fj["zokugara"], b"77")
        elif cls == "undecodable":
            if v == 2 and rec[i, s_ju + l_ju - 1] == 0x20 and rec[i, s_ka] == 0x20:
                rec[i, s_ju + l_ju - 1] = 0x81                       # a lone lead byte at the field end
            elif (rec[i, s_sh + l_sh - 2:s_sh + l_sh] == 0x20).all():
                rec[i, s_sh + l_sh - 2:s_sh + l_sh] = (0x85, 0x40)    # unassigned in CP932
            else:
                continue
        defect[i] = cls

    # ---------------- write JUMIN
    term = np.frombuffer(b"\r\n", dtype=np.uint8)
    offsets = wj.offset + np.concatenate([[0], np.cumsum(lengths + 2)[:-1]])
    record_no = wj.record_no + 1 + np.arange(n, dtype=np.int64)
    odd = np.flatnonzero(lengths != rl_j)
    full = np.concatenate([rec, np.broadcast_to(term, (n, 2))], axis=1)
    prev = 0
    for i in odd:
        if i > prev:
            wj.write(full[prev:i].tobytes())
        body = rec[i, :rl_j - 1].tobytes() if lengths[i] < rl_j else rec[i].tobytes() + b" "
        wj.write(body + b"\r\n")
        prev = i + 1
    if prev < n:
        wj.write(full[prev:].tobytes())
    wj.record_no += n
    atena_written = rec[:, fj["atena_no"][0]:fj["atena_no"][0] + 10]
    hash_j = int((digits_to_int(atena_written)).sum())

    expected = np.where((defect == None) | np.isin(defect, list(WARN_DEFECTS)), "loaded", "quarantined")  # noqa: E711
    rules = np.array([DEFECT_RULES[d] if d else None for d in defect], dtype=object)
    key_str = matrix_strings(atena_written)
    rec_w.write_table(pa.table({
        "file_id": pa.array(["JUMIN"] * n), "record_no": record_no, "offset": offsets, "length": lengths,
        "record_type": pa.array(["resident"] * n), "key_no": key_str, "rireki_no": rireki,
        "expected": pa.array(expected.tolist(), type=pa.string()),
        "defect_class": pa.array(defect.tolist(), type=pa.string()),
        "expected_rule": pa.array(rules.tolist(), type=pa.string())}, schema=rec_schema))
    nq = int((expected == "quarantined").sum())
    count("JUMIN", "resident", n - nq, nq)
    for d in defect[defect != None]:  # noqa: E711
        stats["JUMIN"]["defects"][d] = stats["JUMIN"]["defects"].get(d, 0) + 1
        r_ = DEFECT_RULES[d]
        stats["JUMIN"]["rules"][r_] = stats["JUMIN"]["rules"].get(r_, 0) + 1

    # ---------------- truth jumin (canonical rows of the records that load)
    cm = code_maps
    def codes(arr: np.ndarray, table: dict | None) -> pa.Array:
        vals = [x.decode() for x in arr.tolist()]
        if table is not None:
            vals = [table.get(x) if x else None for x in vals]
        return pa.array([x if x else None for x in vals], type=pa.string())

    name_res_a = pa.array(name_res, type=pa.string())
    kana_full_a = pa.array(kana_full, type=pa.string())
    addr_res_a = pa.array(addr_res, type=pa.string())
    kata_res_a = pa.array(kata_res, type=pa.string())

    def lit(m: np.ndarray) -> pa.Array:
        s = matrix_strings(m)
        return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)

    def era_cols(days: np.ndarray, letter: bool = False) -> tuple[pa.Array, pa.Array, pa.Array]:
        return date_array(days), lit(era_code_matrix(days, letter)), pa.array(np.zeros(n, dtype=bool))

    cols: dict[str, pa.Array] = {}
    cols["atena_no"] = key_str
    cols["rireki_no"] = pa.array(rireki)
    cols["setai_no"] = matrix_strings(rec[:, fj["setai_no"][0]:fj["setai_no"][0] + 10])
    cols["jumin_shubetsu"] = pa.array(np.where(p_foreign[person], "2", "1").tolist(), type=pa.string())
    cols["jumin_jotai"] = codes(jotai, cm["jumin_jotai"])
    cols["shimei"] = name_res_a.take(person)
    cols["shimei_kana"] = kana_full_a.take(person)
    cols["birth_date"] = birth_iso.take(person)
    cols["birth_date_literal"] = birth_literal.take(person)
    cols["birth_date_unknown"] = pa.array(birth_unknown[person])
    cols["seibetsu"] = pa.array((sex[person]).astype(str).tolist(), type=pa.string())
    cols["zokugara"] = codes(zoku, cm["zokugara"])
    cols["setainushi_shimei"] = pc.if_else(pa.array(no_head), pa.scalar(None, pa.string()),
                                           name_res_a.take(np.maximum(head, 0)))
    cols["jusho"] = addr_res_a.take(addr)
    cols["katagaki"] = kata_res_a.take(addr)
    cols["jusho_code"] = matrix_strings(digits_matrix(acode[addr], 9))
    cols["machiaza"] = machi_res.take(machi_idx[addr])
    cols["yubin_no"] = matrix_strings(digits_matrix(yubin_tab[machi_idx[addr]], 7))
    cols["honseki"] = honseki_res.take(house)
    cols["hittosha"] = pa.array([name_res[h] if h >= 0 else None for h in hit.tolist()], type=pa.string())
    cols["jumin_date"], cols["jumin_date_literal"], cols["jumin_date_unknown"] = era_cols(jumin_day)
    cols["jusho_date"], cols["jusho_date_literal"], cols["jusho_date_unknown"] = era_cols(jusho_day, letter=True)
    cols["kojin_bango"] = lit(kojin_m)
    cols["juminhyo_code"] = matrix_strings(digits_matrix(jcode[person], 11))
    cols["idou_jiyu"] = codes(idou, cm["idou_jiyu"])
    cols["idou_date"], cols["idou_date_literal"], cols["idou_date_unknown"] = era_cols(idou_day)
    cols["todokede_date"] = date_array(todoke_day)
    cols["shori_date"] = date_array(shori_day)
    cols["tennyu_mae_jusho"] = pc.if_else(pa.array(tennyu >= 0), places_res.take(np.maximum(tennyu, 0)),
                                          pa.scalar(None, pa.string()))
    cols["tenshutsu_saki_jusho"] = pc.if_else(pa.array(tenshutsu >= 0), places_res.take(np.maximum(tenshutsu, 0)),
                                              pa.scalar(None, pa.string()))
    cols["shojo_jiyu"] = codes(shojo, cm["shojo_jiyu"])
    cols["shojo_date"], cols["shojo_date_literal"], cols["shojo_date_unknown"] = era_cols(shojo_day)
    cols.update(ex_truth)
    cols["_source_file"] = pa.array(["JUMIN.DAT"] * n)
    cols["_source_offset"] = pa.array(offsets)
    cols["_record_no"] = pa.array(record_no)
    ok = pa.array(expected == "loaded")
    jw.write_table(_conform(cols, jumin_schema, n).filter(ok))

    # persons truth (the simulation itself, defects not applied)
    true_atena = matrix_strings(digits_matrix(atena[person], 10))
    true_setai = matrix_strings(digits_matrix(setai_no[house], 10))
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = person[1:] == person[:-1]
    valid_to = np.full(n, NONE, dtype=np.int64)
    valid_to[:-1] = np.where(same_next[:-1], idou_day[1:], NONE)
    pw.write_table(pa.table({
        "atena_no": true_atena, "rireki_no": pa.array(rireki), "setai_no": true_setai,
        "shimei": cols["shimei"], "zokugara": codes(zoku, cm["zokugara"]), "jusho": cols["jusho"],
        "katagaki": cols["katagaki"], "machiaza": cols["machiaza"], "idou_jiyu": codes(idou, cm["idou_jiyu"]),
        "valid_from": date_array(idou_day), "valid_to": date_array(valid_to),
        "resident": pa.array(jotai == b"0"), "jumin_jotai": codes(jotai, cm["jumin_jotai"])}, schema=persons_schema))

    # ---------------- SETAI rows
    S = c.s
    m = len(S["house"])
    s_house = np.array(S["house"], dtype=np.int64)
    s_rireki = np.array(S["rireki"], dtype=np.int64)
    s_head = np.array(S["head"], dtype=np.int64)
    s_addr = np.array(S["addr"], dtype=np.int64)
    s_jinzu = np.array(S["jinzu"], dtype=np.int64)
    s_kosei = np.array(S["kosei_day"], dtype=np.int64)
    s_shori = np.array(S["shori_day"], dtype=np.int64)
    srec = np.full((m, rl_s), 0x20, dtype=np.uint8)

    def sput(name: str, mat: np.ndarray) -> None:
        s, ln = fs[name]
        srec[:, s:s + ln] = mat

    srec[:, 0] = ord("2")
    sput("setai_no", digits_matrix(setai_no[s_house], 10))
    sput("rireki_no", packed_matrix(s_rireki, fs["rireki_no"][1]))
    s_nohead = s_head < 0
    s_headx = np.maximum(s_head, 0)
    sput("setainushi_atena_no", np.where(s_nohead[:, None], 0x20, digits_matrix(atena[s_headx], 10)).astype(np.uint8))
    sput("setainushi_shimei", np.where(s_nohead[:, None], 0x20, name_m[s_headx][:, :fs["setainushi_shimei"][1]]).astype(np.uint8))
    sput("jusho", addr_m[s_addr][:, :fs["jusho"][1]])
    sput("jusho_code", digits_matrix(acode[s_addr], 9))
    sput("yubin_no", digits_matrix(yubin_tab[machi_idx[s_addr]], 7))
    sput("setai_jinzu", packed_matrix(s_jinzu, fs["setai_jinzu"][1]))
    sput("setai_kosei_date", western_matrix(s_kosei))
    sput("shori_date", western_matrix(s_shori))
    s_mask = np.where(s_nohead, 0, name_mask[s_headx]) | (np.array([reg.mask_of(t) for t in c.a_text], dtype=np.int64)[s_addr] if m else 0)
    s_unres = (s_mask & unresolved_mask) != 0
    s_defect = np.full(m, None, dtype=object)
    s_defect[s_unres] = "gaiji_unresolved"
    spick = np.flatnonzero((s_mask == 0) & (np_rng.random(m) < opts.defect_rate))
    sclasses = np_rng.integers(0, len(SETAI_DEFECTS), size=len(spick))
    svariants = np_rng.integers(0, 2, size=len(spick))
    s_nm, l_nm = fs["setainushi_shimei"]
    for i, k, v in zip(spick, sclasses, svariants):
        cls = SETAI_DEFECTS[k]
        if cls == "impossible_date":
            s, _ = fs["shori_date"]
            if v == 0:
                srec[i, s + 4:s + 8] = np.frombuffer(b"1301", dtype=np.uint8)    # month 13
            else:
                srec[i, s:s + 8] = np.frombuffer(b"20230229", dtype=np.uint8)  # not a calendar day
        elif cls == "check_digit_setai":
            s, _ = fs["setai_no"]
            srec[i, s + 9] = 48 + (srec[i, s + 9] - 48 + 1 + v) % 10
        elif cls == "undecodable":
            if not (srec[i, s_nm + l_nm - 2:s_nm + l_nm] == 0x20).all():
                continue
            srec[i, s_nm + l_nm - 2:s_nm + l_nm] = (0x85, 0x40)
        s_defect[i] = cls
    s_offsets = ws.offset + np.arange(m, dtype=np.int64) * rl_s
    s_record_no = ws.record_no + 1 + np.arange(m, dtype=np.int64)
    ws.write(srec.tobytes())
    ws.record_no += m
    setai_written = srec[:, fs["setai_no"][0]:fs["setai_no"][0] + 10]
    hash_s = int(digits_to_int(setai_written).sum())
    s_expected = np.where((s_defect == None) | np.isin(s_defect, list(WARN_DEFECTS)), "loaded", "quarantined")  # noqa: E711
    s_rules = [SETAI_DEFECT_RULES[d] if d else None for d in s_defect]
    s_key = matrix_strings(setai_written)
    rec_w.write_table(pa.table({
        "file_id": pa.array(["SETAI"] * m), "record_no": s_record_no, "offset": s_offsets,
        "length": np.full(m, rl_s, dtype=np.int64), "record_type": pa.array(["household"] * m),
        "key_no": s_key, "rireki_no": s_rireki, "expected": pa.array(s_expected.tolist(), type=pa.string()),
        "defect_class": pa.array(s_defect.tolist(), type=pa.string()),
        "expected_rule": pa.array(s_rules, type=pa.string())}, schema=rec_schema))
    snq = int((s_expected == "quarantined").sum())
    count("SETAI", "household", m - snq, snq)
    for d in s_defect[s_defect != None]:  # noqa: E711
        stats["SETAI"]["defects"][d] = stats["SETAI"]["defects"].get(d, 0) + 1
        r_ = SETAI_DEFECT_RULES[d]
        stats["SETAI"]["rules"][r_] = stats["SETAI"]["rules"].get(r_, 0) + 1
    scols = {
        "setai_no": s_key, "rireki_no": pa.array(s_rireki),
        "setainushi_atena_no": pc.if_else(pa.array(s_nohead), pa.scalar(None, pa.string()),
                                          matrix_strings(digits_matrix(atena[s_headx], 10))),
        "setainushi_shimei": pc.if_else(pa.array(s_nohead), pa.scalar(None, pa.string()), name_res_a.take(s_headx)), "jusho": addr_res_a.take(s_addr),
        "jusho_code": matrix_strings(digits_matrix(acode[s_addr], 9)),
        "yubin_no": matrix_strings(digits_matrix(yubin_tab[machi_idx[s_addr]], 7)),
        "setai_kosei_date": date_array(s_kosei), "shori_date": date_array(s_shori),
        "_source_file": pa.array(["SETAI.DAT"] * m), "_source_offset": pa.array(s_offsets),
        "_record_no": pa.array(s_record_no),
    }
    sw.write_table(_conform(scols, setai_schema, m).filter(pa.array(s_expected == "loaded")))
    return {"hash_j": hash_j, "hash_s": hash_s, "n_j": n, "n_s": m}


def put_row(rec: np.ndarray, i: int, pos: tuple[int, int], value: bytes) -> None:
    s, ln = pos
    assert len(value) == ln
    rec[i, s:s + ln] = np.frombuffer(value, dtype=np.uint8)


def digits_to_int(m: np.ndarray) -> np.ndarray:
    d = m.astype(np.int64) - 48
    out = np.zeros(len(m), dtype=np.int64)
    for j in range(m.shape[1]):
        out = out * 10 + d[:, j]
    return out


def _conform(cols: dict[str, pa.Array], schema: pa.Schema, n: int) -> pa.Table:
    arrays = []
    for f in schema:
        a = cols.get(f.name)
        if a is None:
            a = pa.nulls(n, f.type)
        elif not isinstance(a, (pa.Array, pa.ChunkedArray)):
            a = pa.array(a)
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        arrays.append(a.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
