"""Household and person "as of a date": SOAP (zeep over HTTP), REST and `kikan juki` give one answer.

The case that split them before issue 12: a person whose 異動日 is unknown (j80 不詳日; here a 死亡 with
異動日 「令和4年頃」, 処理日 2023-01-10) asked as of 2022-06-01. SOAP/REST used the 処理日 and still
counted her in the household; the CLI took the change as early as the history allows. One rule now
(kikan_hub/modules/asof.py, docs/interfaces.md "As of a date"): the change is in effect from the
latest known 異動日 before it, and every answer says the result rests on an unknown date.
"""
from __future__ import annotations

import datetime as dt
import json

import httpx
from sqlalchemy import insert
from typer.testing import CliRunner

from api_helpers import A1, A2, A3, S1, jumin_row, m11, rest_token, zeep_client
from kikan_hub.api.cli_modules import juki_app

A6 = m11("000010006")
ASKED = dt.date(2022, 6, 1)


def _add_person_with_unknown_idou_date(engine) -> None:
    from kikan_hub.store.schema import build_metadata
    known = jumin_row(A6, 1, S1, "架空 梅子", "カクウ ウメコ", dt.date(1940, 3, 3), "10", "11", dt.date(2010, 4, 1),
                      seibetsu="2")
    died = jumin_row(A6, 2, S1, "架空 梅子", "カクウ ウメコ", dt.date(1940, 3, 3), "10", "23", dt.date(2010, 4, 1),
                     seibetsu="2", jotai="3", shojo="23")
    died.update(idou_date=None, idou_date_unknown=True, idou_date_literal="令和4年頃", shori_date=dt.date(2023, 1, 10),
                todokede_date=dt.date(2023, 1, 10))
    with engine.begin() as conn:
        conn.execute(insert(build_metadata().tables["juki_jumin"]), [known, died])


def test_unknown_idou_date_same_household_over_soap_rest_and_cli(hub_server, store_url):
    srv, issued = hub_server
    _add_person_with_unknown_idou_date(srv.hub.engine)
    basic = issued["basic"]

    soap = zeep_client(srv.base, "vendor-basic", basic.soap_password).service.SetaiKoseiShokai(
        SetaiNo=S1, KijunDate=ASKED)
    soap_members = [m.atena_no for m in soap.Member]
    soap_uncertain = list(soap.DateUncertain or [])

    tok = rest_token(srv.base, "vendor-basic", basic.client_secret)
    r = httpx.get(f"{srv.base}/api/v1/juki/households/{S1}", params={"as_of": ASKED.isoformat()},
                  headers={"Authorization": f"Bearer {tok}"}, timeout=30)
    assert r.status_code == 200, r.text
    rest_members = [m["atena_no"] for m in r.json()["members"]]
    rest_uncertain = r.json()["date_uncertain"]

    out = CliRunner().invoke(juki_app, ["household", S1, "--as-of", ASKED.isoformat(), "--store", store_url, "--json"])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    cli_members = [m["atena_no"] for m in cli["members"]]

    # The death is taken to have happened by the last known 異動日 before it (2010-04-01): not a member,
    # and the answer says it rests on an unknown date. A4 moved out in 2019; A3 moved to S2 in 2022-04.
    assert soap_members == rest_members == cli_members == [A1, A2]
    assert soap_uncertain == rest_uncertain == cli["date_uncertain"] == [A6]
    assert soap.Setai.setainushi_atena_no == r.json()["setai"]["setainushi_atena_no"] == cli["setai"]["setainushi_atena_no"]
    assert A3 not in cli_members


def test_unknown_idou_date_same_person_over_soap_rest_and_cli(hub_server, store_url):
    srv, issued = hub_server
    _add_person_with_unknown_idou_date(srv.hub.engine)
    full = issued["full"]
    soap = zeep_client(srv.base, "vendor-full", full.soap_password).service.JuminJohoShokai(
        AtenaNo=A6, KijunDate=ASKED)
    tok = rest_token(srv.base, "vendor-full", full.client_secret, "juki:jumin:read")
    r = httpx.get(f"{srv.base}/api/v1/juki/persons/{A6}", params={"as_of": ASKED.isoformat()},
                  headers={"Authorization": f"Bearer {tok}"}, timeout=30)
    assert r.status_code == 200, r.text
    out = CliRunner().invoke(juki_app, ["person", A6, "--as-of", ASKED.isoformat(), "--store", store_url, "--json"])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    assert soap.Count == 1 and soap.Jumin[0].rireki_no == r.json()["row"]["rireki_no"] == cli["row"]["rireki_no"] == 2
    assert soap.DateUncertain == [A6] and r.json()["date_uncertain"] is cli["date_uncertain"] is True
    assert r.json()["resident"] is cli["resident"] is False


def test_a_shien_taisho_is_not_named_as_date_uncertain(hub_server):
    """支援措置 (j160): the date-uncertain list must not tell that a 支援対象者 was in this household."""
    from kikan_hub.store.schema import build_metadata
    srv, issued = hub_server
    _add_person_with_unknown_idou_date(srv.hub.engine)
    with srv.hub.engine.begin() as conn:
        conn.execute(insert(build_metadata().tables["juki_shien_sochi"]), [{"atena_no": A6, "sochi_renban": 1}])
    basic = issued["basic"]
    soap = zeep_client(srv.base, "vendor-basic", basic.soap_password).service.SetaiKoseiShokai(
        SetaiNo=S1, KijunDate=ASKED)
    tok = rest_token(srv.base, "vendor-basic", basic.client_secret)
    r = httpx.get(f"{srv.base}/api/v1/juki/households/{S1}", params={"as_of": ASKED.isoformat()},
                  headers={"Authorization": f"Bearer {tok}"}, timeout=30).json()
    assert [m.atena_no for m in soap.Member] == [m["atena_no"] for m in r["members"]] == [A1, A2]
    assert not soap.DateUncertain and r["date_uncertain"] == []
    withheld = [a for a in srv.hub.audit.query(limit=1000) if a.outcome == "shien_withheld"]
    assert {a.interface for a in withheld} == {"soap", "rest"} and all(a.atena_nos == [A6] for a in withheld)
