"""Finding 5: module-route audit rows were written before the handler ran — 404/422/403 recorded as
ok, an injection string stored as a 宛名番号, EUC runs and merges with 0 subjects. Now the row is
written after the outcome, with the 宛名番号s actually disclosed or changed."""
from __future__ import annotations

import httpx

from api_helpers import A1, A2, A3, add_client, audit_rows, m11, rest_token

HTTP = httpx.Client(timeout=60)  # a loaded CI machine can be slow; the assertions are about answers, not time


def test_module_audit_records_the_real_outcome_and_subjects(hub_server):
    srv, _ = hub_server
    hub, base = srv.hub, srv.base
    c = add_client(hub, "vendor-audit", ["juki:jumin:read", "atena:identity:write", "euc:definition:write",
                                         "euc:run:write", "euc:tanto:read"])
    h = {"Authorization": f"Bearer {rest_token(base, c.client_id, c.client_secret)}"}
    missing = m11("999999999")
    assert HTTP.get(f"{base}/api/v1/juki/persons/{missing}", headers=h).status_code == 404
    inj = "0000100013' OR '1'='1"
    assert HTTP.get(f"{base}/api/v1/juki/persons/{inj}", headers=h).status_code == 422
    assert HTTP.get(f"{base}/api/v1/juki/stats", headers=h).status_code == 403          # no juki:stats:read
    assert HTTP.post(f"{base}/api/v1/atena/merge", json={"atena_nos": [A1, A2]}, headers=h).status_code == 201
    assert HTTP.put(f"{base}/api/v1/euc/definitions/e", json={"table": "juki_jumin", "items": ["atena_no"]},
                     headers=h).status_code == 200
    run = HTTP.post(f"{base}/api/v1/euc/definitions/e/run", headers=h)
    assert run.status_code == 201, run.text
    assert HTTP.get(f"{base}/api/v1/juki/persons/{A3}", headers=h).status_code == 200

    rows = [e for e in audit_rows(hub) if e.client_id == "vendor-audit"]
    by_op = {}
    for e in rows:
        by_op.setdefault(e.operation, []).append(e)
    persons = by_op["juki.persons.get"]
    assert [(e.outcome, e.atena_nos) for e in persons] == [("not_found", []), ("ok", [A3])]
    assert not any(inj in e.atena_nos or inj in (e.detail or "") or inj in e.operation for e in rows)
    assert any(e.outcome == "denied" and "juki:stats:read" in (e.detail or "") for e in rows)
    merge = by_op["atena.merge"]
    assert len(merge) == 1 and merge[0].outcome == "ok" and merge[0].atena_nos == sorted([A1, A2])
    with hub.engine.connect() as conn:
        import sqlalchemy as sa
        n = conn.execute(sa.text("select subject_count from kikan_audit where operation = 'euc.run'")).scalar()
    assert n == run.json()["row_count"] > 0
