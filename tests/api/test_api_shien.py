"""支援措置 (jyuki-stnd j160, j410, j440): a 支援対象者 is never returned by REST, SOAP (zeep over HTTP) or
the modules' routes without the scope juki:shien_sochi:read, and every attempt is audited
(withheld or disclosed, with the 宛名番号), on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from sqlalchemy import insert, update

from api_helpers import A1, A2, A3, S1, zeep_client
from test_api_rest import bearer, get_token

JUKI_READ = ["juki:jumin:read", "juki:setai:read", "juki:idou:read", "juki:atena:read"]


@pytest.fixture
def shien_server(hub_server):
    """A2 (架空 花子, in 世帯 S1 with A1) is a 支援対象者: the flag on her rows and a 支援措置 row."""
    srv, issued = hub_server
    from kikan_hub.store.schema import build_metadata

    md = build_metadata()
    with srv.hub.engine.begin() as c:
        c.execute(update(md.tables["juki_jumin"]).where(md.tables["juki_jumin"].c.atena_no == A2).values(shien_taisho=True))
        c.execute(insert(md.tables["juki_shien_sochi"]).values(
            atena_no=A2, sochi_renban=1, taisho_kubun="1", moushide_date=dt.date(2024, 1, 5), jotai="2",
            kaishi_date=dt.date(2024, 1, 10), shuryo_date=dt.date(2025, 1, 9)))
    issued["shien"] = srv.hub.clients.add("vendor-shien", "支援措置の照会権限あり", JUKI_READ + ["juki:shien_sochi:read"])
    issued["mod"] = srv.hub.clients.add("vendor-mod", "業務モジュール", ["juki:jumin:read", "atena:identity:read"])
    issued["mod_shien"] = srv.hub.clients.add("vendor-mod-shien", "業務モジュール＋支援措置",
                                              ["juki:jumin:read", "atena:identity:read", "juki:shien_sochi:read"])
    return srv, issued


def _audit(srv, client_id: str, outcome: str) -> list:
    time.sleep(0.3)   # the audit writer commits in groups
    return [e for e in srv.hub.audit.query(client_id=client_id) if e.outcome == outcome]


def test_rest_withholds_and_audits_without_the_scope(shien_server):
    srv, issued = shien_server
    basic, full = issued["basic"], issued["shien"]
    tb = bearer(get_token(srv.base, basic.client_id, basic.client_secret))
    ts = bearer(get_token(srv.base, full.client_id, full.client_secret))
    r = httpx.get(f"{srv.base}/api/v1/juki/residents/{A2}", headers=tb).json()
    assert r["count"] == 0 and A2 not in str(r)
    r = httpx.post(f"{srv.base}/api/v1/juki/residents/search", headers=tb,
                   json={"shimei_kana": "カクウ ハナコ", "birth_date": "1972-08-09"}).json()
    assert r["count"] == 0
    # the household's address is hers: the whole household is withheld
    h = httpx.get(f"{srv.base}/api/v1/juki/households/{S1}", params={"as_of": "2012-01-01"}, headers=tb).json()
    assert h["count"] == 0 and h["setai"] is None and "架空市本町" not in str(h)
    ch = httpx.get(f"{srv.base}/api/v1/juki/changes", headers=tb).json()
    assert ch["count"] > 0 and all(i["resident"]["atena_no"] != A2 for i in ch["items"])
    withheld = _audit(srv, basic.client_id, "shien_withheld")
    assert {e.operation for e in withheld} >= {"residents.get", "residents.search", "households.get", "changes.get"}
    assert all(e.atena_nos == [A2] for e in withheld)
    # with the scope: returned, and audited as disclosed
    r = httpx.get(f"{srv.base}/api/v1/juki/residents/{A2}", headers=ts).json()
    assert r["count"] == 1 and r["items"][0]["shien_taisho"] is True
    h = httpx.get(f"{srv.base}/api/v1/juki/households/{S1}", params={"as_of": "2012-01-01"}, headers=ts).json()
    assert A2 in [m["atena_no"] for m in h["members"]]
    assert {e.operation for e in _audit(srv, full.client_id, "shien_disclosed")} >= {"residents.get", "households.get"}
    # other residents are not affected
    assert httpx.get(f"{srv.base}/api/v1/juki/residents/{A3}", headers=tb).json()["count"] == 1


def test_soap_withholds_and_audits_without_the_scope(shien_server):
    srv, issued = shien_server
    c = zeep_client(srv.base, "vendor-basic", issued["basic"].soap_password)
    assert c.service.JuminJohoShokai(AtenaNo=A2).Count == 0
    assert c.service.SetaiKoseiShokai(SetaiNo=S1, KijunDate=dt.date(2012, 1, 1)).Count == 0
    idou = c.service.IdouJohoShutoku(SinceSerial=0, PageSize=100)
    assert all(i.Jumin.atena_no != A2 for i in idou.Idou)
    at = c.service.AtenaJohoShokai(AtenaNo=[A1, A2])
    assert [a.atena_no for a in at.Atena] == [A1]
    ops = {e.operation for e in _audit(srv, "vendor-basic", "shien_withheld")}
    assert ops >= {"JuminJohoShokai", "SetaiKoseiShokai", "IdouJohoShutoku", "AtenaJohoShokai"}
    s = zeep_client(srv.base, "vendor-shien", issued["shien"].soap_password)
    r = s.service.JuminJohoShokai(AtenaNo=A2)
    assert r.Count == 1 and r.Jumin[0].atena_no == A2
    assert _audit(srv, "vendor-shien", "shien_disclosed")


def test_modules_routes_withhold_without_the_scope(shien_server):
    srv, issued = shien_server
    mod, mod_s = issued["mod"], issued["mod_shien"]
    t = bearer(get_token(srv.base, mod.client_id, mod.client_secret))
    # withheld exactly like a 宛名番号 with no record (a 403 would tell that a 支援対象者 lives here)
    r = httpx.get(f"{srv.base}/api/v1/juki/persons/{A2}", headers=t)
    assert r.status_code == 404 and "花子" not in r.text
    r = httpx.get(f"{srv.base}/api/v1/atena/identities/{A2}", headers=t)
    assert r.status_code == 404
    assert _audit(srv, mod.client_id, "shien_withheld")
    ts = bearer(get_token(srv.base, mod_s.client_id, mod_s.client_secret))
    r = httpx.get(f"{srv.base}/api/v1/juki/persons/{A2}", headers=ts)
    assert r.status_code == 200 and A2 in r.text
    assert _audit(srv, mod_s.client_id, "shien_disclosed")
