"""Throttling of failed authentications and of look-ups that find nobody (one server process).

Counts failures in a sliding window per key (a client id, a source address, a client's
not-found look-ups). Once a key has ``max_failures`` failures inside ``window_seconds`` it is
blocked until the oldest of them leaves the window: the caller gets 429 (REST) or a SOAP Client
fault, with Retry-After, even for a correct secret — so guessing stops paying and a correct
guess cannot be told apart. Successes do not count, so busy honest clients are never throttled.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThrottlePolicy:
    auth_failures_per_client: int = 10     # wrong secrets for one client id …
    auth_failures_per_address: int = 30    # … or from one source address …
    auth_window_seconds: float = 300.0     # … within this window
    not_found_per_client: int = 200        # look-ups of 宛名番号 that do not exist (enumeration) …
    not_found_window_seconds: float = 60.0  # … within this window

    @classmethod
    def disabled(cls) -> "ThrottlePolicy":
        return cls(0, 0, 0.0, 0, 0.0)


class Throttled(Exception):
    def __init__(self, retry_after: int, what: str):
        super().__init__(what)
        self.retry_after, self.what = retry_after, what


@dataclass
class _Window:
    limit: int
    seconds: float
    hits: dict[str, deque] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> float:
        if self.limit <= 0:
            return 0.0
        q = self.hits.get(key)
        if not q:
            return 0.0
        while q and q[0] <= now - self.seconds:
            q.popleft()
        if not q:
            self.hits.pop(key, None)
            return 0.0
        return q[0] + self.seconds - now if len(q) >= self.limit else 0.0

    def add(self, key: str, now: float) -> None:
        if self.limit <= 0:
            return
        q = self.hits.setdefault(key, deque())
        q.append(now)
        while len(q) > self.limit:
            q.popleft()
        if len(self.hits) > 100_000:  # bounded memory: forget the stalest keys
            for k in [k for k, v in self.hits.items() if not v or v[-1] <= now - self.seconds]:
                del self.hits[k]


class Throttle:
    def __init__(self, policy: ThrottlePolicy | None = None, clock=time.monotonic):
        self.policy = policy or ThrottlePolicy()
        self.clock = clock
        self._lock = threading.Lock()
        p = self.policy
        self._client = _Window(p.auth_failures_per_client, p.auth_window_seconds)
        self._addr = _Window(p.auth_failures_per_address, p.auth_window_seconds)
        self._nf = _Window(p.not_found_per_client, p.not_found_window_seconds)

    def check_auth(self, client_id: str | None, address: str | None) -> None:
        """Raise Throttled when this client id or address is blocked (called before any secret is checked)."""
        now = self.clock()
        with self._lock:
            wait = max(self._client.retry_after(client_id or "", now) if client_id else 0.0,
                       self._addr.retry_after(address or "", now) if address else 0.0)
        if wait > 0:
            raise Throttled(math.ceil(wait), "認証の失敗が続いたため一時的に受け付けません")

    def auth_failed(self, client_id: str | None, address: str | None) -> None:
        now = self.clock()
        with self._lock:
            if client_id:
                self._client.add(client_id, now)
            if address:
                self._addr.add(address, now)

    def check_lookup(self, client_id: str) -> None:
        now = self.clock()
        with self._lock:
            wait = self._nf.retry_after(client_id, now)
        if wait > 0:
            raise Throttled(math.ceil(wait), "該当なしの照会が続いたため一時的に受け付けません")

    def not_found(self, client_id: str) -> None:
        with self._lock:
            self._nf.add(client_id, self.clock())
