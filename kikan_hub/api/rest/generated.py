"""REST routes generated for every ISL table from the loaded definitions (built at app start).

For a table ``<gyomu_id>_<resource>`` of 業務 ``<業務>`` (public name, scopes.yaml):

    GET /api/v1/<業務>/<resource>/changes?since_serial=&since_date=&limit=   change feed (feed.py)
    GET /api/v1/<業務>/<resource>/{atena_no}                                 rows of a 宛名番号 (tables with one)
    GET /api/v1/<業務>/<resource>?<primary key items>                        rows by key (a leading part is enough)

each under the scope ``<業務>:<resource>:read`` (403 without; 支援措置 tables also need
``juki:shien_sochi:read``), with response models generated from the definition (tables.py) and the
one delivery pipeline (deliver.py): 支援措置 withheld, 個人番号 only with ``<業務>:kojin_bango:read``,
every read audited with the 宛名番号s it disclosed.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from kikan_hub.api.rest import deliver
from kikan_hub.api.rest.feed import ChangeFeed
from kikan_hub.api.rest.models import Problem
from kikan_hub.api.rest.routes import ATENA, Caller, hub, lookup_allowed, require
from kikan_hub.layouts.types import openapi_schema
from kikan_hub.api.rest.tables import (KeyError_, TableReader, TableSpec, _metadata, feed_model, list_model,
                                       parse_key_value, table_specs)

ERRORS = {401: {"model": Problem, "description": "トークンが無い・無効"},
          403: {"model": Problem, "description": "スコープが足りない"}}


def _caller(spec: TableSpec):
    """The table's read scope (and the 支援措置 scope for 支援措置 tables)."""
    base = require(spec.scope)

    def dep(request: Request, caller: Caller = Depends(base)) -> Caller:
        for extra in spec.extra_scopes:
            if not caller.can(extra):
                hub(request).audit.record(client_id=caller.client.client_id, interface="rest",
                                          operation=spec.operation, outcome="denied", detail=f"needs {extra}")
                raise HTTPException(403, f"スコープ {extra} が必要です")
        return caller
    return dep


def _deliver(request: Request, caller: Caller, spec: TableSpec, op: str, rows: list[dict]) -> list[dict]:
    h = hub(request)
    if spec.has_atena:
        rows, _ = deliver.guard(h, caller, "rest", op, rows, atena_of=lambda r: r["atena_no"])
    elif "setai_no" in spec.column_names:
        rows, _ = deliver.guard(h, caller, "rest", op, rows, setai_of=lambda r: r["setai_no"])
    return deliver.strip(rows, caller.can, spec.id, spec.table.gyomu_id)


def _add_table(r: APIRouter, spec: TableSpec) -> None:
    base = f"/{spec.gyomu}/{spec.resource}"
    tag = spec.gyomu
    name = f"{spec.table.name} ({spec.id})"
    who = _caller(spec)
    need = f"スコープ {' と '.join((spec.scope, *spec.extra_scopes))} が必要です"   # told in /openapi.json

    @r.get(f"{base}/changes", response_model=feed_model(spec), tags=[tag], responses=ERRORS,
           summary=f"{name}: 変更の差分取得", operation_id=f"{spec.id}_changes", description=need)
    def changes(request: Request,
                since_serial: int = Query(0, ge=0, le=2 ** 62, description="この連番より後"),
                since_date: Optional[dt.date] = Query(None, description="処理日がこの日以降 (処理日のある表)"),
                limit: int = Query(100, ge=1, le=1000),
                caller: Caller = Depends(who)):
        h = hub(request)
        if since_date is not None and "shori_date" not in spec.column_names:
            raise HTTPException(422, f"{spec.id} には処理日がありません (since_date は使えません)")
        feed = ChangeFeed.for_table(h.engine, _metadata(), spec.id, spec.table.primary_key, spec.column_names)
        rows, nxt, more = feed.page(since_serial, limit, since_date)
        kept = _deliver(request, caller, spec, f"{spec.operation}.changes", [dict(x, _serial=s) for s, x in rows])
        items = [{"serial": x.pop("_serial"), "record": x} for x in kept]
        deliver.audit(h, caller, f"{spec.operation}.changes", [i["record"] for i in items], found=True)
        return {"count": len(items), "items": items, "next_serial": nxt, "has_more": more}

    if spec.has_atena:
        @r.get(f"{base}/{{atena_no}}", response_model=list_model(spec), tags=[tag], responses=ERRORS,
               summary=f"{name}: 宛名番号で照会", operation_id=f"{spec.id}_by_atena", description=need)
        def by_atena(request: Request, atena_no: ATENA, caller: Caller = Depends(who)):
            h = hub(request)
            lookup_allowed(h, caller)
            rows = _deliver(request, caller, spec, spec.operation, TableReader(h.engine, spec).by_atena(atena_no))
            deliver.audit(h, caller, spec.operation, rows, atena_nos=[atena_no] if rows else [])
            return {"count": len(rows), "items": rows}

    key_params = [{"name": c.name, "in": "query", "required": i == 0,
                   "description": f"{c.item.name} (主キー {i + 1}/{len(spec.key_columns)})",
                   "schema": openapi_schema(c)} for i, c in enumerate(spec.key_columns)]

    @r.get(base, response_model=list_model(spec), tags=[tag], responses={**ERRORS, 422: {"model": Problem}},
           summary=f"{name}: 主キーで照会", operation_id=f"{spec.id}_by_key", description=need,
           openapi_extra={"parameters": key_params})
    def by_key(request: Request, caller: Caller = Depends(who)):
        h = hub(request)
        params = request.query_params
        unknown = sorted(set(params) - set(spec.table.primary_key))
        if unknown:
            raise HTTPException(422, f"主キーの項目ではありません: {unknown} (主キー: {list(spec.table.primary_key)})")
        values, missing = {}, False
        for c in spec.key_columns:   # a leading part of the key: (税年度), (税年度, 宛名番号), …
            raw = params.get(c.name)
            if raw is None or raw == "":
                missing = True
                continue
            if missing:
                raise HTTPException(422, f"{c.name} の前の主キー項目も指定してください (主キー: {list(spec.table.primary_key)})")
            try:
                values[c.name] = parse_key_value(c, raw)
            except KeyError_ as e:
                raise HTTPException(422, str(e)) from None
        if not values:
            raise HTTPException(422, f"主キーの先頭 {spec.table.primary_key[0]} を指定してください")
        lookup_allowed(h, caller)
        rows = _deliver(request, caller, spec, f"{spec.operation}.key", TableReader(h.engine, spec).by_key(values))
        deliver.audit(h, caller, f"{spec.operation}.key", rows)
        return {"count": len(rows), "items": rows}


def build_tables_router() -> APIRouter:
    """The generated routes of every table loaded now (the shipped ones and KIKAN_DEFINITIONS_PATH)."""
    r = APIRouter(prefix="/api/v1")
    for spec in table_specs().values():
        _add_table(r, spec)
    return r
