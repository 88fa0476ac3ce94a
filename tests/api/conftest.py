"""Fixtures for interface tests: a filled store behind a real uvicorn server on a free port."""
from __future__ import annotations

import functools
import logging
import secrets

import httpx
import pytest

from api_helpers import LogCapture, RunningServer, fill_store

# httpx's 5 s default read timeout fails answers that are right but slow when the test machine is busy
# (a fresh clone's `make test` beside other work); these tests judge answers, not time. An explicit
# timeout= in a call still wins.
for _verb in ("get", "post", "put", "patch", "delete", "request"):
    setattr(httpx, _verb, functools.partial(getattr(httpx, _verb), timeout=60))


@pytest.fixture
def master_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def hub_server(store_url, master_key, tmp_path):
    """(server, clients) with a filled store and three clients: full, tax-only, no-mynumber."""
    from kikan_hub.api.server import build_hub, create_app, prepare_store
    from kikan_hub.store.engine import open_engine

    engine = open_engine(store_url)
    prepare_store(engine)
    fill_store(engine)
    hub = build_hub(engine, master_key, linkage_dir=tmp_path / "linkage", max_body=64 * 1024)
    issued = {
        "full": hub.clients.add("vendor-full", "全権限 (テスト)", [
            "juki:jumin:read", "juki:setai:read", "juki:idou:read", "juki:atena:read", "juki:kojin_bango:read",
            "juki:linkage:write", "kojin_juminzei:nozeigimusha:read", "kokuho:hihokensha:read"]),
        "tax": hub.clients.add("vendor-tax", "個人住民税のみ", ["kojin_juminzei:nozeigimusha:read"]),
        "basic": hub.clients.add("vendor-basic", "個人番号なし", ["juki:jumin:read", "juki:setai:read",
                                                                "juki:idou:read", "juki:atena:read"]),
    }
    logs = LogCapture()
    logs.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "kikan_hub"):
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).propagate = True
    srv = RunningServer(create_app(hub, docs=True), hub, logs).start()
    try:
        yield srv, issued
    finally:
        srv.stop()
        root.removeHandler(logs)
        root.setLevel(old_level)
        engine.dispose()
