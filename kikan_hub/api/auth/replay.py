"""A bounded, expiring cache of seen nonces / JWT ids (one server process)."""
from __future__ import annotations

import threading
import time


class ReplayCache:
    def __init__(self, max_entries: int = 200_000):
        self._seen: dict[tuple, float] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def check_and_add(self, key: tuple, expires_at: float) -> bool:
        """True when `key` is new (and remember it until `expires_at`); False for a replay."""
        now = time.time()
        with self._lock:
            exp = self._seen.get(key)
            if exp is not None and exp > now:
                return False
            if len(self._seen) >= self.max_entries:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                if len(self._seen) >= self.max_entries:
                    # Full of live entries: refuse rather than forget (a forgotten nonce could be replayed).
                    return False
            self._seen[key] = expires_at
            return True
