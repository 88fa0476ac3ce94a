"""The 住民記録 simulation: households and their history (転入, 出生, 転居, 死亡, 転出 …) as small
integer columns of one chunk (``ChunkData``). Proportions come from the profile (profiles/juki.yaml);
the draws of ``random.Random`` are in a fixed order, so the same seed gives the same history.
"""
from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Callable

from kikan_hub.sample.assets_loader import FULLWIDTH_DIGITS, Assets
from kikan_hub.sample.fields import NONE, day_number
from kikan_hub.sample.profile import JukiProfile

FUSHO_KIND = {"year": 1, "year_month": 2, "unknown": 3}   # p_bkind values (0 exact, 4 2/29 of a common year)
KANJI_NUMERALS = "一二三四五六七八九"


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


class _Codes:
    """The vendor's code values by name (profile vendor_codes), as attributes: ``codes.tennyu``."""

    def __init__(self, table: dict[str, str]) -> None:
        self.__dict__.update(table)


def fw(n: int) -> str:
    return str(n).translate(FULLWIDTH_DIGITS)


class Simulator:
    def __init__(self, assets: Assets, allow_multigen: bool, profile: JukiProfile) -> None:
        self.a = assets
        self.allow_multigen = allow_multigen
        self.prof = profile
        cal = profile.calendar
        self.kaisei_day = day_number(cal.kaisei)
        self.mynumber_day = day_number(cal.mynumber)
        self.end_day = day_number(cal.end)
        self.idou = _Codes(profile.vendor_codes.idou)
        self.zoku = _Codes(profile.vendor_codes.zokugara)
        self.todokede_events = {profile.vendor_codes.idou[k] for k in profile.vendor_codes.todokede}
        self.cum = {k: list(getattr(assets, k).weights) for k in
                    ("surnames", "male", "female", "foreign", "machiaza", "katagaki", "places")}
        self.places_abroad = [i for i, r in enumerate(assets.places.extra) if r["abroad"] == "1"]
        self.places_domestic = [i for i, r in enumerate(assets.places.extra) if r["abroad"] != "1"]

    def pick(self, rnd: random.Random, table: str) -> int:
        return min(bisect.bisect_right(self.cum[table], rnd.random()), len(self.cum[table]) - 1)

    # -- addresses
    def new_address(self, c: ChunkData, rnd: random.Random) -> int:
        spec = self.prof.addresses
        mi = self.pick(rnd, "machiaza")
        row = self.a.machiaza.extra[mi]
        machi = row["machiaza"]
        city = self.prof.city
        if row["style"] == "chome":
            chome = rnd.randint(1, int(row["chome_max"]))
            ban, go = rnd.randint(*spec.chome.ban), rnd.randint(*spec.chome.go)
            text = f"{city}{machi}{KANJI_NUMERALS[chome - 1]}丁目{fw(ban)}番{fw(go)}号"
        else:
            chome = 0
            ban = rnd.randint(*spec.banchi.ban)
            text = f"{city}{machi}{fw(ban)}番地" + (
                f"{fw(rnd.randint(*spec.banchi.edaban))}" if rnd.random() < spec.banchi.edaban_share else "")
        kata = ""
        k = spec.katagaki
        if rnd.random() < k.share:
            template = self.a.katagaki.marked[self.pick(rnd, "katagaki")]
            number = (fw(rnd.randint(*k.floor) * 100 + rnd.randint(*k.room)) if rnd.random() < k.room_share
                      else fw(rnd.randint(*k.number)))
            kata = template.replace("{n}", number)
        c.a_machi.append(mi)
        c.a_text.append(text)
        c.a_kata.append(kata)
        c.a_code.append(int(row["code"]) * 10000 + chome * 100)
        return len(c.a_text) - 1

    # -- persons
    def new_person(self, c: ChunkData, rnd: random.Random, gid: int, sur: int, sex: int, birth: int,
                   foreign: bool = False) -> int:
        spec = self.prof.persons
        if foreign:
            giv = self.pick(rnd, "foreign")
        else:
            giv = self.pick(rnd, "male" if sex == 1 else "female")
        kind = 0
        y = (dt.date(1970, 1, 1) + dt.timedelta(days=birth)).year
        if not foreign and y < spec.fusho.born_before and rnd.random() < spec.fusho.share:
            kind = FUSHO_KIND[rnd.choice(spec.fusho.kinds)]
        elif rnd.random() < spec.feb29_common_year_share and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
            kind = 4
        c.p_gid.append(gid)
        c.p_sur.append(-1 if foreign else sur)
        c.p_giv.append(giv)
        c.p_sex.append(sex)
        c.p_foreign.append(foreign)
        c.p_birth.append(birth)
        c.p_bkind.append(kind)
        return len(c.p_gid) - 1

    # -- households
    def _head_sex(self, rnd: random.Random, kind: str) -> int:
        spec = self.prof.households.head[kind]
        if spec.male_share is not None:
            return 1 if rnd.random() < spec.male_share else 2
        if spec.female_share is not None:
            return 2 if rnd.random() < spec.female_share else 1
        return rnd.choice((1, 2))

    def _head_age(self, rnd: random.Random, kind: str, legacy: bool) -> float:
        spec = self.prof.households.head[kind]
        low, high = spec.age
        return rnd.uniform(low, spec.legacy_age_max if legacy and spec.legacy_age_max is not None else high)

    def simulate_household(self, c: ChunkData, rnd: random.Random, next_pid: Callable[[], int | None],
                           hgid: int) -> None:
        H = self.prof.households
        Z = self.zoku
        kind = rnd.choices(tuple(H.kinds), tuple(H.kinds.values()))[0]
        legacy = kind != "foreign" and rnd.random() < H.legacy_share
        start = self.kaisei_day if legacy else rnd.randint(self.kaisei_day + 1, self.end_day - H.last_arrival_days)
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
            if not add(self._head_sex(rnd, kind), self._head_age(rnd, kind, legacy), Z.head, foreign=True):
                return
        elif kind == "single":
            if not add(self._head_sex(rnd, kind), self._head_age(rnd, kind, legacy), Z.head):
                return
            if rnd.random() < H.dokyonin.share:
                add(rnd.choice((1, 2)), rnd.uniform(*H.dokyonin.age), Z.dokyonin, surname=self.pick(rnd, "surnames"))
        else:
            head_sex = self._head_sex(rnd, kind)
            head_age = self._head_age(rnd, kind, legacy)
            if not add(head_sex, head_age, Z.head):
                return
            if kind != "single_parent":
                self._add_spouse(rnd, add, head_sex, head_age)
            if kind in ("family", "single_parent"):
                planned_births = self._add_children(rnd, add, kind, head_age)
            elif kind == "three_gen":
                self._add_generations(rnd, add, head_age)
        _Household(self, c, rnd, hgid, members, kind, legacy, start).play(planned_births, next_pid)

    def _add_spouse(self, rnd: random.Random, add, head_sex: int, head_age: float) -> None:
        S, Z = self.prof.households.spouse, self.zoku
        mikodoke = rnd.random() < S.mikodoke_share
        sp_sex = 3 - head_sex
        zoku = (Z.wife_mikodoke if sp_sex == 2 else Z.husband_mikodoke) if mikodoke else (
            Z.wife if sp_sex == 2 else Z.husband)
        add(sp_sex, max(S.min_age, head_age + rnd.uniform(*S.age_offset)), zoku,
            surname=self.pick(rnd, "surnames") if mikodoke else None)

    def _add_children(self, rnd: random.Random, add, kind: str, head_age: float) -> int:
        C = self.prof.households.children
        count = rnd.choice(C.family) if kind == "family" else rnd.randint(*C.single_parent)
        for _ in range(count):
            add(rnd.choice((1, 2)), rnd.uniform(0, min(head_age - C.parent_gap, C.max_age)), self.zoku.child)
        if kind == "family" and head_age < C.planned_births.head_age_below:
            return rnd.choice(C.planned_births.counts)
        return 0

    def _add_generations(self, rnd: random.Random, add, head_age: float) -> None:
        T, Z = self.prof.households.three_gen, self.zoku
        M = T.multigeneration
        if self.allow_multigen and head_age > M.head_age_over and rnd.random() < M.share:
            cs = rnd.choice((1, 2))
            c_age = head_age - rnd.uniform(*M.child_age_gap)
            add(cs, c_age, Z.child)
            add(3 - cs, c_age + rnd.uniform(*M.partner_age_offset), Z.child_wife if cs == 1 else Z.child_husband,
                surname=None if cs == 1 else self.pick(rnd, "surnames"))
            for _ in range(rnd.randint(*M.grandchildren)):
                add(rnd.choice((1, 2)), rnd.uniform(0, max(0.5, c_age - M.grandchild_gap)), Z.grandchild)
        else:
            for _ in range(rnd.randint(*T.children)):
                add(rnd.choice((1, 2)), rnd.uniform(0, min(head_age - T.child_gap, T.child_max_age)), Z.child)
            parent_sex = 1 if rnd.random() < T.parent.father_share else 2
            add(parent_sex, head_age + rnd.uniform(*T.parent.age_gap), Z.father if parent_sex == 1 else Z.mother)

