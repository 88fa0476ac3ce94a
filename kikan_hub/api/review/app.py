"""The review page's FastAPI application.

State: the register file (read afresh for every listing and decision, so decisions made
elsewhere — `kikan gaiji decide`, another reviewer — are seen), the vendor font and the MJ font
(glyph images), and the candidates of `match-glyphs` computed when the server starts. Every
decision goes through GaijiRegister.decide (append-only log) under one lock, then the register
is saved; who is the signed-in account, when is the server's clock.
"""
from __future__ import annotations

import fcntl
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from kikan_hub.gaiji.errors import GaijiError
from kikan_hub.gaiji.glyphs.match import GlyphMatch
from kikan_hub.gaiji.glyphs.reference import Reference
from kikan_hub.gaiji.glyphs.render import GlyphRenderer
from kikan_hub.gaiji.register import IDENTIFIED, UNIDENTIFIED, GaijiRegister, GaijiRow, ucs_column

from .login import COOKIE, SESSION_SECONDS, LoginError, ReviewLogin, Reviewer

STATIC = Path(__file__).with_name("static")
NONE_MARK = "【候補なし】"
CSRF_HEADER = "x-kikan-review"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class ReviewState:
    register_path: Path
    source_system: str
    vendor: GlyphRenderer
    mj_font: GlyphRenderer
    ref: Reference
    matches: list[GlyphMatch]
    mj_info: dict[str, dict] = field(default_factory=dict)   # MJ → {"strokes", "yomi"} from the MJ index
    lock: threading.Lock = field(default_factory=threading.Lock)
    _png: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._row_of = self.ref.row_of()
        self._by_pua = {m.pua: m for m in self.matches}
        self._vendor_gid = {g.pua: g.gid for g in self.vendor.vendor_glyphs()}

    # ------------------------------------------------------------------ register view
    def register(self) -> GaijiRegister:
        return GaijiRegister.open_or_new(self.register_path)

    def rows_by_pua(self, reg: GaijiRegister) -> dict[str, GaijiRow]:
        out: dict[str, GaijiRow] = {}
        for r in reg.rows:
            if r.pua and r.source_system == self.source_system:
                out.setdefault(r.pua, r)
        return out

    def row_for(self, reg: GaijiRegister, m: GlyphMatch, by_pua: dict[str, GaijiRow] | None = None) -> GaijiRow | None:
        """The register row of a vendor glyph: same private-use code point, else same source code."""
        row = (by_pua if by_pua is not None else self.rows_by_pua(reg)).get(m.pua)
        if row is None and m.source_code:
            row = reg.get(self.source_system, m.source_code)
        return row

    @staticmethod
    def pending(row: GaijiRow | None) -> bool:
        return row is None or (row.status != IDENTIFIED and NONE_MARK not in row.glyph_note)

    def item(self, m: GlyphMatch, row: GaijiRow | None) -> dict:
        cands = []
        for i, c in enumerate(m.candidates, start=1):
            r = self._row_of[c["mj"]]
            info = self.mj_info.get(c["mj"], {})
            cands.append({**c, "rank": i, "text": self.ref.text[r], "strokes": info.get("strokes"),
                          "yomi": info.get("yomi", [])})
        return {"pua": m.pua, "source_code": m.source_code, "source_system": self.source_system,
                "status": row.status if row else UNIDENTIFIED, "mj": row.mj if row else "",
                "ucs": row.ucs if row else "", "glyph_note": row.glyph_note if row else "",
                "decided_by": row.decided_by if row else "", "decided_at": row.decided_at if row else "",
                "pending": self.pending(row), "candidates": cands}

    def items(self, show: str) -> list[dict]:
        reg = self.register()
        by_pua = self.rows_by_pua(reg)
        out = []
        for m in self.matches:
            row = self.row_for(reg, m, by_pua)
            if show == "all" or self.pending(row):
                out.append(self.item(m, row))
        return out

    # ------------------------------------------------------------------ decisions
    def decide(self, reviewer: Reviewer, body: dict) -> dict:
        pua = str(body.get("pua", ""))
        m = self._by_pua.get(pua)
        if m is None:
            raise GaijiError(f"{pua}: このフォントにない私用領域コードです")
        action = body.get("action")
        note = str(body.get("note") or "").strip()
        if len(note) > 500:
            raise GaijiError("メモは500文字までです")
        with self.lock, _file_lock(self.register_path):
            reg = self.register()
            row = self.row_for(reg, m)
            code = row.source_code if row else m.source_code
            if not code:
                raise GaijiError(f"{pua}: 移行元コードが分かりません (--encoding を確認してください)")
            old_note = row.glyph_note if row else ""
            if action == "pick":
                mj = str(body.get("mj", "")).strip().upper()
                r = self._row_of.get(mj)
                if r is None:
                    raise GaijiError(f"{mj}: MJ字形フォントにない MJ文字図形名です")
                ranks = [c["mj"] for c in m.candidates]
                how = f"候補{ranks.index(mj) + 1} (score {m.candidates[ranks.index(mj)]['score']})" if mj in ranks \
                    else "MJ番号を直接入力"
                text = self.ref.text[r]
                changes = {"mj": mj, "pua": pua, "status": IDENTIFIED,
                           "glyph_note": "；".join(x for x in old_note.replace(NONE_MARK, "").split("；") if x.strip())}
                if text:
                    changes["ucs"] = ucs_column(text)
                reason = f"確認ページ: {mj} を選択 ({how})" + (f" メモ: {note}" if note else "")
            elif action == "none":
                changes = {"pua": pua, "status": UNIDENTIFIED, "mj": "", "ucs": "", "gj": "",
                           "glyph_note": _join(old_note if NONE_MARK in old_note else _join(old_note, NONE_MARK), note)}
                reason = "確認ページ: 候補なし" + (f" メモ: {note}" if note else "")
            elif action == "note":
                if not note:
                    raise GaijiError("メモが空です")
                changes = {"pua": pua, "glyph_note": _join(old_note, note)}
                reason = "確認ページ: メモ"
            else:
                raise GaijiError(f"action {action!r}: pick / none / note のいずれかです")
            new = reg.decide(self.source_system, code, by=reviewer.label, reason=reason, **changes)
            reg.save()
            log = reg.decisions()[-1]
        return {"item": self.item(m, new), "log": log}

    # ------------------------------------------------------------------ images
    def png(self, kind: str, key: str) -> bytes | None:
        hit = self._png.get((kind, key))
        if hit is not None:
            return hit
        if kind == "vendor":
            gid, font = self._vendor_gid.get(key), self.vendor
        else:
            r = self._row_of.get(key)
            gid, font = (int(self.ref.gids[r]) if r is not None else None), self.mj_font
        if gid is None:
            return None
        with self.lock:
            raw = font.raw(gid)
        data = _png(raw)
        self._png[(kind, key)] = data
        return data


