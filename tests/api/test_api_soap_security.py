"""Hostile SOAP requests: each gets a Fault, the server stays up, no 個人番号 reaches the logs."""
from __future__ import annotations

import datetime as dt

import pytest
from zeep.exceptions import Fault

from api_helpers import A1, A2, KB2, KB5, envelope, fault_code, post_soap, wsse_header, zeep_client

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

BY_KB = f"<p:JuminJohoShokaiRequest><p:KojinBango>{KB2}</p:KojinBango></p:JuminJohoShokaiRequest>"
XXE = ('<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
          '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
          '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
          '<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>')


def still_up(srv, issued):
    c = zeep_client(srv.base, "vendor-full", issued["full"].soap_password)
    assert c.service.JuminJohoShokai(AtenaNo=A1).Count == 1


def no_mynumber_in_logs(srv):
    leaked = [line for line in srv.logs.lines if KB2 in line or KB5 in line]
    assert not leaked, leaked[:3]
    assert srv.logs.lines  # the capture works: the server did log the calls


def test_hostile_xml_rejected(hub_server):
    srv, issued = hub_server
    pw = issued["full"].soap_password
    hdr = lambda: wsse_header("vendor-full", pw)  # noqa: E731
    cases = {
        "xxe": (envelope(f"<p:JuminJohoShokaiRequest><p:AtenaNo>&xxe;</p:AtenaNo></p:JuminJohoShokaiRequest>",
                         hdr(), prolog=XXE), "CLIENT-DTD"),
        "laughs": (envelope(f"<p:JuminJohoShokaiRequest><p:AtenaNo>&lol9;</p:AtenaNo></p:JuminJohoShokaiRequest>",
                            hdr(), prolog=LAUGHS), "CLIENT-DTD"),
        "oversized": (envelope(BY_KB + "<!--" + "x" * (200 * 1024) + "-->", hdr()), "CLIENT-TOO-LARGE"),
        "wrong-ns": (envelope(f'<q:JuminJohoShokaiRequest xmlns:q="urn:other:v1"><q:KojinBango>{KB2}</q:KojinBango>'
                              f'</q:JuminJohoShokaiRequest>', hdr()), "CLIENT-UNKNOWN-OPERATION"),
        "soap12": (envelope(BY_KB, hdr(), env_ns="http://www.w3.org/2003/05/soap-envelope"), "VERSION-MISMATCH"),
        "not-xml": (b"<soap:Envelope><oops", "CLIENT-XML"),
        "schema": (envelope("<p:JuminJohoShokaiRequest><p:AtenaNo>12AB</p:AtenaNo></p:JuminJohoShokaiRequest>",
                            hdr()), "CLIENT-SCHEMA"),
        "mynumber-in-wrong-field": (envelope(f"<p:JuminJohoShokaiRequest><p:AtenaNo>{KB2}</p:AtenaNo>"
                                             f"</p:JuminJohoShokaiRequest>", hdr()), "CLIENT-SCHEMA"),
    }
    for name, (body, code) in cases.items():
        r = post_soap(srv.base, body)
        assert r.status_code == 500, name
        assert fault_code(r)[1] == code, (name, r.text[:300])
        assert "root:" not in r.text and "lollol" not in r.text
    still_up(srv, issued)
    no_mynumber_in_logs(srv)


def test_chunked_oversized_body_without_length(hub_server):
    import httpx
    srv, issued = hub_server

    def gen():
        yield envelope(BY_KB, wsse_header("vendor-full", issued["full"].soap_password))[:-20]
        for _ in range(100):
            yield b"<!--" + b"y" * 4096 + b"-->"
    r = httpx.post(f"{srv.base}/platform/soap", content=gen(), headers={"Content-Type": "text/xml"}, timeout=30)
    assert r.status_code == 500 and fault_code(r)[1] == "CLIENT-TOO-LARGE"
    still_up(srv, issued)


def test_username_token_rejections(hub_server):
    srv, issued = hub_server
    pw = issued["full"].soap_password
    now = dt.datetime.now(dt.timezone.utc)
    cases = {
        "missing": (envelope(BY_KB, ""), "wsse:InvalidSecurity", "WSSE-MISSING"),
        "stale": (envelope(BY_KB, wsse_header("vendor-full", pw, created=now - dt.timedelta(minutes=6))),
                  "wsse:MessageExpired", "WSSE-STALE"),
        "future": (envelope(BY_KB, wsse_header("vendor-full", pw, created=now + dt.timedelta(minutes=5))),
                   "wsse:MessageExpired", "WSSE-STALE"),
        "wrong-password": (envelope(BY_KB, wsse_header("vendor-full", "not-the-password")),
                           "wsse:FailedAuthentication", "WSSE-AUTH"),
        "unknown-user": (envelope(BY_KB, wsse_header("nobody", pw)), "wsse:FailedAuthentication", "WSSE-AUTH"),
        "password-text": (envelope(BY_KB, wsse_header("vendor-full", pw, digest=False)),
                          "wsse:UnsupportedSecurityToken", "WSSE-DIGEST-REQUIRED"),
    }
    for name, (body, faultcode, code) in cases.items():
        r = post_soap(srv.base, body)
        assert (r.status_code, fault_code(r)) == (500, (faultcode, code)), (name, r.text[:400])
    # replay: the very same token twice
    same = envelope(BY_KB, wsse_header("vendor-full", pw))
    assert post_soap(srv.base, same).status_code == 200
    r = post_soap(srv.base, same)
    assert fault_code(r) == ("wsse:FailedAuthentication", "WSSE-REPLAY")
    still_up(srv, issued)
    no_mynumber_in_logs(srv)


def test_zeep_stale_and_replayed_tokens_raise_faults(hub_server):
    srv, issued = hub_server
    pw = issued["full"].soap_password
    stale = zeep_client(srv.base, "vendor-full", pw,
                        created=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10))
    with pytest.raises(Fault) as e:
        stale.service.JuminJohoShokai(AtenaNo=A1)
    assert e.value.code == "wsse:MessageExpired"
    fixed = zeep_client(srv.base, "vendor-full", pw, nonce="fixed-nonce-0123456789",
                        created=dt.datetime.now(dt.timezone.utc))
    assert fixed.service.JuminJohoShokai(AtenaNo=A2).Count == 1
    with pytest.raises(Fault) as e:
        fixed.service.JuminJohoShokai(AtenaNo=A2)
    assert e.value.code == "wsse:FailedAuthentication"
    revoked = zeep_client(srv.base, "vendor-basic", issued["basic"].soap_password)
    srv.hub.clients.revoke("vendor-basic")
    with pytest.raises(Fault) as e:
        revoked.service.JuminJohoShokai(AtenaNo=A1)
    assert e.value.code == "wsse:FailedAuthentication"
    still_up(srv, issued)


def test_wsdl_and_xsd_served(hub_server):
    import httpx
    srv, _ = hub_server
    w = httpx.get(f"{srv.base}/platform/soap?wsdl")
    assert w.status_code == 200 and f'location="{srv.base}/platform/soap"' in w.text
    assert httpx.get(f"{srv.base}/platform/xsd/jumin-types.xsd").status_code == 200
    assert httpx.get(f"{srv.base}/platform/xsd/..%2F..%2Fserver.py").status_code == 404