class _Household:
    """One household's history: its first rows, then its events in day order."""

    def __init__(self, sim: Simulator, c: ChunkData, rnd: random.Random, hgid: int, members: list[tuple[int, str]],
                 kind: str, legacy: bool, start: int) -> None:
        self.sim, self.c, self.rnd = sim, c, rnd
        self.h = len(c.h_gid)
        c.h_gid.append(hgid)
        head = members[0][0]
        self.foreign = kind == "foreign"
        addr = sim.new_address(c, rnd)
        c.h_honseki.append(self._honseki(addr))
        c.h_hittosha.append(-1 if self.foreign else head)
        self.legacy, self.start = legacy, start
        self.zoku = {p: z for p, z in members}
        self.present = [p for p, _ in members]
        self.jumin_day: dict[int, int] = {}
        self.jusho_day: dict[int, int] = {}
        self.has_mynum: dict[int, bool] = {}
        self.rireki: dict[int, int] = {}
        self.tennyu = NONE
        self.first_head = head          # 出生 takes this one's surname (unless the mother is 未届 妻)
        self.head = head
        self.addr = addr
        self.setai_rireki = 0
        self._arrive()
        self.kosei = self.jumin_day[head]

    def _arrive(self) -> None:
        sim, c, rnd, E = self.sim, self.c, self.rnd, self.sim.prof.events
        start = self.start
        if self.legacy:
            settled = max(start - rnd.randint(*E.legacy_settled_days),
                          c.p_birth[self.head] + sim.prof.persons.adult_age * 365)
            settled = min(settled, start - 30)
            moved = rnd.randint(settled, start - 1)
            for p in self.present:
                self.jumin_day[p] = max(settled, c.p_birth[p])
                self.jusho_day[p] = max(moved, c.p_birth[p])
            self.first_code = sim.idou.kaisei
        else:
            abroad = self.foreign or rnd.random() < E.arrival_abroad_share
            self.first_code = sim.idou.kokugai_tennyu if abroad else sim.idou.tennyu
            self.tennyu = rnd.choice(sim.places_abroad if abroad else sim.places_domestic)
            for p in self.present:
                self.jumin_day[p] = self.jusho_day[p] = start
        for p in self.present:
            self.has_mynum[p] = start >= sim.mynumber_day
            self.rireki[p] = 0

    def _honseki(self, addr: int) -> str:
        """本籍: mostly in the city itself, else elsewhere (none for 外国人住民)."""
        sim, rnd = self.sim, self.rnd
        if self.foreign:
            return ""
        if rnd.random() < sim.prof.households.honseki_in_city_share:
            return f"{sim.prof.city}{sim.a.machiaza.marked[self.c.a_machi[addr]]}{fw(rnd.randint(1, 999))}番地"
        return sim.a.places.marked[rnd.choice(sim.places_domestic)][:10] + "１番地"

    def _schedule(self, planned_births: int) -> list[tuple[int, int, str, int]]:
        """The household's events (day, order, kind, arg), sorted."""
        sim, c, rnd = self.sim, self.c, self.rnd
        present, zoku, head, start = self.present, self.zoku, self.head, self.start
        E, Z = sim.prof.events, sim.zoku
        end = sim.end_day
        first = start + E.first_after_days
        events: list[tuple[int, int, str, int]] = []
        span = end - start
        if span > sim.prof.households.last_arrival_days:
            for i in range(planned_births):
                events.append((rnd.randint(first, end), 1, "birth", i))
            if start < sim.mynumber_day:
                events.append((sim.mynumber_day, 0, "mynumber", 0))
            if rnd.random() < E.move_share:
                events.append((rnd.randint(first, end), 2, "move", 0))
            for p in present:
                if rnd.random() < E.minor_share:
                    events.append((rnd.randint(start + 1, end), 3, "minor", p))
            head_age_at_start = (start - c.p_birth[head]) / 365.25
            others = {zoku[p] for p in present[1:]}
            if len(present) >= 3 and rnd.random() < E.head_leaves_share:
                # the 世帯主 alone moves out; two or more stay without one (j490, j100)
                events.append((rnd.randint(first, end), 4, "head_leaves", 0))
            if rnd.random() < E.leave_share:
                events.append((rnd.randint(first, end), 9, "leave", 0))
            elif len(present) == 1 and head_age_at_start > E.death.alone_over_age and rnd.random() < E.death.share:
                events.append((rnd.randint(first, end), 9, "death", 0))
            elif (head_age_at_start > E.head_death.over_age and others and others <= {Z.wife, Z.husband, Z.child}
                  and zoku[present[1]] in (Z.wife, Z.husband) and rnd.random() < E.head_death.share):
                events.append((rnd.randint(first, end), 5, "head_death", 0))
        events.sort()
        return events

    def row(self, p: int, code: str, day: int, jotai: str = "0", shojo: str = "", shojo_day: int = NONE,
            tenshutsu: int = -1) -> None:
        """One JUMIN history row of person p."""
        sim, rnd = self.sim, self.rnd
        self.rireki[p] += 1
        R = self.c.r
        R["person"].append(p)
        R["rireki"].append(self.rireki[p])
        R["house"].append(self.h)
        R["jotai"].append(jotai)
        R["zoku"].append(self.zoku[p])
        R["head"].append(self.head)
        R["addr"].append(self.addr)
        R["jumin_day"].append(self.jumin_day[p])
        R["jusho_day"].append(self.jusho_day[p])
        R["mynum"].append(self.has_mynum[p])
        R["idou"].append(code)
        R["idou_day"].append(day)
        if code in sim.todokede_events:
            delay = sim.prof.events.todokede_delay_days
            if code in (sim.idou.tenshutsu, sim.idou.kokugai_tenshutsu):
                todoke = day - rnd.randint(*delay)
            else:
                todoke = min(day + rnd.randint(*delay), sim.end_day)
            shori = todoke
        else:
            todoke, shori = NONE, day
        R["todoke_day"].append(todoke)
        R["shori_day"].append(shori)
        R["tennyu"].append(self.tennyu if self.first_code != sim.idou.kaisei else -1)
        R["tenshutsu"].append(tenshutsu)
        R["shojo"].append(shojo)
        R["shojo_day"].append(shojo_day)

    def setai_row(self, day: int) -> None:
        """One SETAI history row of the household."""
        self.setai_rireki += 1
        S = self.c.s
        S["house"].append(self.h)
        S["rireki"].append(self.setai_rireki)
        S["head"].append(self.head)
        S["addr"].append(self.addr)
        S["jinzu"].append(len(self.present))
        S["kosei_day"].append(self.kosei)
        S["shori_day"].append(day)

    def play(self, planned_births: int, next_pid) -> None:
        sim = self.sim
        for p in self.present:
            self.row(p, self.first_code, self.start)
        self.setai_row(self.start if not self.legacy else sim.kaisei_day)
        events = self._schedule(planned_births)
        terminal_day = next((d for d, _, k, _ in events if k in ("leave", "death")), None)
        Z = sim.zoku
        self.mother = next((p for p in self.present
                            if self.c.p_sex[p] == 2 and self.zoku[p] in (Z.head, Z.wife, Z.wife_mikodoke)), None)
        for day, _, ev, arg in events:
            if terminal_day is not None and day > terminal_day:
                break
            getattr(self, f"_on_{ev}")(day, arg, next_pid)

    # -- events (one method per kind of event)
    def _on_birth(self, day: int, arg: int, next_pid) -> None:
        sim, c, mother = self.sim, self.c, self.mother
        if mother is None or mother not in self.present \
                or (day - c.p_birth[mother]) / 365.25 > sim.prof.persons.mother_max_age:
            return
        gid = next_pid()
        if gid is None:
            return
        sur = c.p_sur[self.first_head] if self.zoku.get(mother) != sim.zoku.wife_mikodoke else c.p_sur[mother]
        p = sim.new_person(c, self.rnd, gid, sur, self.rnd.choice((1, 2)), day)
        self.zoku[p] = sim.zoku.child
        self.jumin_day[p] = self.jusho_day[p] = day
        self.has_mynum[p] = day >= sim.mynumber_day
        self.rireki[p] = 0
        self.present.append(p)
        self.row(p, sim.idou.shussei, day)
        self.setai_row(day)

    def _on_mynumber(self, day: int, arg: int, next_pid) -> None:
        for p in self.present:
            self.has_mynum[p] = True
            self.row(p, self.sim.idou.mynumber, day)

    def _on_move(self, day: int, arg: int, next_pid) -> None:
        self.addr = self.sim.new_address(self.c, self.rnd)
        for p in self.present:
            self.jusho_day[p] = day
            self.row(p, self.sim.idou.tenkyo, day)
        self.setai_row(day)

    def _on_minor(self, day: int, arg: int, next_pid) -> None:
        if arg in self.present and day > self.c.p_birth[arg]:
            self.row(arg, self.sim.idou.keibi, day)

    def _on_head_death(self, day: int, arg: int, next_pid) -> None:
        sim, old = self.sim, self.head
        if old not in self.present or len(self.present) < 2:
            return
        spouse = self.present[1]
        self.row(old, sim.idou.shibou, day, jotai="2", shojo=sim.idou.shibou, shojo_day=day)
        self.present.remove(old)
        if len(self.present) >= 2 and self.rnd.random() < sim.prof.events.head_death.no_new_head_share:
            # j490: two or more remain; the 世帯主変更 is still to come (j100: 世帯主未設定)
            self.head = -1
            self.setai_row(day)
            return
        self.head = spouse
        self.zoku[spouse] = sim.zoku.head
        for p in self.present:
            self.row(p, sim.idou.nushi_henko, day)
        self.setai_row(day)

    def _on_head_leaves(self, day: int, arg: int, next_pid) -> None:
        sim, old = self.sim, self.head
        if old not in self.present or len(self.present) < 3:
            return
        dest = self.rnd.choice(sim.places_domestic)
        self.row(old, sim.idou.tenshutsu, day, jotai="1", shojo=sim.idou.tenshutsu, shojo_day=day, tenshutsu=dest)
        self.present.remove(old)
        self.head = -1
        self.setai_row(day)

    def _on_death(self, day: int, arg: int, next_pid) -> None:
        p = self.present[0]
        self.row(p, self.sim.idou.shibou, day, jotai="2", shojo=self.sim.idou.shibou, shojo_day=day)
        self.present.clear()
        self.setai_row(day)

    def _on_leave(self, day: int, arg: int, next_pid) -> None:
        sim = self.sim
        share = sim.prof.events.leave_abroad_share
        abroad = self.rnd.random() < (share["foreign"] if self.foreign else share["other"])
        code = sim.idou.kokugai_tenshutsu if abroad else sim.idou.tenshutsu
        dest = self.rnd.choice(sim.places_abroad if abroad else sim.places_domestic)
        for p in self.present:
            self.row(p, code, day, jotai="1", shojo=code, shojo_day=day, tenshutsu=dest)
        self.present.clear()
        self.setai_row(day)
