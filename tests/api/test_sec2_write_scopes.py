"""Finding 2: a read scope wrote (POST /atena/merge → 201) and crossed 業務 (an EUC definition over
zei_kojin_shotoku, run by a token the tax route refuses). Writes need write scopes; an EUC
definition may only name a table its caller can read."""
from __future__ import annotations

import httpx

from api_helpers import A1, A2, add_client, rest_token

HTTP = httpx.Client(timeout=60)  # a loaded CI machine can be slow; the assertions are about answers, not time

READS = ["juki:modules:read", "juki:jumin:read", "atena:identity:read", "euc:definition:read", "euc:run:read",
         "euc:tanto:read"]


def _h(srv, client):
    return {"Authorization": f"Bearer {rest_token(srv.base, client.client_id, client.client_secret)}"}


def test_reads_cannot_write_and_euc_stays_inside_the_callers_gyomu(hub_server):
    srv, issued = hub_server
    hub, base = srv.hub, srv.base
    reader = _h(srv, add_client(hub, "vendor-reader", READS))
    r = HTTP.post(f"{base}/api/v1/atena/merge", json={"atena_nos": [A1, A2], "reason": "同一人"}, headers=reader)
    assert r.status_code == 403, r.text
    assert HTTP.get(f"{base}/api/v1/atena/decisions", headers=reader).json() == []   # nothing was written
    tax_def = {"table": "zei_kojin_shotoku", "items": ["atena_no", "shotoku_kingaku"]}
    assert HTTP.put(f"{base}/api/v1/euc/definitions/t", json=tax_def, headers=reader).status_code == 403

    # A 住民記録 EUC writer may define and run extractions over juki tables, never over 個人住民税 ones.
    juki_euc = _h(srv, add_client(hub, "vendor-juki-euc", READS + ["euc:definition:write", "euc:run:write"]))
    assert HTTP.put(f"{base}/api/v1/euc/definitions/t", json=tax_def, headers=juki_euc).status_code == 403
    ok = HTTP.put(f"{base}/api/v1/euc/definitions/j", json={"table": "juki_jumin", "items": ["atena_no", "shimei"]},
                   headers=juki_euc)
    assert ok.status_code == 200, ok.text
    # A definition over a tax table saved by a tax client cannot be run by the juki client.
    tax_euc = _h(srv, add_client(hub, "vendor-tax-euc", ["kojin_juminzei:shotoku:read", "euc:definition:write",
                                                        "euc:run:write", "euc:tanto:read"]))
    assert HTTP.put(f"{base}/api/v1/euc/definitions/t", json=tax_def, headers=tax_euc).status_code == 200
    r = HTTP.post(f"{base}/api/v1/euc/definitions/t/run", headers=juki_euc)
    assert r.status_code == 403 and "kojin_juminzei:shotoku:read" in r.json()["detail"], r.text
    # The same route for the token that holds the tax scope.
    assert HTTP.post(f"{base}/api/v1/euc/definitions/t/run", headers=tax_euc).status_code == 201
    # And the write scope lets a merge through.
    writer = _h(srv, add_client(hub, "vendor-meiyose", ["atena:identity:write"]))
    assert HTTP.post(f"{base}/api/v1/atena/merge", json={"atena_nos": [A1, A2], "reason": "同一人"},
                      headers=writer).status_code == 201
