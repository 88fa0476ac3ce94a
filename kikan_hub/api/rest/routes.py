"""REST/JSON under /api/v1: token endpoint, 住民・世帯・異動, CSV file linkage, other 業務 by scope."""
from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from pathlib import Path
from typing import Annotated, Callable, Optional

from fastapi import APIRouter, Depends, Form, HTTPException, Path as PathParam, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kikan_hub.api.auth.clients import Client
from kikan_hub.api.auth.oauth import JWT_BEARER, OAuthError, TokenService, scope_allows
from kikan_hub.api.auth.scopes import mynumber_columns
from kikan_hub.api.auth.throttle import Throttled
from kikan_hub.api.shien_guard import SCOPE as SHIEN_SCOPE, withhold
from kikan_hub.api.rest import models as m

log = logging.getLogger("kikan_hub.api.rest")
router = APIRouter(prefix="/api/v1")
bearer = HTTPBearer(auto_error=False, description="OAuth2 client credentials で得たアクセストークン")

ATENA = Annotated[str, PathParam(pattern=r"^[0-9]{10}$", description="宛名番号 (10 桁)")]
SETAI = Annotated[str, PathParam(pattern=r"^[0-9]{10}$", description="世帯番号 (10 桁)")]

ERRORS = {401: {"model": m.Problem, "description": "トークンが無い・無効"},
          403: {"model": m.Problem, "description": "スコープが足りない"}}


def hub(request: Request):
    return request.app.state.hub


class Caller:
    def __init__(self, client: Client, scopes: frozenset[str]):
        self.client, self.scopes = client, scopes
        self.sub = client.client_id
        self.roles: list[str] = []

    def can(self, scope: str) -> bool:
        return scope_allows(self.scopes, scope)


def peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def operation_of(request: Request) -> str:
    """The route template (never the raw path: it may hold whatever an attacker typed)."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '?')}"[:64]


def _throttled(e: Throttled, problem: bool = True):
    headers = {"Retry-After": str(e.retry_after)}
    if problem:
        return HTTPException(429, e.what, headers=headers)
    return JSONResponse({"error": "slow_down", "error_description": e.what}, 429,
                        headers={**headers, "Cache-Control": "no-store"})


def auth_failed(request: Request, client_id: str | None, operation: str, reason: str) -> None:
    """A failed authentication: counted by the throttle and audited (claimed id only when well-formed)."""
    h = hub(request)
    h.throttle.auth_failed(client_id, peer(request))
    h.audit.record(client_id=client_id, interface="rest", operation=operation, outcome="auth_failed",
                   detail=f"{reason}; from {peer(request) or '-'}")


def require(scope: str):
    def dep(request: Request, cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> Caller:
        h = hub(request)
        if cred is None or cred.scheme.lower() != "bearer":
            raise HTTPException(401, "アクセストークンが必要です", headers={"WWW-Authenticate": "Bearer"})
        try:
            h.throttle.check_auth(None, peer(request))
            client, scopes = h.tokens.verify_access_token(cred.credentials)
        except Throttled as e:
            raise _throttled(e) from None
        except OAuthError as e:
            auth_failed(request, None, operation_of(request), e.error)
            raise HTTPException(401, e.description,
                                headers={"WWW-Authenticate": f'Bearer error="{e.error}"'}) from None
        if not scope_allows(scopes, scope):
            h.audit.record(client_id=client.client_id, interface="rest", operation=operation_of(request),
                           outcome="denied", detail=f"needs {scope}")
            raise HTTPException(403, f"スコープ {scope} が必要です",
                                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
        return Caller(client, scopes)
    dep.__name__ = f"require_{re.sub(r'[^a-z]', '_', scope)}"
    return dep


def _guard(request: Request, caller: Caller, operation: str, rows: list, **kw) -> tuple[list, set[str]]:
    """支援対象者 withheld unless the caller holds juki:shien_sochi:read (j160, j440); audited."""
    h = hub(request)
    return withhold(h.queries.engine, h.audit, client_id=caller.client.client_id, allowed=caller.can(SHIEN_SCOPE),
                    interface="rest", operation=operation, rows=rows, **kw)


def _strip(rows: list[dict], caller: Caller) -> list[dict]:
    if caller.can("juki:kojin_bango:read"):
        return rows
    hidden = mynumber_columns("juki_jumin")     # items marked personal: kojin_bango
    return [{**r, **{c: None for c in hidden if c in r}} for r in rows]


# --- token endpoint ---------------------------------------------------------------------
@router.post("/token", response_model=m.Token, tags=["auth"],
             responses={400: {"model": m.OAuthErrorBody}, 401: {"model": m.OAuthErrorBody}})
def token(request: Request,
          grant_type: Annotated[str, Form(description="client_credentials")],
          scope: Annotated[Optional[str], Form(max_length=2000)] = None,
          client_assertion_type: Annotated[Optional[str], Form()] = None,
          client_assertion: Annotated[Optional[str], Form(max_length=8000)] = None,
          client_id: Annotated[Optional[str], Form(max_length=64)] = None):
    """OAuth2 client credentials。client_secret_basic (Authorization: Basic) か client_secret_jwt (HS256)。"""
    h = hub(request)
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    auth = request.headers.get("authorization", "")
    claimed = TokenService.claimed_client(auth, client_assertion)
    try:
        h.throttle.check_auth(claimed, peer(request))
    except Throttled as e:
        return _throttled(e, problem=False)
    try:
        if grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type は client_credentials のみです")
        if auth.lower().startswith("basic "):
            client = h.tokens.authenticate_basic(auth)
        elif client_assertion_type == JWT_BEARER and client_assertion:
            # The audience is our own token URL (configured public URL or our socket), never the Host header.
            client = h.tokens.authenticate_jwt(client_assertion, h.base_url(request) + "/api/v1/token")
            if client_id and client_id != client.client_id:
                raise OAuthError(401, "invalid_client", "client_id と client_assertion が一致しません")
        else:
            raise OAuthError(401, "invalid_client", "client_secret_basic か client_secret_jwt で認証してください")
        body = h.tokens.issue(client, scope)
    except OAuthError as e:
        if e.status == 401:
            auth_failed(request, claimed, "token", e.error)
            if auth.lower().startswith("basic "):
                headers["WWW-Authenticate"] = 'Basic realm="kikan-hub"'
        return JSONResponse({"error": e.error, "error_description": e.description}, e.status, headers=headers)
    log.info("token issued client=%s scope=%s", client.client_id, body["scope"])
    return JSONResponse(body, headers=headers)


# --- 住民記録 ----------------------------------------------------------------------------
@router.get("/juki/residents/{atena_no}", response_model=m.ResidentList, tags=["juki"], responses=ERRORS)
def resident(request: Request, atena_no: ATENA, history: bool = Query(False, description="全履歴を返す"),
             caller: Caller = Depends(require("juki:jumin:read"))):
    """住民情報照会 (宛名番号)。既定は現在の行 (最大の履歴番号)、history=true で全履歴。"""
    h = hub(request)
    lookup_allowed(h, caller)
    rows, _ = _guard(request, caller, "residents.get", h.queries.resident_by_atena(atena_no, include_history=history))
    rows = _strip(rows, caller)
    h.audit.record(client_id=caller.client.client_id, interface="rest", operation="residents.get",
                   outcome="ok" if rows else "not_found", atena_nos=[r["atena_no"] for r in rows])
    if not rows:
        h.throttle.not_found(caller.client.client_id)
    return {"count": len(rows), "items": rows}


def lookup_allowed(h, caller: Caller) -> None:
    """429 once a client has looked up too many 宛名番号 that do not exist (walking the number space)."""
    try:
        h.throttle.check_lookup(caller.client.client_id)
    except Throttled as e:
        raise _throttled(e) from None


@router.post("/juki/residents/search", response_model=m.ResidentList, tags=["juki"],
             responses={**ERRORS, 422: {"description": "条件が足りない"}})
def resident_search(request: Request, q: m.ResidentSearch, caller: Caller = Depends(require("juki:jumin:read"))):
    """住民情報照会 (個人番号、またはカナ氏名＋生年月日)。個人番号での照会には juki:kojin_bango:read が要る。"""
    h = hub(request)
    if q.kojin_bango:
        if not caller.can("juki:kojin_bango:read"):
            raise HTTPException(403, "個人番号での照会にはスコープ juki:kojin_bango:read が必要です")
        rows, how = h.queries.residents_by_kojin_bango(q.kojin_bango), "kojin_bango"
    elif q.shimei_kana and q.birth_date:
        rows, how = h.queries.residents_by_kana_birth(q.shimei_kana, q.birth_date), "kana+birth"
    else:
        raise HTTPException(422, "kojin_bango か shimei_kana＋birth_date を指定してください")
    rows, _ = _guard(request, caller, "residents.search", rows)
    rows = _strip(rows, caller)
    h.audit.record(client_id=caller.client.client_id, interface="rest", operation="residents.search",
                   outcome="ok" if rows else "not_found", atena_nos=[r["atena_no"] for r in rows], detail=f"by {how}")
    return {"count": len(rows), "items": rows}


@router.get("/juki/households/{setai_no}", response_model=m.Household, tags=["juki"], responses=ERRORS)
def household(request: Request, setai_no: SETAI,
              as_of: Optional[dt.date] = Query(None, description="基準日 (省略時は当日)"),
              caller: Caller = Depends(require("juki:setai:read"))):
    """世帯構成照会: 基準日現在の世帯と世帯員。"""
    h = hub(request)
    day = as_of or dt.date.today()
    setai, members = h.queries.household_as_of(setai_no, day)
    _, hidden = _guard(request, caller, "households.get", members)
    if hidden:   # the household's address is the 支援対象者's: the whole household is withheld
        setai, members = None, []
    members = _strip(members, caller)
    h.audit.record(client_id=caller.client.client_id, interface="rest", operation="households.get",
                   outcome="ok" if (members or setai) else "not_found", atena_nos=[x["atena_no"] for x in members])
    return {"setai_no": setai_no, "as_of": day, "setai": setai, "count": len(members), "members": members}


@router.get("/juki/changes", response_model=m.ChangePage, tags=["juki"], responses=ERRORS)
def changes(request: Request,
            since_serial: int = Query(0, ge=0, le=2 ** 62, description="この異動連番より後"),
            since_date: Optional[dt.date] = Query(None, description="処理日がこの日以降"),
            limit: int = Query(100, ge=1, le=1000),
            caller: Caller = Depends(require("juki:idou:read"))):
    """異動情報取得 (差分): 異動連番順。next_serial を次の since_serial に渡してページを進める。"""
    h = hub(request)
    rows, nxt, more = h.queries.changes(since_serial, since_date, limit)
    rows, _ = _guard(request, caller, "changes.get", rows, atena_of=lambda sr: sr[1]["atena_no"])
    items = [{"serial": s, "resident": r} for s, r in zip([s for s, _ in rows], _strip([r for _, r in rows], caller))]
    h.audit.record(client_id=caller.client.client_id, interface="rest", operation="changes.get", outcome="ok",
                   atena_nos=[r["atena_no"] for _, r in rows])
    return {"count": len(items), "items": items, "next_serial": nxt, "has_more": more}


# --- CSV file linkage ---------------------------------------------------------------------
def write_changes_csv(queries, root: Path, subdir: str, since_serial: int, since_date: dt.date | None,
                      with_mynumber: bool, keep: Callable[[list], list] | None = None) -> tuple[Path, int, int, list[str]]:
    """Write every change after `since_serial` to ROOT/SUBDIR/juki_jumin_changes_<from>-<to>.csv (UTF-8, header).

    The file is written under a temporary name and renamed, so a reader never sees half a file.
    """
    from kikan_hub.api.rest.queries import value_columns
    cols = [c for c in value_columns("juki_jumin") if with_mynumber or c not in mynumber_columns("juki_jumin")]
    target = (root / subdir).resolve()
    if root.resolve() not in target.parents and target != root.resolve():
        raise ValueError("dir must stay under the linkage root")
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".partial-{since_serial}.csv"
    n, after, atena = 0, since_serial, []
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(["serial", *cols])
        while True:
            rows, nxt, more = queries.changes(after, since_date, 1000)
            if keep is not None:     # 支援対象者 withheld (j160) — the serials still advance
                rows = keep(rows)
            for s, r in rows:
                w.writerow([s, *("" if r[c] is None else (r[c].isoformat() if hasattr(r[c], "isoformat") else r[c])
                                 for c in cols)])
                atena.append(r["atena_no"])
            n += len(rows)
            after = nxt
            if not more:
                break
    final = target / f"juki_jumin_changes_{since_serial + 1:012d}-{after:012d}.csv"
    tmp.replace(final)
    return final, n, after, atena


@router.post("/linkage/csv", response_model=m.LinkageResult, tags=["linkage"], responses=ERRORS)
async def linkage_csv(request: Request, body: m.LinkageRequest, caller: Caller = Depends(require("juki:linkage:write"))):
    """ファイル連携: 指定した異動連番より後の異動を CSV に書き出す (連携ルートの下のディレクトリへ)。"""
    h = hub(request)
    if body.dir in (".", "..") or ".." in body.dir:
        raise HTTPException(422, "dir に .. は使えません")
    path, n, nxt, atena = await run_in_threadpool(
        write_changes_csv, h.queries, h.linkage_dir, body.dir, body.since_serial, body.since_date,
        caller.can("juki:kojin_bango:read"),
        lambda rows: _guard(request, caller, "linkage.csv", rows, atena_of=lambda sr: sr[1]["atena_no"])[0])
    await run_in_threadpool(h.audit.record, client_id=caller.client.client_id, interface="rest",
                            operation="linkage.csv", outcome="ok", atena_nos=atena, detail=path.name)
    # The file's place under the linkage root (never the server's absolute path).
    return {"file": f"{body.dir}/{path.name}", "count": n, "from_serial": body.since_serial, "next_serial": nxt}


# --- other 業務, by scope -------------------------------------------------------------------
@router.get("/kojin_juminzei/nozeigimusha/{atena_no}", response_model=m.NozeigimushaList, tags=["kojin_juminzei"],
            responses=ERRORS)
def nozeigimusha(request: Request, atena_no: ATENA,
                 caller: Caller = Depends(require("kojin_juminzei:nozeigimusha:read"))):
    """個人住民税 納税義務者 (宛名番号、全課税年度)。"""
    h = hub(request)
    lookup_allowed(h, caller)
    rows = h.queries.rows_by_atena("zei_kojin_nozeigimusha", atena_no) or []
    rows, _ = _guard(request, caller, "kojin_juminzei.nozeigimusha", rows)
    h.audit.record(client_id=caller.client.client_id, interface="rest", operation="kojin_juminzei.nozeigimusha",
                   outcome="ok" if rows else "not_found", atena_nos=[atena_no] if rows else [])
    if not rows:
        h.throttle.not_found(caller.client.client_id)
    return {"count": len(rows), "items": rows}


@router.get("/kokuho/hihokensha/{atena_no}", tags=["kokuho"],
            responses={**ERRORS, 404: {"model": m.Problem, "description": "国保のデータはまだありません"}})
def kokuho_hihokensha(request: Request, atena_no: ATENA, caller: Caller = Depends(require("kokuho:hihokensha:read"))):
    """国民健康保険 被保険者 (国保の ISL 定義はまだ無いので、権限のある呼出しにも 404 を返す)。"""
    hub(request).audit.record(client_id=caller.client.client_id, interface="rest", operation="kokuho.hihokensha",
                              outcome="not_found")
    raise HTTPException(404, "国民健康保険のデータはこのハブにまだありません")
