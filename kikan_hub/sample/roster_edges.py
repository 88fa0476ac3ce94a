"""The roster edge cases (profiles/roster_edges.yaml) as one more chunk of the 住民記録 simulation.

The people of the file are built as ``ChunkData`` rows — the same shape the simulation produces — so the
JUMIN / SETAI writers, the defect planting and the truth treat them like every other resident. Only the
days are fixed (birth, 転入 and its 届出, 死亡 / 転出); names and addresses are drawn as usual.
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import yaml

from kikan_hub.sample.fields import NONE, day_number
from kikan_hub.sample.simulation import ChunkData, Simulator

SHIPPED = Path(__file__).parent / "profiles" / "roster_edges.yaml"
ARRIVE = {"改製": "kaisei", "転入": "tennyu", "国外転入": "kokugai_tennyu", "出生": "shussei"}
LEAVE = {"転出": "tenshutsu", "国外転出": "kokugai_tenshutsu", "死亡": "shibou"}
PERSON_KEYS = {"id", "birth", "birth_unknown", "sex", "foreign", "arrive", "leave", "with", "expect"}


class EdgeCaseError(ValueError):
    pass


def load_edges(path: Path | None = None) -> dict:
    """The edge-case file, checked: unknown keys, kinds and dates outside the calendar are errors."""
    path = Path(path or SHIPPED)
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    ids: set[str] = set()
    for i, p in enumerate(doc.get("people") or []):
        where = f"{path.name}: people[{i}] ({p.get('id', '?')})"
        unknown = set(p) - PERSON_KEYS
        if unknown:
            raise EdgeCaseError(f"{where}: unknown key {sorted(unknown)} (allowed: {sorted(PERSON_KEYS)})")
        if p["arrive"].get("kind") not in ARRIVE:
            raise EdgeCaseError(f"{where}: arrive.kind must be one of {list(ARRIVE)}")
        if p.get("leave") and p["leave"].get("kind") not in LEAVE:
            raise EdgeCaseError(f"{where}: leave.kind must be one of {list(LEAVE)}")
        if p.get("with") and p["with"] not in ids:
            raise EdgeCaseError(f"{where}: with: {p['with']!r} is not an earlier person's id")
        ids.add(p["id"])
    return doc


def edge_chunk(sim: Simulator, doc: dict, first_gid: int, first_hgid: int, rnd: random.Random
               ) -> tuple[ChunkData, dict[str, int]]:
    """(the chunk, {id: global person number}) — persons first_gid…, households first_hgid…"""
    c = ChunkData()
    gids: dict[str, int] = {}
    house_of: dict[str, int] = {}
    rireki: dict[int, int] = {}
    members: dict[int, list[int]] = {}       # household → persons present (for 世帯人数)
    local: dict[str, int] = {}
    house_addr: dict[int, int] = {}
    head_of: dict[int, int] = {}
    for spec in doc.get("people") or []:
        gid = first_gid + len(gids)
        birth = day_number(spec["birth"])
        foreign = bool(spec.get("foreign"))
        kind = 2 if spec.get("birth_unknown") == "day" else 0          # 2: 年月頃 (the day unknown)
        sex = int(spec.get("sex", 1))
        sur = -1 if foreign else sim.pick(rnd, "surnames")
        giv = sim.pick(rnd, "foreign" if foreign else ("male" if sex == 1 else "female"))
        for lst, v in ((c.p_gid, gid), (c.p_sur, sur), (c.p_giv, giv), (c.p_sex, sex), (c.p_foreign, foreign),
                       (c.p_birth, birth), (c.p_bkind, kind)):
            lst.append(v)
        p = len(c.p_gid) - 1
        gids[spec["id"]], local[spec["id"]] = gid, p
        if spec.get("with"):
            h, zoku = house_of[spec["with"]], sim.zoku.child
            if sur >= 0 and c.p_sur[local[spec["with"]]] >= 0:
                c.p_sur[p] = c.p_sur[local[spec["with"]]]
        else:
            h = len(c.h_gid)
            c.h_gid.append(first_hgid + h)
            c.h_honseki.append("" if foreign else f"{sim.prof.city}本町１番地")
            c.h_hittosha.append(-1 if foreign else p)
            house_addr[h] = sim.new_address(c, rnd)
            members[h] = []
            zoku = sim.zoku.head
        house_of[spec["id"]] = h
        head = head_of.setdefault(h, p)                  # the household's first person is its 世帯主
        addr = house_addr[h]
        arrive = spec["arrive"]
        code = getattr(sim.idou, ARRIVE[arrive["kind"]])
        if arrive["kind"] == "改製":
            day, todoke, jumin = sim.kaisei_day, NONE, day_number(arrive["jumin"])
        else:
            day = day_number(arrive.get("date", spec["birth"]))
            todoke, jumin = day_number(arrive.get("todoke", arrive.get("date", spec["birth"]))), day
        rireki[p] = 0
        members[h].append(p)

        def row(code: str, day: int, todoke: int, jotai: str = "0", shojo: str = "", shojo_day: int = NONE,
                tenshutsu: int = -1) -> None:
            rireki[p] += 1
            R = c.r
            for k, v in (("person", p), ("rireki", rireki[p]), ("house", h), ("jotai", jotai), ("zoku", zoku),
                         ("head", head), ("addr", addr), ("jumin_day", jumin), ("jusho_day", jumin),
                         ("mynum", day >= sim.mynumber_day), ("idou", code), ("idou_day", day),
                         ("todoke_day", todoke), ("shori_day", todoke if todoke != NONE else day),
                         ("tennyu", rnd.choice(sim.places_domestic) if code == sim.idou.tennyu else -1),
                         ("tenshutsu", tenshutsu), ("shojo", shojo), ("shojo_day", shojo_day)):
                R[k].append(v)

        row(code, day, todoke)
        _setai_row(c, h, head, addr, len(members[h]), day)
        if day < sim.mynumber_day:                         # 個人番号の職権記載, as every resident then
            row(sim.idou.mynumber, sim.mynumber_day, NONE)
        leave = spec.get("leave")
        if leave:
            lday = day_number(leave["date"])
            lcode = getattr(sim.idou, LEAVE[leave["kind"]])
            jotai = "2" if leave["kind"] == "死亡" else "1"
            dest = rnd.choice(sim.places_abroad if leave["kind"] == "国外転出" else sim.places_domestic) \
                if leave["kind"] != "死亡" else -1
            row(lcode, lday, lday, jotai=jotai, shojo=lcode, shojo_day=lday, tenshutsu=dest)
            members[h].remove(p)
            _setai_row(c, h, head, addr, len(members[h]), lday)
    order = sorted(range(len(c.s["house"])), key=lambda i: (c.s["house"][i], c.s["rireki"][i]))
    c.s = {k: [v[i] for i in order] for k, v in c.s.items()}      # one household's history together, as the file has it
    return c, gids


def _setai_row(c: ChunkData, h: int, head: int, addr: int, jinzu: int, day: int) -> None:
    S = c.s
    rireki = sum(1 for x in S["house"] if x == h) + 1
    for k, v in (("house", h), ("rireki", rireki), ("head", head), ("addr", addr), ("jinzu", jinzu),
                 ("kosei_day", day if rireki == 1 else S["kosei_day"][S["house"].index(h)]), ("shori_day", day)):
        S[k].append(v)


def edge_dates(doc: dict) -> list[dt.date]:
    return [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in doc.get("as_of") or []]
