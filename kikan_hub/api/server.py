"""The HTTP server: SOAP (/platform/soap, WSDL at ?wsdl) and REST (/api/v1; OpenAPI only with docs on)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine

from kikan_hub.api.asgi_guards import BodyLimit, CatchAll, NoStore, problem
from kikan_hub.api.auth import keys, redact
from kikan_hub.api.auth.audit import AuditLog
from kikan_hub.api.auth.clients import ClientRegistry
from kikan_hub.api.auth.oauth import TokenService
from kikan_hub.api.auth.replay import ReplayCache
from kikan_hub.api.auth.throttle import Throttle, ThrottlePolicy
from kikan_hub.api.auth.wsse import UsernameTokenVerifier
from kikan_hub.api.rest.queries import QueryService
from kikan_hub.api.soap.service import DEFAULT_MAX_BODY, XSD_FILES, SoapFault, SoapService, fault_envelope
from kikan_hub.api.soap.xsd_gen import TABLE_TYPES

log = logging.getLogger("kikan_hub.api.server")
XML = "text/xml; charset=utf-8"
REST_MAX_BODY = 64 * 1024
SOAP_PATH = "/platform/soap"


@dataclass
class Hub:
    engine: Engine
    clients: ClientRegistry
    tokens: TokenService
    queries: QueryService
    audit: AuditLog
    soap: SoapService
    linkage_dir: Path
    throttle: Throttle = field(default_factory=Throttle)
    public_url: str | None = None   # e.g. https://hub.city.example — the WSDL address and the JWT audience
    rest_max_body: int = REST_MAX_BODY

    def base_url(self, request: Request) -> str:
        """Our own base URL: the configured one, else the socket the request came in on — never the Host header."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host, port = request.scope.get("server") or ("127.0.0.1", 80)
        return f"{request.url.scheme}://{host}:{port}"


def prepare_store(engine: Engine) -> None:
    """Bring the store to the latest Alembic revision (tables, and the interface look-up indexes on
    juki_jumin: revision 0002)."""
    from kikan_hub.store.migrate import upgrade
    upgrade(engine)


def build_hub(engine: Engine, master: bytes | None = None, *, max_body: int = DEFAULT_MAX_BODY,
              linkage_dir: Path | None = None, token_ttl: int = 300, replay_window: int = 300,
              public_url: str | None = None, throttle: ThrottlePolicy | None = None,
              rest_max_body: int = REST_MAX_BODY, audit_sync: str = "full") -> Hub:
    engine.hide_parameters = True  # SQL errors must not carry 個人番号 into logs
    master = master or keys.load_master_key()
    clients = ClientRegistry(engine, master)
    clients.warm()
    replay = ReplayCache()
    queries = QueryService(engine)
    audit = AuditLog(engine, sqlite_sync=audit_sync)
    limiter = Throttle(throttle)
    soap = SoapService(queries, UsernameTokenVerifier(clients, replay, window_seconds=replay_window), audit,
                       max_body=max_body, throttle=limiter)
    return Hub(engine, clients, TokenService(clients, replay, ttl_seconds=token_ttl), queries,
               audit, soap, Path(linkage_dir or Path("var") / "linkage"), limiter, public_url, rest_max_body)


# EUC masking roles (layouts/personal.yaml euc_roles) granted by scopes euc:<role id>:read (scopes are ASCII).
EUC_ROLE_SCOPES = {"euc:etsuran:read": "閲覧", "euc:tanto:read": "担当", "euc:mynumber:read": "個人番号事務"}


def module_hooks(hub: Hub):
    """(authorize, audit) for the business modules' routes: ``authorize(scope)`` is the dependency that
    checks one scope and sets the caller's EUC masking roles (EUC_ROLE_SCOPES); ``audit`` records a call
    after its outcome, with the 宛名番号s it disclosed."""
    from kikan_hub.api.rest.routes import Caller, lookup_allowed, require

    def authorize(scope: str):
        def dep(caller: Caller = Depends(require(scope))) -> Caller:
            lookup_allowed(hub, caller)
            caller.roles = sorted(role for s, role in EUC_ROLE_SCOPES.items() if s in caller.scopes)
            return caller
        return dep

    def audit(caller, operation, outcome, atena_nos, count, detail):
        hub.audit.record(client_id=caller.client.client_id, interface="rest", operation=operation, outcome=outcome,
                         atena_nos=atena_nos, subject_count=count, detail=detail)
        if outcome == "not_found":
            hub.throttle.not_found(caller.client.client_id)

    return authorize, audit


