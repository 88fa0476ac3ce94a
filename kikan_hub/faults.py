"""Fault injection at named points, driven by the environment (tests and drills only).

``KIKAN_FAULT_AT`` names one point, optionally the n-th time it is reached and an action::

    KIKAN_FAULT_AT="load:after_delete"          # SIGKILL the process the 1st time it gets there
    KIKAN_FAULT_AT="read:batch@3"               # ... the 3rd time
    KIKAN_FAULT_AT="load:ingest_batch@2=enospc" # raise OSError(ENOSPC) there instead of dying
    KIKAN_FAULT_AT="load:after_delete=eacces"   # raise PermissionError(EACCES)

Unset (the normal case) a checkpoint costs one dictionary lookup. The variable is inherited
by the bulk-load child (``python -m kikan_hub.store.bulk_job``), so checkpoints inside the
load fire there too. A leaf module: it imports nothing of the hub, so every layer (store/, pipeline/) may use it.
"""
from __future__ import annotations

import errno
import os
import signal

ENV = "KIKAN_FAULT_AT"
_seen: dict[str, int] = {}


def _parse(spec: str) -> tuple[str, int, str]:
    spec, _, action = spec.partition("=")
    name, _, nth = spec.partition("@")
    return name.strip(), int(nth) if nth else 1, (action or "kill").strip()


def checkpoint(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, nth, action = _parse(spec)
    if target != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] != nth:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "enospc":
        raise OSError(errno.ENOSPC, f"No space left on device (injected at {name})")
    elif action == "eacces":
        raise PermissionError(errno.EACCES, f"Permission denied (injected at {name})")
    else:
        raise ValueError(f"{ENV}: unknown action {action!r}")


def reset() -> None:
    """Forget occurrence counts (for in-process tests that fork)."""
    _seen.clear()
