"""WS-Security UsernameToken Profile 1.1 with PasswordDigest, as the server checks it.

PasswordDigest = Base64(SHA-1(nonce + created + password)); Nonce is Base64 (16–64 raw bytes);
Created is UTC xs:dateTime. A token is accepted when Created lies within the replay window
(default 300 s, plus 60 s of clock skew into the future) and (username, nonce) has not been seen
within that window. Only PasswordDigest is accepted (PasswordText would send the password).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass

from lxml import etree

from kikan_hub.api.auth.clients import Client, ClientRegistry
from kikan_hub.api.auth.replay import ReplayCache

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_DIGEST = TOKEN_PROFILE + "#PasswordDigest"


class WsseFault(Exception):
    """faultcode is a WS-Security QName local part (InvalidSecurity, FailedAuthentication, MessageExpired)."""

    def __init__(self, wsse_code: str, code: str, message: str):
        super().__init__(message)
        self.wsse_code, self.code, self.message = wsse_code, code, message


@dataclass
class UsernameTokenVerifier:
    clients: ClientRegistry
    replay: ReplayCache
    window_seconds: int = 300
    future_skew_seconds: int = 60

    def verify(self, header: etree._Element | None) -> Client:
        if header is None:
            raise WsseFault("InvalidSecurity", "WSSE-MISSING", "wsse:Security ヘッダがありません")
        sec = header.find(f"{{{WSSE}}}Security")
        tok = sec.find(f"{{{WSSE}}}UsernameToken") if sec is not None else None
        if tok is None:
            raise WsseFault("InvalidSecurity", "WSSE-MISSING", "wsse:UsernameToken がありません")
        user = (tok.findtext(f"{{{WSSE}}}Username") or "").strip()
        pw_el = tok.find(f"{{{WSSE}}}Password")
        nonce_b64 = (tok.findtext(f"{{{WSSE}}}Nonce") or "").strip()
        created = (tok.findtext(f"{{{WSU}}}Created") or "").strip()
        if not user or pw_el is None or not nonce_b64 or not created:
            raise WsseFault("InvalidSecurity", "WSSE-INCOMPLETE",
                            "UsernameToken には Username, Password(PasswordDigest), Nonce, Created が必要です")
        if pw_el.get("Type") != PASSWORD_DIGEST:
            raise WsseFault("UnsupportedSecurityToken", "WSSE-DIGEST-REQUIRED", "PasswordDigest のみ受け付けます")
        try:
            nonce = base64.b64decode(nonce_b64, validate=True)
            digest = base64.b64decode((pw_el.text or "").strip(), validate=True)
        except (binascii.Error, ValueError):
            raise WsseFault("InvalidSecurity", "WSSE-ENCODING", "Nonce / Password が Base64 ではありません") from None
        if not 16 <= len(nonce) <= 64:
            raise WsseFault("InvalidSecurity", "WSSE-NONCE", "Nonce は 16〜64 バイトにしてください")
        try:
            ts = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            raise WsseFault("InvalidSecurity", "WSSE-CREATED", "Created が xs:dateTime ではありません") from None
        if ts.tzinfo is None:
            raise WsseFault("InvalidSecurity", "WSSE-CREATED", "Created には UTC (Z) を付けてください")
        age = time.time() - ts.timestamp()
        if age > self.window_seconds or age < -self.future_skew_seconds:
            raise WsseFault("MessageExpired", "WSSE-STALE",
                            f"Created が受付時間 ({self.window_seconds} 秒) の外です")
        client = self.clients.active_client(user)
        password = self.clients.soap_password(client) if client else None
        expected = hashlib.sha1(nonce + created.encode() + (password or "").encode()).digest()
        if client is None or password is None or not hmac.compare_digest(expected, digest):
            raise WsseFault("FailedAuthentication", "WSSE-AUTH", "認証に失敗しました")
        if not self.replay.check_and_add(("wsse", user, nonce), ts.timestamp() + self.window_seconds + 1):
            raise WsseFault("FailedAuthentication", "WSSE-REPLAY", "同じ Nonce のトークンは再利用できません")
        return client
