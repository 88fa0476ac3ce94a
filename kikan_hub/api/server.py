"""The HTTP server: SOAP (/platform/soap, WSDL at ?wsdl) and REST (/api/v1, OpenAPI at /openapi.json)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from kikan_hub.api.auth import keys, redact
from kikan_hub.api.auth.audit import AuditLog
from kikan_hub.api.auth.clients import ClientRegistry
from kikan_hub.api.auth.oauth import TokenService
from kikan_hub.api.auth.replay import ReplayCache
from kikan_hub.api.auth.wsse import UsernameTokenVerifier
from kikan_hub.api.rest.queries import QueryService
from kikan_hub.api.soap.service import DEFAULT_MAX_BODY, XSD_FILES, SoapFault, SoapService, fault_envelope

log = logging.getLogger("kikan_hub.api.server")
XML = "text/xml; charset=utf-8"
REST_MAX_BODY = 64 * 1024


@dataclass
class Hub:
    engine: Engine
    clients: ClientRegistry
    tokens: TokenService
    queries: QueryService
    audit: AuditLog
    soap: SoapService
    linkage_dir: Path


def prepare_store(engine: Engine) -> None:
    """Create missing tables (Alembic) and the interface look-up indexes on juki_jumin."""
    from kikan_hub.store.migrate import upgrade
    from kikan_hub.store.schema import build_metadata
    from kikan_hub.store.security_tables import interface_indexes
    upgrade(engine)
    jumin = build_metadata().tables["juki_jumin"]
    with engine.begin() as conn:
        for idx in interface_indexes(jumin):
            idx.create(conn, checkfirst=True)


def build_hub(engine: Engine, master: bytes | None = None, *, max_body: int = DEFAULT_MAX_BODY,
              linkage_dir: Path | None = None, token_ttl: int = 300, replay_window: int = 300) -> Hub:
    engine.hide_parameters = True  # SQL errors must not carry 個人番号 into logs
    master = master or keys.load_master_key()
    clients = ClientRegistry(engine, master)
    replay = ReplayCache()
    queries = QueryService(engine)
    audit = AuditLog(engine)
    soap = SoapService(queries, UsernameTokenVerifier(clients, replay, window_seconds=replay_window), audit,
                       max_body=max_body)
    return Hub(engine, clients, TokenService(clients, replay, ttl_seconds=token_ttl), queries, audit, soap,
               Path(linkage_dir or Path("var") / "linkage"))


MODULES_SCOPE = "juki:modules:read"
# EUC masking roles (modules/euc/masking.yaml) granted by scopes euc:<role id>:read (scopes are ASCII).
EUC_ROLE_SCOPES = {"euc:etsuran:read": "閲覧", "euc:tanto:read": "担当", "euc:mynumber:read": "個人番号事務"}


def _modules_router(hub: Hub):
    """The business modules' routes (住民記録 queries, 統合宛名, EUC) behind the same OAuth2 tokens.

    The caller needs the scope juki:modules:read; EUC masking roles come from the scopes in
    EUC_ROLE_SCOPES. Every call is audited with the 宛名番号 in its path, before it runs.
    """
    from fastapi import Depends, Request

    from kikan_hub.api.rest.routes import Caller, require
    from kikan_hub.api.rest_modules import build_router
    from kikan_hub.api.shien_guard import SCOPE as SHIEN_SCOPE

    def principal(request: Request, caller: Caller = Depends(require(MODULES_SCOPE))) -> dict:
        atena = request.path_params.get("atena_no")
        hub.audit.record(client_id=caller.client.client_id, interface="rest", operation=request.url.path[:64],
                         outcome="ok", atena_nos=[atena] if atena else ())
        roles = sorted(role for scope, role in EUC_ROLE_SCOPES.items() if scope in caller.scopes)

        def audit_shien(operation: str, atena_nos: list[str], allowed: bool) -> None:
            hub.audit.record(client_id=caller.client.client_id, interface="rest", operation=operation,
                             outcome="shien_disclosed" if allowed else "shien_withheld", atena_nos=atena_nos,
                             detail=f"支援措置対象者 {len(atena_nos)} 人 (スコープ {SHIEN_SCOPE})")
        return {"sub": caller.client.client_id, "roles": roles, "shien": caller.can(SHIEN_SCOPE),
                "audit_shien": audit_shien}

    return build_router(principal=principal, engine=lambda: hub.engine)


def create_app(hub: Hub) -> FastAPI:
    from kikan_hub.api.rest.routes import router

    redact.install()
    app = FastAPI(title="kikan-hub platform interfaces", version="1.0.0",
                  description="住民記録の照会・異動連携 (REST/JSON, OAuth2 client credentials, scopes 業務ID:resource:operation)."
                              " SOAP 1.1 (地域情報プラットフォーム形式) は /platform/soap (WSDL: /platform/soap?wsdl)。")
    app.state.hub = hub
    app.include_router(router)
    app.include_router(_modules_router(hub), prefix="/api/v1")

    @app.middleware("http")
    async def limit_rest_body(request: Request, call_next):
        if request.url.path.startswith("/api/"):
            cl = request.headers.get("content-length")
            if cl is not None and (not cl.isdigit() or int(cl) > REST_MAX_BODY):
                return JSONResponse({"detail": f"要求が大きすぎます (上限 {REST_MAX_BODY} バイト)"}, 413)
        return await call_next(request)

    @app.get("/platform/soap", include_in_schema=False)
    async def wsdl(request: Request):
        if "wsdl" not in {k.lower() for k in request.query_params.keys()}:
            return Response("GET ?wsdl で WSDL を返します", 400, media_type="text/plain; charset=utf-8")
        url = str(request.url.replace(query=""))
        return Response(hub.soap.wsdl(url), media_type=XML)

    @app.get("/platform/xsd/{name}", include_in_schema=False)
    async def xsd(name: str):
        path = XSD_FILES.get(name)
        if path is None:
            return Response("not found", 404, media_type="text/plain")
        return Response(path.read_bytes(), media_type=XML)

    @app.post("/platform/soap", include_in_schema=False)
    async def soap(request: Request):
        limit = hub.soap.max_body
        cl = request.headers.get("content-length")
        too_big = SoapFault("soap:Client", "CLIENT-TOO-LARGE", f"要求が大きすぎます (上限 {limit} バイト)")
        if cl is not None and (not cl.isdigit() or int(cl) > limit):
            log.info("soap op=- client=- outcome=fault:CLIENT-TOO-LARGE")
            return Response(fault_envelope(too_big), 500, media_type=XML, headers={"Connection": "close"})
        buf = bytearray()
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > limit:
                log.info("soap op=- client=- outcome=fault:CLIENT-TOO-LARGE")
                return Response(fault_envelope(too_big), 500, media_type=XML, headers={"Connection": "close"})
        status, body = await run_in_threadpool(hub.soap.handle, bytes(buf))
        return Response(body, status, media_type=XML)

    return app


def app_from_url(store_url: str, **kw) -> FastAPI:
    from kikan_hub.store.engine import open_engine
    engine = open_engine(store_url)
    prepare_store(engine)
    return create_app(build_hub(engine, **kw))
