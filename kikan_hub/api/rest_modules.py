"""REST routes of the business modules, as a FastAPI APIRouter to mount under /api/v1.

    from kikan_hub.api.rest_modules import build_router
    app.include_router(build_router(principal=server_auth_dependency, engine=engine_dependency), prefix="/api/v1")

No authentication here: ``principal`` is the server's dependency; it returns the caller as a
string, a dict or an object with ``sub`` / ``client_id`` / ``name`` (who) and ``role`` or ``roles``
(the masking role of EUC). A caller with several roles picks one with ``?role=``; a caller whose
principal names no role gets the most restrictive role (閲覧).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable, Optional

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import FileResponse

DEFAULT_ROLE = "閲覧"


def _get(p: Any, *names: str):
    for n in names:
        v = p.get(n) if isinstance(p, dict) else getattr(p, n, None)
        if v:
            return v
    return None


def withheld_shien(p: Any, e, operation: str, atena_nos) -> set[str]:
    """支援対象者 (j160, j440) among `atena_nos` the caller may not see. The principal says whether it
    holds juki:shien_sochi:read (``shien``) and how to audit (``audit_shien(operation, atena_nos, allowed)``);
    without either, nothing of theirs is returned."""
    from kikan_hub.modules import shien

    hit = shien.restricted(e, atena_nos)
    if not hit:
        return set()
    allowed = bool(_get(p, "shien"))
    hook = _get(p, "audit_shien")
    if hook:
        hook(operation, sorted(hit), allowed)
    return set() if allowed else hit


def principal_name(p: Any) -> str:
    if isinstance(p, str) and p:
        return p
    name = _get(p, "sub", "client_id", "name", "user")
    if not name:
        raise HTTPException(401, "呼出し元が分かりません (no principal)")
    return str(name)


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


def build_router(principal: Callable, engine: Callable | None = None, output_dir: Path | str = Path("var") / "euc") -> APIRouter:
    """Routes under /juki, /atena and /euc. ``principal`` and ``engine`` are FastAPI dependencies."""
    from kikan_hub.modules import atena, euc, juki

    engine_dep = engine or _default_engine_dependency()
    out_dir = Path(output_dir)
    r = APIRouter(tags=["modules"])
    user_errors = (atena.AtenaError, euc.EucError, euc.MaskingError, juki.JukiQueryError)

    def guard(fn, *a, **kw):
        try:
            return fn(*a, **kw)
        except user_errors as exc:
            raise HTTPException(422, str(exc)) from None

    # ---------------------------------------------------------------- 住民記録
    @r.get("/juki/persons/{atena_no}", summary="個人 (時点指定)")
    def get_person(atena_no: str, as_of: Optional[str] = None, history: bool = False,
                   e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        v = guard(juki.person, e, atena_no, as_of, history)
        # a withheld 支援対象者 looks like no record at all: a 403 would tell that one lives here
        if v.row is None or withheld_shien(p, e, "juki.persons", [atena_no]):
            raise HTTPException(404, f"{atena_no}: {as_of or '最新'} 時点の記録はありません")
        return v.as_dict()

    @r.get("/juki/households/{setai_no}", summary="世帯 (時点指定)")
    def get_household(setai_no: str, as_of: Optional[str] = None, e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        rows = guard(juki.household, e, setai_no, as_of)
        if withheld_shien(p, e, "juki.households", [r["atena_no"] for r in rows]):
            rows = []      # the household's address is the 支援対象者's
        return {"setai_no": setai_no, "as_of": as_of, "members": rows}

    @r.get("/juki/removed", summary="除票")
    def get_removed(as_of: Optional[str] = None, jiyu: Optional[list[str]] = Query(None),
                    date_from: Optional[str] = Query(None, alias="from"), date_to: Optional[str] = Query(None, alias="to"),
                    e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        rows = guard(juki.removed, e, as_of, jiyu, date_from, date_to)
        hidden = withheld_shien(p, e, "juki.removed", [r["atena_no"] for r in rows])
        rows = [r for r in rows if r["atena_no"] not in hidden]
        return {"count": len(rows), "removed": rows}

    @r.get("/juki/stats", summary="異動統計 (月別・町字別)")
    def get_stats(date_from: Optional[str] = Query(None, alias="from"), date_to: Optional[str] = Query(None, alias="to"),
                  machiaza: Optional[str] = None, e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        return guard(juki.movement_stats, e, date_from, date_to, machiaza).as_dict()

    # ---------------------------------------------------------------- 団体内統合宛名
    @r.get("/atena/identities/{atena_no}", summary="統合宛名")
    def get_identity(atena_no: str, e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        if withheld_shien(p, e, "atena.identities", [atena_no]):
            raise HTTPException(404, f"{atena_no}: 宛名がありません")
        return atena.identity(e, atena_no)

    @r.get("/atena/candidates", summary="重複候補")
    def get_candidates(threshold: float = atena.DEFAULT_THRESHOLD, limit: int = 200,
                       e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        cands = atena.find_candidates(e, threshold)
        hidden = withheld_shien(p, e, "atena.candidates", [x for c in cands for x in (c.a, c.b)])
        cands = [c for c in cands if c.a not in hidden and c.b not in hidden]
        return {"count": len(cands), "candidates": [c.as_dict() for c in cands[:limit]]}

    @r.get("/atena/review", summary="確認リスト")
    def get_review(threshold: float = atena.DEFAULT_THRESHOLD, limit: int = 200,
                   e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        return atena.review(e, threshold, limit)

    @r.post("/atena/merge", status_code=201, summary="名寄せ")
    def post_merge(body: dict = Body(..., examples=[{"atena_nos": ["0000001112", "0000002224"], "reason": "同一人"}]),
                   e=Depends(engine_dep), p=Depends(principal)):
        did = guard(atena.merge, e, list(body.get("atena_nos") or []), principal_name(p), body.get("reason", ""))
        return {"decision_id": did}

    @r.post("/atena/split", status_code=201, summary="分離")
    def post_split(body: dict = Body(..., examples=[{"atena_no": "0000003336", "reason": "別人"}]),
                   e=Depends(engine_dep), p=Depends(principal)):
        did = guard(atena.split, e, str(body.get("atena_no") or ""), principal_name(p), body.get("reason", ""))
        return {"decision_id": did}

    @r.post("/atena/distinct", status_code=201, summary="別人と記録")
    def post_distinct(body: dict = Body(...), e=Depends(engine_dep), p=Depends(principal)):
        did = guard(atena.mark_distinct, e, str(body.get("atena_a")), str(body.get("atena_b")), principal_name(p),
                    body.get("reason", ""))
        return {"decision_id": did}

    @r.post("/atena/decisions/{decision_id}/undo", status_code=201, summary="判断の取消し")
    def post_undo(decision_id: int, body: dict = Body(default={}), e=Depends(engine_dep), p=Depends(principal)):
        did = guard(atena.undo, e, decision_id, principal_name(p), (body or {}).get("reason", ""))
        return {"decision_id": did, "undoes": decision_id}

    @r.get("/atena/decisions", summary="判断の記録")
    def get_decisions(limit: int = 100, e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        return atena.decisions(e, limit)

    # ---------------------------------------------------------------- EUC
    @r.get("/euc/definitions", summary="抽出定義の一覧")
    def get_definitions(e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        return euc.list_definitions(e)

    @r.get("/euc/definitions/{name}", summary="抽出定義")
    def get_definition(name: str, e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        try:
            d, ver = euc.get_definition(e, name)
        except euc.EucError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"version": ver, "definition": d.to_dict()}

    @r.put("/euc/definitions/{name}", summary="抽出定義の保存")
    def put_definition(name: str, body: dict = Body(...), e=Depends(engine_dep), p=Depends(principal)):
        d = guard(euc.parse_definition, body, name)
        d.name = name
        return {"name": name, "version": euc.save_definition(e, d, principal_name(p))}

    @r.post("/euc/definitions/{name}/run", status_code=201, summary="抽出の実行 (監査記録を返す)")
    def post_run(name: str, format: str = "csv", encoding: Optional[str] = None, fold_policy: Optional[str] = None,
                 role: Optional[str] = None, e=Depends(engine_dep), p=Depends(principal)):
        who = principal_name(p)
        use_role = principal_role(p, role)
        if format not in ("csv", "xlsx", "parquet"):
            raise HTTPException(422, "format は csv, xlsx, parquet")
        stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
        safe = "".join(ch if ch.isalnum() else "_" for ch in name)[:60]
        out = out_dir / f"{safe}_{stamp}.{format}"
        res = guard(euc.run_extraction, e, name, out, who, use_role, format, encoding, fold_policy)
        return {**res.as_dict(), "download": f"euc/runs/{res.audit_id}/file"}

    @r.get("/euc/runs", summary="抽出の監査記録")
    def get_runs(limit: int = 100, name: Optional[str] = None, e=Depends(engine_dep), p=Depends(principal)):
        principal_name(p)
        return euc.audit_log(e, limit, name)

    def _run_for(audit_id: int, e, p):
        a = euc.get_audit(e, audit_id)
        if a is None or a["status"] != "ok":
            raise HTTPException(404, f"抽出 {audit_id} はありません")
        if a["who"] != principal_name(p):
            raise HTTPException(403, "他の利用者の抽出結果は取得できません")
        return a

    @r.get("/euc/runs/{audit_id}", summary="抽出の監査記録 (1件)")
    def get_run(audit_id: int, e=Depends(engine_dep), p=Depends(principal)):
        return _run_for(audit_id, e, p)

    @r.get("/euc/runs/{audit_id}/file", summary="抽出結果のファイル")
    def get_run_file(audit_id: int, e=Depends(engine_dep), p=Depends(principal)):
        a = _run_for(audit_id, e, p)
        path = Path(a["output_path"])
        if not path.exists():
            raise HTTPException(410, "抽出結果のファイルはもうありません")
        return FileResponse(path, filename=path.name)

    @r.get("/euc/runs/{audit_id}/folds", summary="縮退の記録 (CSV)")
    def get_run_folds(audit_id: int, e=Depends(engine_dep), p=Depends(principal)):
        a = _run_for(audit_id, e, p)
        if not a["folds_path"]:
            raise HTTPException(404, "この抽出に縮退はありません")
        return FileResponse(a["folds_path"], media_type="text/csv; charset=utf-8")

    return r
