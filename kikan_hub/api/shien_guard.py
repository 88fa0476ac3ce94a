"""The interfaces' guard for 支援措置 (j160, j440): 支援対象者 are never returned without the dedicated
scope (kikan_hub.modules.shien.SCOPE), and every attempt that touches one is audited — withheld or
disclosed — with the 宛名番号 concerned (the audit keeps them; no name or address is logged)."""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy import Engine

from kikan_hub.modules import shien

T = TypeVar("T")
SCOPE = shien.SCOPE


def withhold(engine: Engine, audit, *, client_id: str | None, allowed: bool, interface: str, operation: str,
             rows: list[T], atena_of: Callable[[T], str] = lambda r: r["atena_no"]) -> tuple[list[T], set[str]]:
    """(rows the caller may see, 支援対象者 withheld). Audits one entry whenever a 支援対象者 is among `rows`."""
    hit = shien.restricted(engine, [atena_of(r) for r in rows])
    if not hit:
        return rows, set()
    if allowed:
        audit.record(client_id=client_id, interface=interface, operation=operation, outcome="shien_disclosed",
                     atena_nos=sorted(hit), detail=f"支援措置対象者 {len(hit)} 人を返す (スコープ {SCOPE})")
        return rows, set()
    audit.record(client_id=client_id, interface=interface, operation=operation, outcome="shien_withheld",
                 atena_nos=sorted(hit), detail=f"支援措置対象者 {len(hit)} 人を返さない: スコープ {SCOPE} がない")
    return [r for r in rows if atena_of(r) not in hit], hit
