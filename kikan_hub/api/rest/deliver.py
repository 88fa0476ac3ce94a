"""What happens to rows between the query and the answer, for every REST read of records (one pipeline).

1. 支援措置 (j160, j440): a 支援対象者's rows — and the rows of a household one of them lives in —
   are withheld unless the caller holds ``juki:shien_sochi:read``; audited either way (shien_guard).
2. 個人番号: items whose ``personal:`` kind needs the 業務's kojin_bango grant are nulled without it.
3. Audit after the outcome: every 宛名番号 the answer discloses is a subject (``kikan_audit_subject``).
4. Throttle: an answer that found nobody counts against the client's not-found budget.
The hand-written 住民記録 routes and the generated routes of every table (generated.py) call it.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select

from kikan_hub.api.auth import scopes as sc
from kikan_hub.api.rest_modules import disclosed_atena_nos
from kikan_hub.api.shien_guard import SCOPE as SHIEN_SCOPE, withhold
from kikan_hub.store.schema import build_metadata


def strip(rows: list[dict], can: Callable[[str], bool], table_id: str, gyomu: str) -> list[dict]:
    """Null the 個人番号 items of ``table_id`` unless the caller holds ``<業務>:kojin_bango:read``."""
    if can(sc.kojin_bango_scope(gyomu)):
        return rows
    hidden = sc.mynumber_columns(table_id)
    return [{**r, **{c: None for c in hidden if c in r}} for r in rows]


def guard(hub, caller, interface: str, operation: str, rows: list, atena_of: Callable[[Any], str] | None = None,
          setai_of: Callable[[Any], str | None] | None = None) -> tuple[list, set[str]]:
    """(rows the caller may see, 支援対象者 withheld) for a REST caller (see ``guard_rows``)."""
    return guard_rows(hub.engine, hub.audit, caller.client.client_id, caller.can(SHIEN_SCOPE), interface, operation,
                      rows, atena_of, setai_of)


def guard_rows(engine, audit_log, client_id: str | None, allowed: bool, interface: str, operation: str, rows: list,
               atena_of: Callable[[Any], str] | None = None, setai_of: Callable[[Any], str | None] | None = None
               ) -> tuple[list, set[str]]:
    """(rows the caller may see, 支援対象者 withheld). ``atena_of`` for person rows, ``setai_of`` for
    household rows (their address is the 支援対象者's whenever one is a member). REST and SOAP alike."""
    common = dict(client_id=client_id, allowed=allowed, interface=interface, operation=operation)
    if atena_of is not None:
        return withhold(engine, audit_log, rows=rows, atena_of=atena_of, **common)
    if setai_of is None or not rows:
        return rows, set()
    setai_nos = sorted({s for s in map(setai_of, rows) if s})
    j = build_metadata().tables["juki_jumin"]
    with engine.connect() as conn:
        members = conn.execute(select(j.c.setai_no, j.c.atena_no).where(j.c.setai_no.in_(setai_nos)).distinct()).all()
    _, hit = withhold(engine, audit_log, rows=list(members), atena_of=lambda m: m[1], **common)
    hidden_setai = {s for s, a in members if a in hit}
    return [r for r in rows if setai_of(r) not in hidden_setai], hit


def audit(hub, caller, operation: str, rows: Any, *, found: bool | None = None, atena_nos: list[str] | None = None,
          detail: str | None = None, count_not_found: bool = True) -> None:
    """One audit entry after the outcome, with every 宛名番号 the answer discloses (``atena_nos`` to name
    them, else every well-formed *atena_no value in ``rows``)."""
    found = bool(rows) if found is None else found
    subjects = disclosed_atena_nos(rows) if atena_nos is None else atena_nos
    hub.audit.record(client_id=caller.client.client_id, interface="rest", operation=operation,
                     outcome="ok" if found else "not_found", atena_nos=subjects, detail=detail)
    if not found and count_not_found:
        hub.throttle.not_found(caller.client.client_id)
