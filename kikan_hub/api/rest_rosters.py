"""REST: ``GET /api/v1/rosters/{name}?as_of=`` — one route per roster rule file, each behind its own
scope ``rosters:<name>:read`` (a division reads its own roster only), masked per the caller's EUC
role, audited with every 宛名番号 the answer returns.

    app.include_router(rosters_router(hub), prefix="/api/v1")        # api/server.py, one line
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder

SCOPE = "rosters:{name}:read"


def scope_of(name: str) -> str:
    return SCOPE.format(name=name)


def build_rosters_router(authorize: Callable[[str], Callable], engine: Callable,
                         audit: Callable[..., Any] | None = None,
                         roles_of: Callable[[Any], list[str]] = lambda caller: []) -> APIRouter:
    """``authorize(scope)`` is the server's dependency for one scope (returns the caller);
    ``audit(caller, operation, outcome, atena_nos, detail)`` records the call after its outcome is known."""
    from kikan_hub.api.rest_modules import DEFAULT_ROLE
    from kikan_hub.modules.euc import MaskingError
    from kikan_hub.modules.juki import JukiQueryError
    from kikan_hub.modules.rosters import OUT, RosterError, compute, load_rule, roster_names
    from kikan_hub.modules.rosters.output import mask

    r = APIRouter(tags=["rosters"])

    def record(caller, op, outcome, atena_nos=(), detail=None):
        if audit is not None:
            audit(caller, op, outcome, list(atena_nos), detail)

    def route(name: str):
        rule = load_rule(name)
        op = f"rosters.{name}"

        def get_roster(as_of: str = Query(..., description="基準日 (YYYY-MM-DD)"),
                       all: bool = Query(False, description="対象外の者も理由とともに返す"),  # noqa: A002 - the query name
                       role: Optional[str] = Query(None, description="マスキングの役割 (呼び出し元の役割のうち)"),
                       caller=Depends(authorize(scope_of(name))), e=Depends(engine)):
            roles = roles_of(caller)
            if role is not None and role not in roles:
                record(caller, op, "denied", detail=f"role {role}")
                raise HTTPException(403, f"役割 {role} はこの呼び出し元に許されていません ({', '.join(roles) or DEFAULT_ROLE})")
            use = role or (roles[0] if roles else DEFAULT_ROLE)
            try:
                res = compute(e, name, as_of)
                tbl = res.table if all else res.listed()
                from kikan_hub.modules.rosters import RosterResult
                tbl, plan = mask(RosterResult(res.rule, res.as_of, tbl, res.headers), use)
            except (RosterError, JukiQueryError, MaskingError) as exc:
                record(caller, op, "invalid", detail=str(exc)[:200])
                raise HTTPException(422, str(exc)) from None
            items = tbl.to_pylist()
            counts: dict[str, int] = {}
            for j in res.table["判定"].to_pylist():
                counts[j] = counts.get(j, 0) + 1
            record(caller, op, "ok", [i["atena_no"] for i in items],
                   f"as_of={res.as_of}; role={use}; rows={len(items)}")
            return jsonable_encoder({"roster": name, "title": rule.title, "division": rule.division,
                                     "as_of": res.as_of, "role": use, "masked": sorted(plan), "counts": counts,
                                     "columns": dict(zip(tbl.column_names, res.headers)),
                                     "legal_basis": list(rule.legal_basis), "count": len(items), "items": items,
                                     "listed_only": not all, "not_listed": OUT})

        r.add_api_route(f"/rosters/{name}", get_roster, methods=["GET"], summary=f"{rule.title} (基準日)",
                        description=f"{rule.division}: {rule.title}。スコープ {scope_of(name)}。",
                        operation_id=f"roster_{name}")

    for name in roster_names():
        route(name)
    return r


def rosters_router(hub) -> APIRouter:
    """The hub's wiring: OAuth2 scopes (``require``), EUC roles from scopes, the interface audit."""
    from kikan_hub.api.rest.routes import Caller, require
    from kikan_hub.api.server import EUC_ROLE_SCOPES

    def audit(caller: Caller, op: str, outcome: str, atena_nos: list[str], detail: str | None) -> None:
        hub.audit.record(client_id=caller.client.client_id, interface="rest", operation=op, outcome=outcome,
                         atena_nos=atena_nos, detail=detail)

    def roles_of(caller: Caller) -> list[str]:
        return sorted(role for scope, role in EUC_ROLE_SCOPES.items() if scope in caller.scopes)

    return build_rosters_router(require, lambda: hub.engine, audit, roles_of)
