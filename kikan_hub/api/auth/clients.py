"""API clients kept in the store: id, scopes, secret generation, hashes, revocation."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from kikan_hub.api.auth import keys, scopes as sc
from kikan_hub.api.tables import CLIENTS

SCOPE_RE = sc.SCOPE_RE
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")


class ClientError(Exception):
    pass


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    scopes: frozenset[str]
    generation: int
    rest_secret_hash: str
    soap_secret_hash: str
    created_at: dt.datetime
    rotated_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return sc.allows(self.scopes, scope)


@dataclass(frozen=True)
class IssuedSecrets:
    client_id: str
    client_secret: str     # REST: client_secret_basic / client_secret_jwt
    soap_password: str     # SOAP: WS-Security UsernameToken (PasswordDigest)


def _table():
    from kikan_hub.store.schema import build_metadata
    return build_metadata().tables[CLIENTS]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def secrets_for(master: bytes, client_id: str, generation: int) -> IssuedSecrets:
    return IssuedSecrets(client_id, keys.derive(master, "rest", client_id, generation),
                         keys.derive(master, "soap", client_id, generation))


def check_scopes(scopes: list[str]) -> list[str]:
    bad = [s for s in scopes if not SCOPE_RE.match(s)]
    if bad:
        raise ClientError(f"スコープの形式が違います (業務ID:resource:operation): {bad}")
    return sorted(set(scopes))


class ClientRegistry:
    def __init__(self, engine: Engine, master: bytes, cache_seconds: float = 2.0):
        self.engine = engine
        self.master = master
        self.t = _table()
        self._cache: dict[str, tuple[float, Client | None]] = {}
        self._lock = threading.Lock()
        self.cache_seconds = cache_seconds
        self._verified: dict[tuple, bool] = {}

    @staticmethod
    def _row(r) -> Client:
        def tz(v):
            if isinstance(v, dt.datetime) and v.tzinfo is None:
                return v.replace(tzinfo=dt.timezone.utc)
            return v
        return Client(r.client_id, r.name or "", frozenset((r.scopes or "").split()), r.generation,
                      r.rest_secret_hash, r.soap_secret_hash, tz(r.created_at), tz(r.rotated_at), tz(r.revoked_at))

    def add(self, client_id: str | None, name: str, scopes: list[str]) -> IssuedSecrets:
        client_id = client_id or f"c-{secrets.token_hex(6)}"
        if not CLIENT_ID_RE.match(client_id):
            raise ClientError(f"client_id は英数字と _.- で 3〜64 文字: {client_id!r}")
        scopes = check_scopes(scopes)
        issued = secrets_for(self.master, client_id, 1)
        hashes = self._hashes(issued, 1)
        with self.engine.begin() as conn:
            if conn.execute(select(self.t.c.client_id).where(self.t.c.client_id == client_id)).first():
                raise ClientError(f"クライアント {client_id} は既にあります")
            conn.execute(insert(self.t).values(
                client_id=client_id, name=name, scopes=" ".join(scopes), generation=1, created_at=_now(), **hashes))
        return issued

    def _hashes(self, issued: IssuedSecrets, generation: int) -> dict:
        """scrypt hashes of freshly issued secrets, remembered as verified (no scrypt on the first login)."""
        rest, soap = keys.hash_secret(issued.client_secret), keys.hash_secret(issued.soap_password)
        self._verified[("rest", issued.client_id, generation, rest)] = True
        self._verified[("soap", issued.client_id, generation, soap)] = True
        return {"rest_secret_hash": rest, "soap_secret_hash": soap}

    def warm(self) -> int:
        """Check every active client's stored hashes once, at start, so a first login costs what any login costs.

        (Otherwise the first login of a known client id would run scrypt and one of an unknown id would
        not, and response times would tell which client ids exist.)
        """
        n = 0
        for c in self.list():
            if c.active:
                self.rest_secret(c), self.soap_password(c)
                n += 1
        return n

    def rotate(self, client_id: str) -> IssuedSecrets:
        c = self.get(client_id, fresh=True)
        if c is None:
            raise ClientError(f"クライアント {client_id} はありません")
        if not c.active:
            # A revoked client stays revoked: rotating must not bring it back (register a new one instead).
            raise ClientError(f"クライアント {client_id} は失効しています (失効日時 {c.revoked_at:%Y-%m-%d %H:%M}); "
                              f"鍵更新では再開できません。新しいクライアントとして登録してください")
        issued = secrets_for(self.master, client_id, c.generation + 1)
        hashes = self._hashes(issued, c.generation + 1)
        with self.engine.begin() as conn:
            n = conn.execute(update(self.t).where(self.t.c.client_id == client_id, self.t.c.revoked_at.is_(None),
                                                  self.t.c.generation == c.generation).values(
                generation=c.generation + 1, rotated_at=_now(), **hashes)).rowcount
        self._forget(client_id)
        if not n:
            raise ClientError(f"クライアント {client_id} は更新中に失効または鍵更新されました。状態を確認してください")
        return issued

    def revoke(self, client_id: str) -> None:
        with self.engine.begin() as conn:
            n = conn.execute(update(self.t).where(self.t.c.client_id == client_id).values(revoked_at=_now())).rowcount
        if not n:
            raise ClientError(f"クライアント {client_id} はありません")
        self._forget(client_id)

    def list(self) -> list[Client]:
        with self.engine.connect() as conn:
            return [self._row(r) for r in conn.execute(select(self.t).order_by(self.t.c.client_id))]

    def _forget(self, client_id: str) -> None:
        with self._lock:
            self._cache.pop(client_id, None)

    def get(self, client_id: str, fresh: bool = False) -> Client | None:
        now = time.monotonic()
        if not fresh:
            with self._lock:
                hit = self._cache.get(client_id)
            if hit and now - hit[0] < self.cache_seconds:
                return hit[1]
        with self.engine.connect() as conn:
            r = conn.execute(select(self.t).where(self.t.c.client_id == client_id)).first()
        c = self._row(r) if r else None
        with self._lock:
            if len(self._cache) > 10_000:  # unknown ids are cached too: keep an attacker from growing it
                self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self.cache_seconds}
            self._cache[client_id] = (now, c)
        return c

    def active_client(self, client_id: str) -> Client | None:
        c = self.get(client_id)
        return c if c is not None and c.active else None

    # Plain secrets, derived on demand (never stored); None when the master key does not match.
    def soap_password(self, c: Client) -> str | None:
        pw = secrets_for(self.master, c.client_id, c.generation).soap_password
        return pw if self._hash_ok(("soap", c.client_id, c.generation), pw, c.soap_secret_hash) else None

    def rest_secret(self, c: Client) -> str | None:
        s = secrets_for(self.master, c.client_id, c.generation).client_secret
        return s if self._hash_ok(("rest", c.client_id, c.generation), s, c.rest_secret_hash) else None

    def _hash_ok(self, key: tuple, secret: str, stored: str) -> bool:
        # scrypt is deliberately slow; remember a positive check per (purpose, client, generation, hash).
        k = key + (stored,)
        if k in self._verified:
            return True
        ok = keys.verify_secret(secret, stored)
        if ok:
            self._verified[k] = True
        return ok
