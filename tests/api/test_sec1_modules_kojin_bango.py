"""Finding 1: a module read scope returned 個人番号 (GET /juki/persons/{宛名番号}, GET /juki/removed).

個人番号 is its own grant (juki:kojin_bango:read) on the module routes too, and the bulk 除票 list
is audited with every 宛名番号 it disclosed.
"""
from __future__ import annotations

import httpx
import sqlalchemy as sa

from api_helpers import A2, A4, KB2, KB5, add_client, audit_rows, rest_token

HTTP = httpx.Client(timeout=60)  # a loaded CI machine can be slow; the assertions are about answers, not time

KB4 = "123412341236"


def test_module_reads_hide_kojin_bango_without_its_grant(hub_server):
    srv, _ = hub_server
    hub = srv.hub
    with hub.engine.begin() as c:  # give the removed person (A4) a 個人番号 as well
        c.execute(sa.text("update juki_jumin set kojin_bango = :k where atena_no = :a"), {"k": KB4, "a": A4})
    # juki:modules:read was the old catch-all module scope: it must not unlock anything by itself.
    reader = add_client(hub, "vendor-reader", ["juki:modules:read", "juki:jumin:read"])
    tok = rest_token(srv.base, reader.client_id, reader.client_secret)
    h = {"Authorization": f"Bearer {tok}"}
    r = HTTP.get(f"{srv.base}/api/v1/juki/persons/{A2}", params={"history": "true"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["row"]["atena_no"] == A2 and r.json()["row"]["kojin_bango"] is None
    assert KB2 not in r.text and KB5 not in r.text
    r = HTTP.get(f"{srv.base}/api/v1/juki/removed", headers=h)
    assert r.status_code == 200, r.text
    assert [p["atena_no"] for p in r.json()["removed"]] == [A4]
    assert KB4 not in r.text
    removed_audit = [e for e in audit_rows(hub) if e.operation == "juki.removed.get"]
    assert removed_audit and removed_audit[-1].atena_nos == [A4] and removed_audit[-1].outcome == "ok"

    # With the separate grant the number is returned.
    mynum = add_client(hub, "vendor-mynumber", ["juki:jumin:read", "juki:kojin_bango:read"])
    h2 = {"Authorization": f"Bearer {rest_token(srv.base, mynum.client_id, mynum.client_secret)}"}
    assert HTTP.get(f"{srv.base}/api/v1/juki/persons/{A2}", headers=h2).json()["row"]["kojin_bango"] == KB2
    assert HTTP.get(f"{srv.base}/api/v1/juki/removed", headers=h2).json()["removed"][0]["kojin_bango"] == KB4
