"""The business modules' REST routes sit behind the same OAuth2 tokens, with scope and audit."""
from __future__ import annotations

import httpx
import sqlalchemy as sa

from api_helpers import A1
from test_api_rest import bearer, get_token


def test_modules_routes_need_scope_and_are_audited(hub_server):
    srv, issued = hub_server
    hub = srv.hub
    mod = hub.clients.add("vendor-modules", "業務モジュール", ["juki:jumin:read", "euc:tanto:read"])
    tax = issued["tax"]
    # A client without juki:jumin:read is refused.
    tok = get_token(srv.base, tax.client_id, tax.client_secret)
    r = httpx.get(f"{srv.base}/api/v1/juki/persons/{A1}", headers=bearer(tok))
    assert r.status_code == 403
    # With juki:jumin:read: the person as of today, and an audit row naming the 宛名番号.
    tok = get_token(srv.base, mod.client_id, mod.client_secret)
    r = httpx.get(f"{srv.base}/api/v1/juki/persons/{A1}", headers=bearer(tok))
    assert r.status_code == 200, r.text
    assert A1 in r.text
    import time

    time.sleep(0.5)  # the audit writer commits in groups
    with hub.engine.connect() as c:
        tables = sa.inspect(c).get_table_names()
        subj = next(t for t in tables if "audit" in t and "subject" in t)
        rows = c.execute(sa.text(f"select * from {subj}")).mappings().all()
    assert any(A1 in [str(v) for v in row.values()] for row in rows)
    # No token at all: 401.
    assert httpx.get(f"{srv.base}/api/v1/juki/persons/{A1}").status_code == 401
