"""REST: ``GET /api/v1/rosters/{name}?as_of=`` — one route per roster rule file, each behind its own
scope ``rosters:<name>:read`` (a division reads its own roster only), masked per the caller's EUC
role, audited after the outcome with every 宛名番号 the answer returns.

    app.include_router(rosters_router(hub), prefix="/api/v1")        # api/server.py, one line
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.encoders import jsonable_encoder

from kikan_hub.api.auth import scopes as sc

SCOPE = "rosters:{name}:read"


def scope_of(name: str) -> str:
    return SCOPE.format(name=name)


def build_rosters_router(authorize: Callable[[str], Callable], engine: Callable,
                         audit: Callable[..., Any] | None = None) -> APIRouter:
    """``authorize(scope)`` is the server's dependency for one scope (returns the caller, with ``roles``);
    ``audit(caller, operation, outcome, atena_nos, count, detail)`` as rest_modules.build_router uses it."""
    from kikan_hub.api.rest_modules import principal_can, principal_role, strip_mynumber
    from kikan_hub.modules.euc import MaskingError
    from kikan_hub.modules.juki import JukiQueryError
    from kikan_hub.modules.rosters import RosterError, RosterResult, compute, load_rule, roster_names
    from kikan_hub.modules.rosters.output import mask

    r = APIRouter(tags=["rosters"])

    def record(caller, op, outcome, atena_nos=(), count=None, detail=None):
        if audit is not None:
            audit(caller, op, outcome, list(atena_nos), count, detail)

    def route(name: str):
        rule = load_rule(name)
        op = f"rosters.{name}"

        def get_roster(as_of: str = Query(..., description="基準日 (YYYY-MM-DD)"),
                       all: bool = Query(False, description="対象外の者も理由とともに返す"),  # noqa: A002 - the query name
                       role: Optional[str] = Query(None, description="マスキングの役割 (呼び出し元の役割のうち)"),
                       caller=Depends(authorize(scope_of(name))), e=Depends(engine)):
            try:
                use = principal_role(caller, role)
                res = compute(e, name, as_of)
                tbl = res.table if all else res.listed()
                tbl, plan = mask(RosterResult(res.rule, res.as_of, tbl, res.headers), use)
            except HTTPException as exc:
                record(caller, op, "denied" if exc.status_code == 403 else "invalid", detail=str(exc.detail)[:200])
                raise
            except (RosterError, JukiQueryError, MaskingError) as exc:
                record(caller, op, "invalid", detail=str(exc)[:200])
                raise HTTPException(422, str(exc)) from None
            # a city may add 個人番号 to a rule file's columns: it leaves only with the 個人番号 grant
            items = strip_mynumber(tbl.to_pylist(), principal_can(caller, sc.kojin_bango_scope("juki")))
            counts: dict[str, int] = {}
            for j in res.table["判定"].to_pylist():
                counts[j] = counts.get(j, 0) + 1
            atena_nos = [i["atena_no"] for i in items]
            record(caller, op, "ok", atena_nos, len(atena_nos), f"as_of={res.as_of}; role={use}")
            return jsonable_encoder({"roster": name, "title": rule.title, "division": rule.division,
                                     "as_of": res.as_of, "role": use, "masked": sorted(plan), "counts": counts,
                                     "columns": dict(zip(tbl.column_names, res.headers)),
                                     "legal_basis": list(rule.legal_basis), "listed_only": not all,
                                     "count": len(items), "items": items})

        r.add_api_route(f"/rosters/{name}", get_roster, methods=["GET"], summary=f"{rule.title} (基準日)",
                        description=f"{rule.division}: {rule.title}。スコープ {scope_of(name)}。",
                        operation_id=f"roster_{name}")

    for name in roster_names():
        route(name)
    return r


def rosters_router(hub) -> APIRouter:
    """The hub's wiring: the same scope check, EUC roles and audit as the other module routes."""
    from kikan_hub.api.server import module_hooks

    authorize, audit = module_hooks(hub)
    return build_rosters_router(authorize, lambda: hub.engine, audit)
