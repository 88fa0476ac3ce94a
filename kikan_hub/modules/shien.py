"""支援措置 (DV・ストーカー行為等の被害者の支援措置, jyuki-stnd j160, j410, j440): who is restricted.

A migration that lets the address of a 支援対象者 out through an interface does the worst harm a
migration can do. So every interface (REST, SOAP, EUC) asks this module which of the persons it is
about to return are 支援対象者 and, unless the caller holds the dedicated scope SCOPE, withholds
them and audits the attempt.

A person is restricted when any of their 住民 rows carries 支援対象者である旨 (`shien_taisho`) or a
支援措置 row names them and is not 終了 (`jotai` 9). Erring on the side of withholding: a flag left
on an old history row keeps the person restricted until the 支援措置 data say otherwise.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Engine, MetaData, and_, bindparam, or_, select, true
from sqlalchemy.sql import Select

from kikan_hub.store.schema import build_metadata

SCOPE = "juki:shien_sochi:read"
ENDED = "9"                      # shien_sochi_jotai: 終了
# Tables that are 支援措置 data themselves: readable only with SCOPE, whatever else the caller holds.
SHIEN_TABLES = ("juki_shien_sochi", "juki_shien_kagaisha", "juki_yokushi")


def restricted_atena_select() -> Select:
    """SELECT of every restricted 宛名番号 (for NOT IN filters in SQL)."""
    md = build_metadata()
    j, s = md.tables["juki_jumin"], md.tables["juki_shien_sochi"]
    flagged = select(j.c.atena_no).where(j.c.shien_taisho == true())
    sochi = select(s.c.atena_no).where(or_(s.c.jotai.is_(None), s.c.jotai != ENDED))
    return flagged.union(sochi)


def restricted(engine: Engine, atena_nos: Iterable[str]) -> set[str]:
    """The 支援対象者 among `atena_nos`."""
    wanted = sorted({a for a in atena_nos if a})
    if not wanted:
        return set()
    stmt = _restricted_among()
    out: set[str] = set()
    with engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            out.update(r[0] for r in conn.execute(stmt, {"wanted": wanted[i:i + 500]}))
    return out


_AMONG: dict[int, tuple[MetaData, Select]] = {}


def _restricted_among() -> Select:
    """One UNION statement (flagged 住民 rows, open 支援措置 rows) over an expanding list of 宛名番号,
    built once per metadata: every interface read runs it, and building it per call cost more CPU
    than the two index look-ups it makes."""
    md = build_metadata()
    hit = _AMONG.get(id(md))
    if hit is None or hit[0] is not md:
        j, s = md.tables["juki_jumin"], md.tables["juki_shien_sochi"]
        wanted = bindparam("wanted", expanding=True)
        flagged = select(j.c.atena_no).where(and_(j.c.atena_no.in_(wanted), j.c.shien_taisho == true()))
        sochi = select(s.c.atena_no).where(and_(s.c.atena_no.in_(wanted), or_(s.c.jotai.is_(None), s.c.jotai != ENDED)))
        hit = _AMONG[id(md)] = (md, flagged.union(sochi))
    return hit[1]


def restricted_setai_select() -> Select:
    """世帯番号 where a restricted person has ever been a member (their 世帯 rows show the address)."""
    j = build_metadata().tables["juki_jumin"]
    return select(j.c.setai_no).where(j.c.atena_no.in_(restricted_atena_select())).distinct()
