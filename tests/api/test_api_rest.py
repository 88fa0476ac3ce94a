"""REST/JSON under /api/v1 over a real uvicorn server: tokens, scopes, resources, linkage, schemathesis."""
from __future__ import annotations

import base64
import csv
import secrets
import time

import httpx
import jwt
import pytest

from api_helpers import A1, A2, A3, A4, JUMIN_ROWS, KB2, KB5, S1


def basic(cid, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()}


def get_token(base, cid, secret, scope=None):
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    r = httpx.post(f"{base}/api/v1/token", data=data, headers=basic(cid, secret))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"}


def test_token_basic_and_jwt_assertion(hub_server):
    srv, issued = hub_server
    full = issued["full"]
    r = httpx.post(f"{srv.base}/api/v1/token", data={"grant_type": "client_credentials", "scope": "juki:jumin:read"},
                   headers=basic("vendor-full", full.client_secret))
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["scope"] == "juki:jumin:read" and "refresh_token" not in body
    assert r.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300 and claims["sub"] == "vendor-full"
    # client_secret_jwt (RFC 7523, HS256 with the client secret)
    now = int(time.time())
    assertion = jwt.encode({"iss": "vendor-full", "sub": "vendor-full", "aud": f"{srv.base}/api/v1/token",
                            "iat": now, "exp": now + 60, "jti": secrets.token_hex(8)}, full.client_secret, "HS256")
    form = {"grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    r = httpx.post(f"{srv.base}/api/v1/token", data=form)
    assert r.status_code == 200, r.text
    r = httpx.post(f"{srv.base}/api/v1/token", data=form)  # same jti again
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    bad = jwt.encode({"iss": "vendor-full", "sub": "vendor-full", "aud": f"{srv.base}/api/v1/token", "iat": now,
                      "exp": now + 60, "jti": "x1"}, "wrong-secret-wrong-secret-wrong-secret", "HS256")
    assert httpx.post(f"{srv.base}/api/v1/token", data={**form, "client_assertion": bad}).status_code == 401
    # wrong secret, unknown grant, scope beyond the grant
    assert httpx.post(f"{srv.base}/api/v1/token", data={"grant_type": "client_credentials"},
                      headers=basic("vendor-full", "nope")).status_code == 401
    r = httpx.post(f"{srv.base}/api/v1/token", data={"grant_type": "password"},
                   headers=basic("vendor-full", full.client_secret))
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = httpx.post(f"{srv.base}/api/v1/token", data={"grant_type": "client_credentials", "scope": "kokuho:x:read"},
                   headers=basic("vendor-tax", issued["tax"].client_secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_tax_scope_gets_403_on_juki_and_no_kokuho_stub(hub_server):
    from kikan_hub.layouts.isl import all_tables
    srv, issued = hub_server
    tok = get_token(srv.base, "vendor-tax", issued["tax"].client_secret)
    r = httpx.get(f"{srv.base}/api/v1/kojin_juminzei/nozeigimusha/{A1}", headers=bearer(tok))
    assert r.status_code == 200 and r.json()["count"] == 0
    r = httpx.get(f"{srv.base}/api/v1/juki/residents/{A1}", headers=bearer(tok))
    assert r.status_code == 403 and "juki:jumin:read" in r.json()["detail"]
    assert "insufficient_scope" in r.headers["www-authenticate"]
    # 国保: the stub that always answered 404 is gone; its route exists exactly when a definition has the table
    r = httpx.get(f"{srv.base}/api/v1/kokuho/hihokensha/{A1}", headers=bearer(tok))
    if "kokuho_hihokensha" in all_tables():
        assert r.status_code == 403 and "kokuho:hihokensha:read" in r.json()["detail"]
    else:
        assert r.status_code == 404 and r.json()["detail"] == "Not Found"
    assert httpx.get(f"{srv.base}/api/v1/juki/residents/{A1}").status_code == 401
    assert httpx.get(f"{srv.base}/api/v1/juki/residents/{A1}", headers=bearer("x.y.z")).status_code == 401
    denied = srv.hub.audit.query(client_id="vendor-tax")
    assert any(a.outcome == "denied" for a in denied)


def test_resources_match_store(hub_server):
    srv, issued = hub_server
    h = bearer(get_token(srv.base, "vendor-full", issued["full"].client_secret))
    r = httpx.get(f"{srv.base}/api/v1/juki/residents/{A3}", params={"history": "true"}, headers=h).json()
    assert [x["rireki_no"] for x in r["items"]] == [2, 1] and r["items"][0]["setai_no"] != S1
    r = httpx.post(f"{srv.base}/api/v1/juki/residents/search", json={"kojin_bango": KB2}, headers=h).json()
    assert [x["atena_no"] for x in r["items"]] == [A2] and r["items"][0]["kojin_bango"] == KB2
    r = httpx.post(f"{srv.base}/api/v1/juki/residents/search",
                   json={"shimei_kana": "カクウ タロウ", "birth_date": "1970-05-01"}, headers=h).json()
    assert [x["atena_no"] for x in r["items"]] == [A1]
    r = httpx.get(f"{srv.base}/api/v1/juki/households/{S1}", params={"as_of": "2018-01-01"}, headers=h).json()
    assert [m["atena_no"] for m in r["members"]] == [A1, A2, A3, A4] and r["setai"]["setainushi_atena_no"] == A1
    page = httpx.get(f"{srv.base}/api/v1/juki/changes", params={"limit": 4}, headers=h).json()
    assert page["count"] == 4 and page["has_more"] is True
    rest = httpx.get(f"{srv.base}/api/v1/juki/changes", params={"since_serial": page["next_serial"]}, headers=h).json()
    assert page["count"] + rest["count"] == len(JUMIN_ROWS) and rest["has_more"] is False
    # without juki:kojin_bango:read the number is withheld and the look-up refused
    hb = bearer(get_token(srv.base, "vendor-basic", issued["basic"].client_secret))
    r = httpx.get(f"{srv.base}/api/v1/juki/residents/{A2}", headers=hb).json()
    assert r["items"][0]["kojin_bango"] is None
    assert httpx.post(f"{srv.base}/api/v1/juki/residents/search", json={"kojin_bango": KB5},
                      headers=hb).status_code == 403
    assert not any(KB2 in line or KB5 in line for line in srv.logs.lines)
    assert any("/api/v1/juki/residents/search" in line for line in srv.logs.lines)  # access log captured


def test_revoked_and_rotated_clients(hub_server):
    srv, issued = hub_server
    tok = get_token(srv.base, "vendor-basic", issued["basic"].client_secret)
    srv.hub.clients.revoke("vendor-basic")
    time.sleep(2.1)  # registry cache
    assert httpx.get(f"{srv.base}/api/v1/juki/residents/{A1}", headers=bearer(tok)).status_code == 401
    r = httpx.post(f"{srv.base}/api/v1/token", data={"grant_type": "client_credentials"},
                   headers=basic("vendor-basic", issued["basic"].client_secret))
    assert r.status_code == 401
    old = get_token(srv.base, "vendor-full", issued["full"].client_secret)
    new = srv.hub.clients.rotate("vendor-full")
    assert new.client_secret != issued["full"].client_secret
    assert httpx.get(f"{srv.base}/api/v1/juki/residents/{A1}", headers=bearer(old)).status_code == 401
    assert httpx.post(f"{srv.base}/api/v1/token", data={"grant_type": "client_credentials"},
                      headers=basic("vendor-full", issued["full"].client_secret)).status_code == 401
    tok = get_token(srv.base, "vendor-full", new.client_secret)
    assert httpx.get(f"{srv.base}/api/v1/juki/residents/{A1}", headers=bearer(tok)).status_code == 200


def test_csv_linkage(hub_server):
    srv, issued = hub_server
    h = bearer(get_token(srv.base, "vendor-full", issued["full"].client_secret, scope="juki:linkage:write"))
    r = httpx.post(f"{srv.base}/api/v1/linkage/csv", json={"since_serial": 0, "dir": "out1"}, headers=h)
    assert r.status_code == 200, r.text
    res = r.json()
    assert not res["file"].startswith("/")  # the place under the linkage root, not the server path
    with open(srv.hub.linkage_dir / res["file"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert res["count"] == len(rows) == len(JUMIN_ROWS)
    assert "kojin_bango" not in rows[0]  # the token was narrowed to juki:linkage:write only
    assert {(x["atena_no"], int(x["rireki_no"])) for x in rows} == {(x["atena_no"], x["rireki_no"]) for x in JUMIN_ROWS}
    again = httpx.post(f"{srv.base}/api/v1/linkage/csv", json={"since_serial": res["next_serial"], "dir": "out1"},
                       headers=h).json()
    assert again["count"] == 0
    for bad in ("../escape", "..", "/etc", "a/b"):
        assert httpx.post(f"{srv.base}/api/v1/linkage/csv", json={"dir": bad}, headers=h).status_code == 422


def test_openapi_published(hub_server):
    srv, _ = hub_server
    spec = httpx.get(f"{srv.base}/openapi.json", timeout=60).json()  # built on first request: slow on a busy machine
    assert {"/api/v1/token", "/api/v1/juki/residents/{atena_no}", "/api/v1/juki/households/{setai_no}",
            "/api/v1/juki/changes", "/api/v1/linkage/csv"} <= set(spec["paths"])
    props = spec["components"]["schemas"]["Jumin"]["properties"]
    assert props["atena_no"]["description"] == "宛名番号" and "birth_date_literal" in props


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_schemathesis_finds_no_5xx(hub_server):
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from kikan_hub.api.server import create_app
    srv, issued = hub_server
    app = create_app(srv.hub, docs=True)
    tok = get_token(srv.base, "vendor-full", issued["full"].client_secret)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) >= 7
    for op in ops:
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            for headers in ({"Authorization": f"Bearer {tok}"}, {}):
                resp = case.call(headers=headers)
                if resp.status_code >= 500:
                    failures.append((op.label, resp.status_code, case.path_parameters, case.query, case.body))
        run()
    assert not failures, failures[:5]
