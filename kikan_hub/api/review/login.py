"""Login for the review page with the hub's own accounts (the clients of `kikan clients add`).

A reviewer signs in with a client id and its client secret (the REST secret) and needs the
scope ``gaiji:register:write``. The check is the interfaces' own (api/auth): the secret is
compared in constant time with the one derived for the claimed id — an unknown id is compared
with a derived stand-in, so known and unknown ids cost the same — and failures go to the hub's
Throttle (per id and per address; 429 with Retry-After once blocked). The session is a signed
cookie (HMAC-SHA256 with a key made when the server starts: a restart signs everyone out),
HttpOnly, SameSite=Strict; every request re-checks that the account is active and still holds
the scope.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from kikan_hub.api.auth import keys
from kikan_hub.api.auth.clients import CLIENT_ID_RE, Client, ClientRegistry
from kikan_hub.api.auth.oauth import constant_time_eq
from kikan_hub.api.auth.throttle import Throttle, Throttled, ThrottlePolicy

REVIEW_SCOPE = "gaiji:register:write"
COOKIE = "kikan_review"
SESSION_SECONDS = 8 * 3600


class LoginError(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


@dataclass(frozen=True)
class Reviewer:
    client_id: str
    name: str

    @property
    def label(self) -> str:
        """decided_by in the register: the account id (stable; the display name may change)."""
        return self.client_id


class ReviewLogin:
    def __init__(self, clients: ClientRegistry, throttle: Throttle | None = None) -> None:
        self.clients = clients
        self.throttle = throttle or Throttle(ThrottlePolicy())
        self._key = secrets.token_bytes(32)
        clients.warm()      # scrypt for every account now, not on its first login (timing)

    def login(self, client_id: str, secret: str, address: str) -> Reviewer:
        cid = client_id if CLIENT_ID_RE.match(client_id or "") else None
        try:
            self.throttle.check_auth(cid, address)
        except Throttled as exc:
            raise LoginError(429, f"{exc.what} ({exc.retry_after} 秒後に再試行してください)", exc.retry_after) from None
        c = self.clients.active_client(cid) if cid else None
        expected = (self.clients.rest_secret(c) if c else None) or keys.derive(self.clients.master, "rest-unknown",
                                                                              client_id or "")
        if not constant_time_eq(secret or "", expected) or c is None:
            self.throttle.auth_failed(cid, address)
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
