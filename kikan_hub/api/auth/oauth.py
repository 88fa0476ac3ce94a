"""OAuth2 client credentials (RFC 6749 §4.4) with client_secret_basic and client_secret_jwt (RFC 7523).

Access tokens are HS256 JWTs signed with a key derived from the master key, valid for
``ttl_seconds`` (default 300). No refresh tokens. Scopes are ``業務ID:resource:operation``.
A token carries the scopes granted at issue time; every request re-checks that the client is
still active (revocation takes effect within the registry cache time, 2 s).
"""
from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
import urllib.parse
from dataclasses import dataclass

import jwt

from kikan_hub.api.auth import keys, scopes as sc
from kikan_hub.api.auth.clients import CLIENT_ID_RE, Client, ClientRegistry
from kikan_hub.api.auth.replay import ReplayCache

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISSUER = "kikan-hub"
AUDIENCE = "kikan-hub/api/v1"


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass
class TokenService:
    clients: ClientRegistry
    replay: ReplayCache
    ttl_seconds: int = 300
    assertion_max_lifetime: int = 300

    @property
    def signing_key(self) -> bytes:
        return keys.derive_bytes(self.clients.master, "access-token-hs256")

    # --- client authentication -------------------------------------------------------------
    @staticmethod
    def basic_credentials(authorization: str) -> tuple[str, str]:
        try:
            raw = base64.b64decode(authorization.split(" ", 1)[1].strip(), validate=True).decode()
            cid, secret = raw.split(":", 1)
            return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)
        except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "Authorization: Basic の形式が違います") from None

    @staticmethod
    def claimed_client(authorization: str, assertion: str | None) -> str | None:
        """The client id a request claims (before any check): the throttle's and the audit's key."""
        cid = None
        try:
            if authorization.lower().startswith("basic "):
                cid = TokenService.basic_credentials(authorization)[0]
            elif assertion:
                cid = jwt.decode(assertion, options={"verify_signature": False}).get("sub")
        except (OAuthError, jwt.PyJWTError):
            return None
        return cid if isinstance(cid, str) and CLIENT_ID_RE.match(cid) else None

    def authenticate_basic(self, authorization: str) -> Client:
        cid, secret = self.basic_credentials(authorization)
        c = self.clients.active_client(cid)
        # Same work for known and unknown ids: compare with the derived secret of the claimed id
        # (HMAC, microseconds) instead of running scrypt only when the id exists.
        expected = (self.clients.rest_secret(c) if c else None) or keys.derive(self.clients.master, "rest-unknown", cid)
        if not constant_time_eq(secret, expected) or c is None:
            raise OAuthError(401, "invalid_client", "クライアント認証に失敗しました")
        return c

    def authenticate_jwt(self, assertion: str, token_url: str) -> Client:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise OAuthError(401, "invalid_client", "client_assertion が JWT ではありません") from None
        if header.get("alg") != "HS256":
            raise OAuthError(401, "invalid_client", "client_secret_jwt は HS256 のみ受け付けます")
        cid = unverified.get("sub")
        c = self.clients.active_client(cid) if isinstance(cid, str) and CLIENT_ID_RE.match(cid) else None
        secret = self.clients.rest_secret(c) if c else None
        if c is None or secret is None:
            raise OAuthError(401, "invalid_client", "クライアント認証に失敗しました")
        try:
            claims = jwt.decode(assertion, secret, algorithms=["HS256"], audience=[token_url, AUDIENCE],
                                options={"require": ["iss", "sub", "aud", "exp", "jti"]}, leeway=30)
        except jwt.PyJWTError as exc:
            raise OAuthError(401, "invalid_client", f"client_assertion を検証できません: {type(exc).__name__}") from None
        if not isinstance(claims["exp"], (int, float)) or isinstance(claims["exp"], bool):
            raise OAuthError(401, "invalid_client", "client_assertion の exp は数値 (NumericDate) にしてください")
        if not isinstance(claims["jti"], str) or not 1 <= len(claims["jti"]) <= 200:
            raise OAuthError(401, "invalid_client", "client_assertion の jti は 1〜200 文字の文字列にしてください")
        if claims["iss"] != cid:
            raise OAuthError(401, "invalid_client", "client_assertion の iss と sub が違います")
        if claims["exp"] - time.time() > self.assertion_max_lifetime:
            raise OAuthError(401, "invalid_client", "client_assertion の有効期限が長すぎます")
        if not self.replay.check_and_add(("jwt", cid, str(claims["jti"])), float(claims["exp"]) + 31):
            raise OAuthError(401, "invalid_client", "client_assertion (jti) は再利用できません")
        return c

    # --- tokens ---------------------------------------------------------------------------
    def issue(self, client: Client, requested: str | None) -> dict:
        if requested:
            want = set(requested.split())
            bad = sorted(s for s in want if not sc.is_scope(s))
            if bad:
                raise OAuthError(400, "invalid_scope", f"スコープの形式が違います (業務:resource:operation): "
                                                       f"{' '.join(bad)[:200]}")
            extra = sorted(s for s in want if not client.allows(s))
            if extra:
                raise OAuthError(400, "invalid_scope", f"許可されていないスコープ: {' '.join(extra)}")
        else:
            want = set(client.scopes)
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": client.client_id, "iat": now, "nbf": now,
                  "exp": now + self.ttl_seconds, "jti": secrets.token_urlsafe(12), "scope": " ".join(sorted(want)),
                  "gen": client.generation}
        token = jwt.encode(claims, self.signing_key, algorithm="HS256")
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl_seconds,
                "scope": claims["scope"]}

    def verify_access_token(self, token: str) -> tuple[Client, frozenset[str]]:
        try:
            claims = jwt.decode(token, self.signing_key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "sub", "scope", "iat"]})
        except jwt.ExpiredSignatureError:
            raise OAuthError(401, "invalid_token", "アクセストークンの有効期限が切れています") from None
        except jwt.PyJWTError:
            raise OAuthError(401, "invalid_token", "アクセストークンが無効です") from None
        c = self.clients.active_client(claims["sub"]) if isinstance(claims["sub"], str) else None
        if c is None or c.generation != claims.get("gen"):
            raise OAuthError(401, "invalid_token", "クライアントが失効しているか鍵が更新されています")
        return c, frozenset(s for s in str(claims["scope"]).split() if sc.is_scope(s) and c.allows(s))


def scope_allows(scopes: frozenset[str], needed: str) -> bool:
    return sc.allows(scopes, needed)


def constant_time_eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
