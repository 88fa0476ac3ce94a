"""Finding 4: unhandled 500s — scope=foo at the token endpoint, a JWT assertion with a string exp, a
SOAP BirthDate of -2024-01-01. Each is now a 4xx / SOAP Client fault with a problem body."""
from __future__ import annotations

import time
import uuid

import httpx
import jwt

from api_helpers import S1, envelope, fault_code, post_soap, wsse_header
from test_api_rest import basic

HTTP = httpx.Client(timeout=60)  # a loaded CI machine can be slow; the assertions are about answers, not time


def test_malformed_scope_is_invalid_scope(hub_server):
    srv, issued = hub_server
    for scope in ("foo", "juki:jumin", "a:b:c:d", "juki:jumin:delete"):
        r = HTTP.post(f"{srv.base}/api/v1/token", data={"grant_type": "client_credentials", "scope": scope},
                       headers=basic("vendor-full", issued["full"].client_secret))
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope", (scope, r.text)


def test_assertion_with_string_exp_is_refused(hub_server):
    srv, issued = hub_server
    secret = issued["full"].client_secret
    for exp in (str(int(time.time()) + 60), "soon", [1], {"a": 1}):
        claims = {"iss": "vendor-full", "sub": "vendor-full", "aud": "kikan-hub/api/v1", "exp": exp,
                  "jti": uuid.uuid4().hex}
        assertion = jwt.encode(claims, secret, algorithm="HS256")
        r = HTTP.post(f"{srv.base}/api/v1/token", data={
            "grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", (exp, r.text)
    # A jti that is not a string is refused too (it keys the replay cache).
    claims = {"iss": "vendor-full", "sub": "vendor-full", "aud": "kikan-hub/api/v1", "exp": int(time.time()) + 60,
              "jti": {"x": 1}}
    r = HTTP.post(f"{srv.base}/api/v1/token", data={
        "grant_type": "client_credentials", "client_assertion": jwt.encode(claims, secret, algorithm="HS256"),
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert r.status_code == 401, r.text


def test_soap_dates_outside_python_range_are_client_faults(hub_server):
    srv, issued = hub_server
    full = issued["full"]
    for birth in ("-2024-01-01", "10000-01-01", "0000-01-01"):
        payload = (f"<p:JuminJohoShokaiRequest><p:ShimeiKana>カクウ タロウ</p:ShimeiKana>"
                   f"<p:BirthDate>{birth}</p:BirthDate></p:JuminJohoShokaiRequest>")
        r = post_soap(srv.base, envelope(payload, wsse_header(full.client_id, full.soap_password)))
        code, detail = fault_code(r)
        assert code == "soap:Client", (birth, r.text)
        assert detail in ("CLIENT-VALUE", "CLIENT-SCHEMA"), (birth, detail)
    payload = (f"<p:SetaiKoseiShokaiRequest><p:SetaiNo>{S1}</p:SetaiNo><p:KijunDate>-0001-01-01</p:KijunDate>"
               "</p:SetaiKoseiShokaiRequest>")
    r = post_soap(srv.base, envelope(payload, wsse_header(full.client_id, full.soap_password)), "SetaiKoseiShokai")
    assert fault_code(r)[0] == "soap:Client", r.text
    assert not [line for line in srv.logs.lines if "Traceback" in line]
