"""Finding 7: no throttling (50 wrong secrets in 2.9 s, then a valid login), client ids told apart by
timing (scrypt ran only for known ids), sequential 宛名番号 enumerable."""
from __future__ import annotations

import hashlib

import httpx
import pytest

from api_helpers import envelope, m11, post_soap, rest_token, set_throttle, wsse_header
from test_api_rest import basic

from kikan_hub.api.auth.throttle import ThrottlePolicy

HTTP = httpx.Client(timeout=60)  # a loaded CI machine can be slow; the assertions are about answers, not time


def _token(base, cid, secret):
    return HTTP.post(f"{base}/api/v1/token", data={"grant_type": "client_credentials"}, headers=basic(cid, secret))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_repeated_wrong_secrets_are_throttled_even_for_the_right_one(hub_server):
    srv, issued = hub_server
    limit = ThrottlePolicy().auth_failures_per_client
    codes = [_token(srv.base, "vendor-full", f"wrong-{i}").status_code for i in range(limit + 5)]
    assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}, codes
    r = _token(srv.base, "vendor-full", issued["full"].client_secret)   # the right secret, now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # Other clients are not locked out by it.
    assert _token(srv.base, "vendor-basic", issued["basic"].client_secret).status_code == 200
    # Failed authentications are audited (claimed client id, source address).
    fails = [e for e in srv.hub.audit.query(client_id="vendor-full") if e.outcome == "auth_failed"]
    assert len(fails) == limit


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_per_address_and_soap_failures_are_throttled(hub_server):
    srv, issued = hub_server
    set_throttle(srv.hub, ThrottlePolicy(auth_failures_per_client=3, auth_failures_per_address=6))
    codes = [_token(srv.base, f"nobody-{i}", "x").status_code for i in range(8)]   # a new id every time
    assert codes[:6] == [401] * 6 and codes[6:] == [429, 429], codes
    set_throttle(srv.hub, ThrottlePolicy(auth_failures_per_client=3, auth_failures_per_address=100))
    full = issued["full"]
    body = envelope(f"<p:JuminJohoShokaiRequest><p:AtenaNo>{m11('000010000')}</p:AtenaNo></p:JuminJohoShokaiRequest>",
                    wsse_header(full.client_id, "wrong-password"))
    statuses = [post_soap(srv.base, body).status_code for _ in range(4)]
    assert statuses == [500, 500, 500, 429], statuses
    good = envelope("<p:JuminJohoShokaiRequest><p:AtenaNo>0000100013</p:AtenaNo></p:JuminJohoShokaiRequest>",
                    wsse_header(full.client_id, full.soap_password))
    r = post_soap(srv.base, good)
    assert r.status_code == 429 and b"CLIENT-THROTTLED" in r.content and r.headers["retry-after"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_known_and_unknown_ids_cost_the_same(hub_server, monkeypatch):
    """The secret check does the same work for a known id with a wrong secret and for an unknown id:
    counted in scrypt evaluations (the expensive step that told them apart), not in milliseconds."""
    srv, issued = hub_server
    calls = []
    real = hashlib.scrypt

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)
    monkeypatch.setattr(hashlib, "scrypt", counting)
    assert _token(srv.base, "vendor-full", issued["full"].client_secret).status_code == 200
    for cid in ("vendor-basic", "no-such-client"):
        calls.clear()
        assert _token(srv.base, cid, "wrong-secret").status_code == 401
        assert len(calls) == 0, (cid, len(calls))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_walking_the_atena_number_space_is_throttled(hub_server):
    srv, issued = hub_server
    set_throttle(srv.hub, ThrottlePolicy(not_found_per_client=5))
    h = {"Authorization": f"Bearer {rest_token(srv.base, 'vendor-basic', issued['basic'].client_secret)}"}
    codes = [HTTP.get(f"{srv.base}/api/v1/juki/residents/{m11(f'{900000000 + i:09d}')}", headers=h).status_code
             for i in range(7)]
    assert codes == [200] * 5 + [429, 429], codes
    # A SOAP look-up by the same client is refused too, with Retry-After.
    b = issued["basic"]
    body = envelope("<p:JuminJohoShokaiRequest><p:AtenaNo>0000100013</p:AtenaNo></p:JuminJohoShokaiRequest>",
                    wsse_header(b.client_id, b.soap_password))
    assert post_soap(srv.base, body).status_code == 429