@contextmanager
def _file_lock(register: Path) -> Iterator[None]:
    """An exclusive lock beside the register, so two review servers (or a second reviewer's
    process) never interleave read-decide-save on one register."""
    lock = register.with_name(register.name + ".lock")
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _join(a: str, b: str) -> str:
    return "；".join(x for x in (a.strip(), b.strip()) if x)


def _png(raw: np.ndarray | None, side: int = 96) -> bytes:
    """Black on white, the glyph centred in a square; small bitmaps are enlarged pixel for pixel."""
    from PIL import Image

    canvas = np.full((side, side), 255, dtype=np.uint8)
    if raw is not None and raw.size:
        img = raw
        h, w = img.shape
        if max(h, w) * 2 <= side:      # a bitmap font's 24×24 cell: show its pixels
            f = side // max(h, w)
            img = np.kron(img, np.ones((f, f), dtype=np.uint8))
        elif max(h, w) > side:
            s = side / max(h, w)
            img = np.asarray(Image.fromarray(img).resize((max(1, int(w * s)), max(1, int(h * s))), Image.Resampling.BOX))
        h, w = img.shape
        y0, x0 = (side - h) // 2, (side - w) // 2
        canvas[y0:y0 + h, x0:x0 + w] = 255 - img
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def create_review_app(state: ReviewState, login: ReviewLogin, *, secure_cookie: bool = False) -> FastAPI:
    app = FastAPI(title="kikan-hub 外字同定 確認ページ", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        resp = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    def who(request: Request) -> Reviewer | None:
        return login.reviewer(request.cookies.get(COOKIE))

    def denied() -> JSONResponse:
        return JSONResponse({"error": "ログインしてください"}, 401)

    async def json_body(request: Request) -> dict | JSONResponse:
        """The JSON object of a write from the page (its header proves it came from the page)."""
        if request.headers.get(CSRF_HEADER) != "1":
            return JSONResponse({"error": "不正な要求です"}, 400)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "JSON で送ってください"}, 400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "JSON オブジェクトで送ってください"}, 400)
        return body

    @app.get("/")
    def page():
        return Response((STATIC / "review.html").read_bytes(), media_type="text/html; charset=utf-8")

    @app.get("/favicon.ico")
    def favicon():
        return Response(status_code=204)

    @app.get("/review.js")
    def script():
        return Response((STATIC / "review.js").read_bytes(), media_type="text/javascript; charset=utf-8")

    @app.get("/review.css")
    def style():
        return Response((STATIC / "review.css").read_bytes(), media_type="text/css; charset=utf-8")

    @app.post("/api/login")
    async def do_login(request: Request):
        body = await json_body(request)
        if isinstance(body, JSONResponse):
            return body
        address = request.client.host if request.client else "-"
        try:
            from fastapi.concurrency import run_in_threadpool

            reviewer = await run_in_threadpool(login.login, str(body.get("client_id", ""))[:64],
                                               str(body.get("secret", ""))[:256], address)
        except LoginError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return JSONResponse({"error": str(exc)}, exc.status, headers=headers)
        resp = JSONResponse({"client_id": reviewer.client_id, "name": reviewer.name})
        resp.set_cookie(COOKIE, login.cookie_for(reviewer), max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=secure_cookie, path="/")
        return resp

    @app.post("/api/logout")
    def do_logout():
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(COOKIE, path="/")
        return resp

    @app.get("/api/me")
    def me(request: Request):
        r = who(request)
        if r is None:
            return denied()
        return {"client_id": r.client_id, "name": r.name, "register": state.register_path.name,
                "source_system": state.source_system, "font": state.vendor.path.name}

    @app.get("/api/items")
    def items(request: Request, show: str = "pending"):
        if who(request) is None:
            return denied()
        if show not in ("pending", "all"):
            return JSONResponse({"error": "show は pending か all です"}, 400)
        try:
            data = state.items(show)
        except GaijiError as exc:
            return JSONResponse({"error": str(exc)}, 409)
        return {"items": data, "total": len(state.matches)}

    @app.post("/api/decide")
    async def decide(request: Request):
        r = who(request)
        if r is None:
            return denied()
        body = await json_body(request)
        if isinstance(body, JSONResponse):
            return body
        from fastapi.concurrency import run_in_threadpool

        try:
            return await run_in_threadpool(state.decide, r, body)
        except GaijiError as exc:
            return JSONResponse({"error": str(exc)}, 422)
        except OSError as exc:
            return JSONResponse({"error": f"外字台帳を書けません: {exc.strerror or exc}"}, 500)

    @app.get("/glyph/{kind}/{key}.png")
    def glyph(request: Request, kind: str, key: str):
        if who(request) is None:
            return denied()
        if kind not in ("vendor", "mj"):
            return Response(status_code=404)
        data = state.png(kind, key.upper())
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/png")

    return app