def _modules_router(hub: Hub):
    """The business modules' routes (住民記録 queries, 統合宛名, EUC) behind the same OAuth2 tokens.

    Each route needs its own scope (rest_modules.ROUTE_SCOPES); EUC masking roles come from the scopes
    in EUC_ROLE_SCOPES. Every call is audited after its outcome, with the 宛名番号s it disclosed.
    """
    from kikan_hub.api.rest_modules import build_router

    authorize, audit = module_hooks(hub)
    return build_router(authorize=authorize, audit=audit, engine=lambda: hub.engine,
                        output_dir=hub.linkage_dir.parent / "euc")


def create_app(hub: Hub, *, docs: bool = False) -> FastAPI:
    """The ASGI app. ``docs`` publishes /openapi.json and /docs (off by default: they map every route)."""
    from kikan_hub.api.rest.generated import build_tables_router
    from kikan_hub.api.rest.routes import router
    from kikan_hub.api.rest_rosters import rosters_router

    redact.install()
    app = FastAPI(title="kikan-hub platform interfaces", version="1.0.0",
                  description="住民記録の照会・異動連携 (REST/JSON, OAuth2 client credentials, scopes 業務ID:resource:operation)."
                              " SOAP 1.1 (地域情報プラットフォーム形式) は /platform/soap (WSDL: /platform/soap?wsdl)。",
                  openapi_url="/openapi.json" if docs else None, docs_url="/docs" if docs else None,
                  redoc_url=None)
    app.state.hub = hub

    @app.get(SOAP_PATH, include_in_schema=False)
    async def wsdl(request: Request):
        if "wsdl" not in {k.lower() for k in request.query_params.keys()}:
            return Response("GET ?wsdl で WSDL を返します", 400, media_type="text/plain; charset=utf-8")
        return Response(hub.soap.wsdl(hub.base_url(request) + SOAP_PATH), media_type=XML)

    @app.get("/platform/xsd/{name}", include_in_schema=False)
    async def xsd(name: str):
        if name == TABLE_TYPES:   # generated at start from the loaded definitions
            return Response(hub.soap.table_types_xsd.encode("utf-8"), media_type=XML)
        path = XSD_FILES.get(name)
        if path is None:
            return Response("not found", 404, media_type="text/plain")
        return Response(path.read_bytes(), media_type=XML)

    @app.post(SOAP_PATH, include_in_schema=False)
    async def soap(request: Request):
        body = await request.body()  # already counted and bounded by BodyLimit
        peer = request.client.host if request.client else None
        status, resp, headers = await run_in_threadpool(hub.soap.handle_http, body, peer)
        return Response(resp, status, media_type=XML, headers=headers)

    # The REST routers after the /platform routes: routes are matched in order, and the generated
    # routes of every table cost ~0.5-1 ms of matching per request that has to pass them (issue 15 latency).
    app.include_router(router)
    app.include_router(build_tables_router())   # every ISL table, from the definitions loaded now
    app.include_router(_modules_router(hub), prefix="/api/v1")
    app.include_router(rosters_router(hub), prefix="/api/v1")

    def limit_for(path: str) -> int:
        return hub.soap.max_body if path == SOAP_PATH else hub.rest_max_body

    def too_large(path: str, limit: int) -> tuple[int, bytes, str]:
        msg = f"要求が大きすぎます (上限 {limit} バイト)"
        if path == SOAP_PATH:
            log.info("soap op=- client=- outcome=fault:CLIENT-TOO-LARGE")
            return 500, fault_envelope(SoapFault("soap:Client", "CLIENT-TOO-LARGE", msg)), XML
        return 413, problem(413, msg), "application/json"

    # Last added runs first: the body limit before anything reads the body, no-store on every answer.
    app.add_middleware(CatchAll)
    app.add_middleware(BodyLimit, limit_for=limit_for, too_large=too_large)
    app.add_middleware(NoStore)
    return app


def app_from_url(store_url: str, docs: bool = False, **kw):
    from kikan_hub.store.engine import open_engine
    engine = open_engine(store_url)
    prepare_store(engine)
    return create_app(build_hub(engine, **kw), docs=docs)
