"""ASGI guards in front of every route: a streamed body limit and no-store caching of personal data.

The body limit counts the bytes as they arrive, before any route, form parser or token check
reads them: a chunked upload without Content-Length is stopped at the limit (413, or a SOAP
Client fault on the SOAP endpoint) instead of being buffered whole. At most ``limit`` bytes are
ever held. Pure ASGI (not BaseHTTPMiddleware): it adds no task or copy to the hot path.
"""
from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

PERSONAL_PREFIXES = ("/api/", "/platform/soap")
log = logging.getLogger("kikan_hub.api.server")


class BodyLimit:
    def __init__(self, app, limit_for: Callable[[str], int], too_large: Callable[[str, int], tuple[int, bytes, str]]):
        self.app, self.limit_for, self.too_large = app, limit_for, too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, limit = scope["path"], self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or ())
        cl = headers.get(b"content-length")
        if cl is not None and (not cl.isdigit() or int(cl) > limit):
            return await self._refuse(path, limit, send)
        if scope["method"] in ("GET", "HEAD", "OPTIONS") and cl is None and b"transfer-encoding" not in headers:
            return await self.app(scope, receive, send)
        # Read the body here, counting, before anything else sees it.
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body = msg.get("body", b"")
            size += len(body)
            if size > limit:
                return await self._refuse(path, limit, send)
            if body:
                chunks.append(body)
            if not msg.get("more_body", False):
                break
        data = b"".join(chunks)
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()
        await self.app(scope, replay, send)

    async def _refuse(self, path: str, limit: int, send: Send) -> None:
        status, body, ctype = self.too_large(path, limit)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close"), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})


class NoStore:
    """Cache-Control: no-store on every answer that may carry personal data (REST and SOAP)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PERSONAL_PREFIXES):
            return await self.app(scope, receive, send)

        async def send_with(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                hs = [(k, v) for k, v in msg.get("headers", []) if k.lower() not in (b"cache-control", b"pragma")]
                msg = {**msg, "headers": hs + [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]}
            await send(msg)
        await self.app(scope, receive, send_with)


def problem(status: int, detail: str) -> bytes:
    return json.dumps({"detail": detail, "status": status}, ensure_ascii=False).encode("utf-8")


class CatchAll:
    """An unexpected exception becomes a 500 problem body; the log gets its type only, no traceback
    (a traceback's values can hold personal data), and the exception does not reach the server's logger."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking(msg: dict) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)
        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:  # noqa: BLE001 - the point of this guard
            route = scope.get("route")
            log.error("internal error %s %s: %s", scope.get("method"), getattr(route, "path", "-"),
                      type(exc).__name__)
            if started:
                return
            body = problem(500, "サーバー内部エラー")
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
