"""Login for the review page with the hub's own accounts (the clients of `kikan clients add`).

A reviewer signs in with a client id and its client secret (the REST secret, checked against
the stored scrypt hash) and needs the scope ``gaiji:register:write``. An unknown id is checked
against a dummy hash so known and unknown ids take the same time; repeated failures for an id
or an address are refused for a while (429). The session is a signed cookie (HMAC-SHA256 with a
key made when the server starts: a restart signs everyone out), HttpOnly, SameSite=Strict.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from kikan_hub.api.auth import keys
from kikan_hub.api.auth.clients import Client, ClientRegistry

REVIEW_SCOPE = "gaiji:register:write"
COOKIE = "kikan_review"
SESSION_SECONDS = 8 * 3600
MAX_FAILURES, FAILURE_WINDOW, LOCKOUT_SECONDS = 5, 300.0, 60.0


class LoginError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Reviewer:
    client_id: str
    name: str

    @property
    def label(self) -> str:
        """decided_by in the register: the account id (stable; the display name may change)."""
        return self.client_id


class ReviewLogin:
    def __init__(self, clients: ClientRegistry) -> None:
        self.clients = clients
        self._key = secrets.token_bytes(32)
        self._dummy_hash = keys.hash_secret(secrets.token_urlsafe(24))
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- throttling
    def _locked(self, keys_: list[str], now: float) -> float:
        with self._lock:
            worst = 0.0
            for k in keys_:
                recent = [t for t in self._failures.get(k, []) if now - t < FAILURE_WINDOW]
                self._failures[k] = recent
                if len(recent) >= MAX_FAILURES:
                    worst = max(worst, recent[-1] + LOCKOUT_SECONDS - now)
            return worst

    def _fail(self, keys_: list[str], now: float) -> None:
        with self._lock:
            for k in keys_:
                self._failures.setdefault(k, []).append(now)

    # ---------------------------------------------------------------- login
    def login(self, client_id: str, secret: str, address: str) -> Reviewer:
        now = time.monotonic()
        ks = [f"id:{client_id}", f"addr:{address}"]
        wait = self._locked(ks, now)
        if wait > 0:
            raise LoginError(429, f"失敗が続いたため {int(wait) + 1} 秒後に再試行してください")
        c = self.clients.active_client(client_id) if client_id else None
        ok = keys.verify_secret(secret or "", c.rest_secret_hash if c else self._dummy_hash)
        if c is None or not ok:
            self._fail(ks, now)
            raise LoginError(401, "アカウントIDか秘密が違います")
        if not c.allows(REVIEW_SCOPE):
            raise LoginError(403, f"このアカウントには権限 {REVIEW_SCOPE} がありません")
        return Reviewer(c.client_id, c.name)

    # ---------------------------------------------------------------- session cookie
    def _sign(self, body: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body.encode(), hashlib.sha256).digest()).decode().rstrip("=")

    def cookie_for(self, reviewer: Reviewer) -> str:
        body = f"{reviewer.client_id}|{int(time.time()) + SESSION_SECONDS}"
        return f"{body}|{self._sign(body)}"

    def reviewer(self, cookie: str | None) -> Reviewer | None:
        """The signed-in reviewer, or None (no/forged/expired cookie, account revoked or scope gone)."""
        if not cookie or cookie.count("|") != 2:
            return None
        cid, exp, sig = cookie.split("|")
        if not hmac.compare_digest(sig, self._sign(f"{cid}|{exp}")) or not exp.isdigit() or int(exp) < time.time():
            return None
        c: Client | None = self.clients.active_client(cid)
        if c is None or not c.allows(REVIEW_SCOPE):
            return None
        return Reviewer(c.client_id, c.name)
