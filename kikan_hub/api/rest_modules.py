"""REST routes of the business modules, as a FastAPI APIRouter to mount under /api/v1.

    from kikan_hub.api.rest_modules import build_router
    app.include_router(build_router(authorize=scope_dependency, audit=audit_hook, engine=engine_dep),
                       prefix="/api/v1")

Every route names the scope it needs (``ROUTE_SCOPES``, ``業務:resource:operation``): reads and
writes are separate grants, and an EUC definition may only name a table its caller can read
(``scopes.table_scope``). ``authorize(scope)`` is the server's dependency for one scope; it returns
the caller (a dict or object with ``sub`` / ``client_id`` / ``name``, ``role`` or ``roles`` for EUC
masking, and ``scopes`` or a ``can(scope)`` method). A caller that carries no scope information
(``principal=`` embeddings without OAuth2, as in the modules' own tests) is trusted with everything.

個人番号 (items marked ``personal: kojin_bango``) is removed from every answer unless the caller holds
``<業務>:kojin_bango:read``. ``audit(caller, operation, outcome, atena_nos, subject_count, detail)``
is called after the outcome is known, with every 宛名番号 the answer disclosed (or the row count of
a bulk extraction); path parameters that were never found are not recorded as subjects.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

from fastapi import APIRouter, Body, Depends, HTTPException, Path as PathParam, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse

from kikan_hub.api.auth import scopes as sc

DEFAULT_ROLE = "閲覧"
MYNUMBER_ROLE = "個人番号事務"
ATENA_NO = Annotated[str, PathParam(pattern=r"^[0-9]{10}$", description="宛名番号 (10 桁)")]
SETAI_NO = Annotated[str, PathParam(pattern=r"^[0-9]{10}$", description="世帯番号 (10 桁)")]
_ATENA_RE = re.compile(r"^[0-9]{10}$")
_OUTCOME = {403: "denied", 404: "not_found", 410: "not_found", 401: "denied"}

# operation → (scope, 業務 whose 個人番号 grant lets kojin_bango through)
ROUTE_SCOPES: dict[str, tuple[str, str]] = {
    "juki.persons.get": ("juki:jumin:read", "juki"),
    "juki.households.get": ("juki:setai:read", "juki"),
    "juki.removed.get": ("juki:jumin:read", "juki"),
    "juki.stats.get": ("juki:stats:read", "juki"),
    "atena.identities.get": ("atena:identity:read", "juki"),
    "atena.candidates.get": ("atena:identity:read", "juki"),
    "atena.review.get": ("atena:identity:read", "juki"),
    "atena.decisions.get": ("atena:identity:read", "juki"),
    "atena.merge": ("atena:identity:write", "juki"),
    "atena.split": ("atena:identity:write", "juki"),
    "atena.distinct": ("atena:identity:write", "juki"),
    "atena.undo": ("atena:identity:write", "juki"),
    "euc.definitions.list": ("euc:definition:read", "juki"),
    "euc.definitions.get": ("euc:definition:read", "juki"),
    "euc.definitions.put": ("euc:definition:write", "juki"),
    "euc.run": ("euc:run:write", "juki"),
    "euc.runs.list": ("euc:run:read", "juki"),
    "euc.runs.get": ("euc:run:read", "juki"),
    "euc.runs.file": ("euc:run:read", "juki"),
    "euc.runs.folds": ("euc:run:read", "juki"),
}


def _get(p: Any, *names: str):
    for n in names:
        v = p.get(n) if isinstance(p, dict) else getattr(p, n, None)
        if v:
            return v
    return None


def principal_name(p: Any) -> str:
    if isinstance(p, str) and p:
        return p
    name = _get(p, "sub", "client_id", "name", "user")
    if not name:
        raise HTTPException(401, "呼出し元が分かりません (no principal)")
    return str(name)


def principal_can(p: Any, scope: str) -> bool:
    """True when the caller holds ``scope``; a caller without scope information is a trusted embedding."""
    can = getattr(p, "can", None)
    if callable(can):
        return bool(can(scope))
    granted = p.get("scopes") if isinstance(p, dict) else getattr(p, "scopes", None)
    if granted is None:
        return True
    return sc.allows(frozenset(granted), scope)


def principal_role(p: Any, requested: str | None) -> str:
    roles = _get(p, "roles") if not isinstance(p, str) else None
    role = _get(p, "role") if not isinstance(p, str) else None
    allowed = list(roles or ([] if role is None else [role]))
    if not allowed:
        if requested and requested != DEFAULT_ROLE:
            raise HTTPException(403, f"役割 {requested} は許可されていません")
        return DEFAULT_ROLE
    if requested:
        if requested not in allowed:
            raise HTTPException(403, f"役割 {requested} は許可されていません ({', '.join(allowed)})")
        return requested
    return allowed[0]


def disclosed_atena_nos(*values: Any) -> list[str]:
    """Every well-formed 宛名番号 in an answer or request body (keys atena_no, *_atena_no, atena_a/b, atena_nos)."""
    found: set[str] = set()

    def walk(v: Any, key: str = "") -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, str(k))
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and (key.endswith("atena_no") or key in ("atena_nos", "atena_a", "atena_b",
                                                                           "identity_id")):
            if _ATENA_RE.match(v):
                found.add(v)
    for v in values:
        walk(v)
    return sorted(found)


def strip_mynumber(value: Any, keep: bool) -> Any:
    """Null every item marked ``personal: kojin_bango`` (at any depth) unless ``keep`` (as the REST routes do)."""
    if keep:
        return value
    cols = sc.mynumber_columns()
    if isinstance(value, dict):
        return {k: (None if k in cols else strip_mynumber(v, keep)) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_mynumber(v, keep) for v in value]
    return value


def _default_engine_dependency() -> Callable:
    cache: dict = {}

    def dep():
        if "e" not in cache:
            from kikan_hub.store.engine import open_engine
            from kikan_hub.store.migrate import upgrade
            e = open_engine()
            upgrade(e)
            cache["e"] = e
        return cache["e"]
    return dep


def build_router(principal: Callable | None = None, engine: Callable | None = None,
                 output_dir: Path | str = Path("var") / "euc", *, authorize: Callable[[str], Callable] | None = None,
                 audit: Callable | None = None) -> APIRouter:
    """Routes under /juki, /atena and /euc. ``principal`` / ``authorize(scope)`` and ``engine`` are FastAPI dependencies."""
    from kikan_hub.modules import atena, euc, juki

    if principal is None and authorize is None:
        raise ValueError("build_router needs principal= or authorize=")
    engine_dep = engine or _default_engine_dependency()
    out_dir = Path(output_dir)
    r = APIRouter(tags=["modules"])
    user_errors = (atena.AtenaError, euc.EucError, euc.MaskingError, juki.JukiQueryError)

    def who(op: str):
        return Depends(authorize(ROUTE_SCOPES[op][0]) if authorize else principal)

    def record(p, op, outcome, atena_nos=(), count=None, detail=None):
        if audit is not None:
            audit(p, op, outcome, list(atena_nos), count, detail)

    def serve(op: str, p, fn: Callable, body: Any = None, personal: bool = True, count: Callable | None = None):
        """Run ``fn``, then audit the real outcome and every 宛名番号 the answer (or the write) touched."""
        try:
            result = fn()
        except HTTPException as exc:
            record(p, op, _OUTCOME.get(exc.status_code, "invalid"), disclosed_atena_nos(body))
            raise
        except user_errors as exc:
            record(p, op, "invalid", disclosed_atena_nos(body))
            raise HTTPException(422, str(exc)) from None
        except Exception:
            record(p, op, "error", disclosed_atena_nos(body))
            raise
        if isinstance(result, FileResponse):
            record(p, op, "ok", (), count() if count else None)
            return result
        result = jsonable_encoder(result)
        if personal:
            result = strip_mynumber(result, principal_can(p, sc.kojin_bango_scope(ROUTE_SCOPES[op][1])))
        subjects = disclosed_atena_nos(result, body)
        record(p, op, "ok", subjects, count(result) if count else None)
        return result

    def withheld_shien(p, e, op: str, atena_nos) -> set[str]:
        """支援対象者 (j160, j440) among `atena_nos` the caller may not see; audited either way."""
        from kikan_hub.modules import shien

        hit = shien.restricted(e, atena_nos)
        if not hit:
            return set()
        allowed = principal_can(p, shien.SCOPE)
        record(p, op, "shien_disclosed" if allowed else "shien_withheld", sorted(hit), len(hit),
               f"支援措置対象者 {len(hit)} 人 (スコープ {shien.SCOPE})")
        return set() if allowed else hit

    def need_table(p, table: str, kojin: bool = False) -> None:
        """An EUC definition may only name a table its caller can read (and 個人番号 only with that grant)."""
        needed = [sc.table_scope(table)] + ([sc.kojin_bango_scope(euc_table(table).gyomu_id)] if kojin else [])
        missing = [s for s in needed if not principal_can(p, s)]
        if missing:
            raise HTTPException(403, f"この抽出には スコープ {' '.join(missing)} が必要です")

    def euc_table(table: str):
        from kikan_hub.layouts.isl import all_tables
        return all_tables()[table]

    # ---------------------------------------------------------------- 住民記録
    @r.get("/juki/persons/{atena_no}", summary="個人 (時点指定)")
    def get_person(atena_no: ATENA_NO, as_of: Optional[str] = None, history: bool = False,
                   e=Depends(engine_dep), p=who("juki.persons.get")):
        def run():
            principal_name(p)
            v = juki.person(e, atena_no, as_of, history)
            # a withheld 支援対象者 looks like no record at all: a 403 would tell that one lives here
            if v.row is None or withheld_shien(p, e, "juki.persons.get", [atena_no]):
                raise HTTPException(404, f"{atena_no}: {as_of or '最新'} 時点の記録はありません")
            return v.as_dict()
        return serve("juki.persons.get", p, run)

    @r.get("/juki/households/{setai_no}", summary="世帯 (時点指定)")
    def get_household(setai_no: SETAI_NO, as_of: Optional[str] = None, e=Depends(engine_dep),
                      p=who("juki.households.get")):
        def run():
            principal_name(p)
            members = juki.household(e, setai_no, as_of)
            if withheld_shien(p, e, "juki.households.get", [m["atena_no"] for m in members]):
                members = []      # the household's address is the 支援対象者's
            return {"setai_no": setai_no, "as_of": as_of, "members": members}
        return serve("juki.households.get", p, run)

    @r.get("/juki/removed", summary="除票")
    def get_removed(as_of: Optional[str] = None, jiyu: Optional[list[str]] = Query(None),
                    date_from: Optional[str] = Query(None, alias="from"), date_to: Optional[str] = Query(None, alias="to"),
                    e=Depends(engine_dep), p=who("juki.removed.get")):
        def run():
            principal_name(p)
            rows = juki.removed(e, as_of, jiyu, date_from, date_to)
            hidden = withheld_shien(p, e, "juki.removed.get", [x["atena_no"] for x in rows])
            rows = [x for x in rows if x["atena_no"] not in hidden]
            return {"count": len(rows), "removed": rows}
        return serve("juki.removed.get", p, run)

    @r.get("/juki/stats", summary="異動統計 (月別・町字別)")
    def get_stats(date_from: Optional[str] = Query(None, alias="from"), date_to: Optional[str] = Query(None, alias="to"),
                  machiaza: Optional[str] = None, e=Depends(engine_dep), p=who("juki.stats.get")):
        def run():
            principal_name(p)
            return juki.movement_stats(e, date_from, date_to, machiaza).as_dict()
        return serve("juki.stats.get", p, run, personal=False)

    # ---------------------------------------------------------------- 団体内統合宛名
    @r.get("/atena/identities/{atena_no}", summary="統合宛名")
    def get_identity(atena_no: ATENA_NO, e=Depends(engine_dep), p=who("atena.identities.get")):
        def run():
            principal_name(p)
            if withheld_shien(p, e, "atena.identities.get", [atena_no]):
                raise HTTPException(404, f"宛名番号 {atena_no} の記録はありません")
            ident = atena.identity(e, atena_no)
            if not any(m.get("record") for m in ident["members"]):
                raise HTTPException(404, f"宛名番号 {atena_no} の記録はありません")
            return ident
        return serve("atena.identities.get", p, run)

    @r.get("/atena/candidates", summary="重複候補")
    def get_candidates(threshold: float = atena.DEFAULT_THRESHOLD, limit: int = Query(200, ge=1, le=10000),
                       e=Depends(engine_dep), p=who("atena.candidates.get")):
        def run():
            principal_name(p)
            cands = atena.find_candidates(e, threshold)
            hidden = withheld_shien(p, e, "atena.candidates.get", [x for c in cands for x in (c.a, c.b)])
            cands = [c for c in cands if c.a not in hidden and c.b not in hidden]
            return {"count": len(cands), "candidates": [c.as_dict() for c in cands[:limit]]}
        return serve("atena.candidates.get", p, run)

    @r.get("/atena/review", summary="確認リスト")
    def get_review(threshold: float = atena.DEFAULT_THRESHOLD, limit: int = Query(200, ge=1, le=10000),
                   e=Depends(engine_dep), p=who("atena.review.get")):
        return serve("atena.review.get", p, lambda: (principal_name(p), atena.review(e, threshold, limit))[1])

    @r.post("/atena/merge", status_code=201, summary="名寄せ")
    def post_merge(body: dict = Body(..., examples=[{"atena_nos": ["0000001112", "0000002224"], "reason": "同一人"}]),
                   e=Depends(engine_dep), p=who("atena.merge")):
        def run():
            return {"decision_id": atena.merge(e, [str(a) for a in (body.get("atena_nos") or [])], principal_name(p),
                                               str(body.get("reason", "")))}
        return serve("atena.merge", p, run, body=body)

    @r.post("/atena/split", status_code=201, summary="分離")
    def post_split(body: dict = Body(..., examples=[{"atena_no": "0000003336", "reason": "別人"}]),
                   e=Depends(engine_dep), p=who("atena.split")):
        def run():
            return {"decision_id": atena.split(e, str(body.get("atena_no") or ""), principal_name(p),
                                               str(body.get("reason", "")))}
        return serve("atena.split", p, run, body=body)

    @r.post("/atena/distinct", status_code=201, summary="別人と記録")
    def post_distinct(body: dict = Body(...), e=Depends(engine_dep), p=who("atena.distinct")):
        def run():
            return {"decision_id": atena.mark_distinct(e, str(body.get("atena_a")), str(body.get("atena_b")),
                                                       principal_name(p), str(body.get("reason", "")))}
        return serve("atena.distinct", p, run, body=body)

    @r.post("/atena/decisions/{decision_id}/undo", status_code=201, summary="判断の取消し")
    def post_undo(decision_id: int, body: dict = Body(default={}), e=Depends(engine_dep), p=who("atena.undo")):
        def run():
            did = atena.undo(e, decision_id, principal_name(p), str((body or {}).get("reason", "")))
            undone = next((d for d in atena.decisions(e) if d.get("decision_id") == decision_id), {})
            return {"decision_id": did, "undoes": decision_id, "atena_nos": undone.get("atena_nos") or []}
        return serve("atena.undo", p, run, body=body)

    @r.get("/atena/decisions", summary="判断の記録")
    def get_decisions(limit: int = Query(100, ge=1, le=10000), e=Depends(engine_dep), p=who("atena.decisions.get")):
        return serve("atena.decisions.get", p, lambda: (principal_name(p), atena.decisions(e, limit))[1])

    # ---------------------------------------------------------------- EUC
    @r.get("/euc/definitions", summary="抽出定義の一覧")
    def get_definitions(e=Depends(engine_dep), p=who("euc.definitions.list")):
        return serve("euc.definitions.list", p, lambda: (principal_name(p), euc.list_definitions(e))[1],
                     personal=False)

    @r.get("/euc/definitions/{name}", summary="抽出定義")
    def get_definition(name: str, e=Depends(engine_dep), p=who("euc.definitions.get")):
        def run():
            principal_name(p)
            try:
                d, ver = euc.get_definition(e, name)
            except euc.EucError as exc:
                raise HTTPException(404, str(exc)) from None
            return {"version": ver, "definition": d.to_dict()}
        return serve("euc.definitions.get", p, run, personal=False)

    @r.put("/euc/definitions/{name}", summary="抽出定義の保存")
    def put_definition(name: str, body: dict = Body(...), e=Depends(engine_dep), p=who("euc.definitions.put")):
        def run():
            d = euc.parse_definition(body, name)
            need_table(p, d.table)
            d.name = name
            return {"name": name, "version": euc.save_definition(e, d, principal_name(p))}
        return serve("euc.definitions.put", p, run, personal=False)

    @r.post("/euc/definitions/{name}/run", status_code=201, summary="抽出の実行 (監査記録を返す)")
    def post_run(name: str, format: str = "csv", encoding: Optional[str] = None, fold_policy: Optional[str] = None,
                 role: Optional[str] = None, e=Depends(engine_dep), p=who("euc.run")):
        def run():
            user = principal_name(p)
            use_role = principal_role(p, role)
            if format not in ("csv", "xlsx", "parquet"):
                raise HTTPException(422, "format は csv, xlsx, parquet")
            try:
                d, _ = euc.get_definition(e, name)
            except euc.EucError as exc:
                raise HTTPException(404, str(exc)) from None
            need_table(p, d.table, kojin=use_role == MYNUMBER_ROLE)
            stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
            safe = "".join(ch if ch.isalnum() else "_" for ch in name)[:60]
            out = out_dir / f"{safe}_{stamp}.{format}"
            from kikan_hub.modules import shien
            res = euc.run_extraction(e, name, out, user, use_role, format, encoding, fold_policy,
                                     scopes={shien.SCOPE} if principal_can(p, shien.SCOPE) else set())
            body = {k: v for k, v in res.as_dict().items() if k not in ("output_path", "folds_path")}
            return {**body, "download": f"euc/runs/{res.audit_id}/file"}
        return serve("euc.run", p, run, personal=False, count=lambda res: res["row_count"])

    @r.get("/euc/runs", summary="抽出の監査記録")
    def get_runs(limit: int = Query(100, ge=1, le=10000), name: Optional[str] = None, e=Depends(engine_dep),
                 p=who("euc.runs.list")):
        def run():
            principal_name(p)
            return [_public_run(a) for a in euc.audit_log(e, limit, name)]
        return serve("euc.runs.list", p, run, personal=False)

    def _run_for(audit_id: int, e, p):
        a = euc.get_audit(e, audit_id)
        if a is None or a["status"] != "ok":
            raise HTTPException(404, f"抽出 {audit_id} はありません")
        if a["who"] != principal_name(p):
            raise HTTPException(403, "他の利用者の抽出結果は取得できません")
        return a

    @r.get("/euc/runs/{audit_id}", summary="抽出の監査記録 (1件)")
    def get_run(audit_id: int, e=Depends(engine_dep), p=who("euc.runs.get")):
        return serve("euc.runs.get", p, lambda: _public_run(_run_for(audit_id, e, p)), personal=False)

    @r.get("/euc/runs/{audit_id}/file", summary="抽出結果のファイル")
    def get_run_file(audit_id: int, e=Depends(engine_dep), p=who("euc.runs.file")):
        found: dict = {}

        def run():
            a = found["a"] = _run_for(audit_id, e, p)
            path = Path(a["output_path"])
            if not path.exists():
                raise HTTPException(410, "抽出結果のファイルはもうありません")
            return FileResponse(path, filename=path.name)
        return serve("euc.runs.file", p, run, count=lambda: found["a"].get("row_count"))

    @r.get("/euc/runs/{audit_id}/folds", summary="縮退の記録 (CSV)")
    def get_run_folds(audit_id: int, e=Depends(engine_dep), p=who("euc.runs.folds")):
        def run():
            a = _run_for(audit_id, e, p)
            if not a["folds_path"]:
                raise HTTPException(404, "この抽出に縮退はありません")
            return FileResponse(a["folds_path"], media_type="text/csv; charset=utf-8")
        return serve("euc.runs.folds", p, run)

    return r


def _public_run(a: dict) -> dict:
    """An EUC audit record without the server's file-system paths."""
    return {k: v for k, v in a.items() if k not in ("output_path", "folds_path")}
