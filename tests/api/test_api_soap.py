"""Every SOAP operation through zeep from the served WSDL, against a filled store (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert
from zeep.exceptions import Fault

from api_helpers import (A1, A2, A3, A4, A5, JUMIN_ROWS, KB2, KB5, S1, S2, jumin_row, zeep_client)


def current(atena):
    return max((r for r in JUMIN_ROWS if r["atena_no"] == atena), key=lambda r: r["rireki_no"])


def test_jumin_by_atena_matches_store(hub_server):
    srv, issued = hub_server
    c = zeep_client(srv.base, "vendor-full", issued["full"].soap_password)
    r = c.service.JuminJohoShokai(AtenaNo=A3)
    assert r.Count == 1
    got, want = r.Jumin[0], current(A3)
    for k in ("atena_no", "rireki_no", "setai_no", "shimei", "shimei_kana", "birth_date", "zokugara", "idou_jiyu",
              "idou_date", "jusho", "shori_date"):
        assert getattr(got, k) == want[k], k
    hist = c.service.JuminJohoShokai(AtenaNo=A3, IncludeHistory=True)
    assert [j.rireki_no for j in hist.Jumin] == [2, 1]
    none = c.service.JuminJohoShokai(AtenaNo="0000000000")
    assert none.Count == 0


def test_jumin_by_kojin_bango_and_by_kana_birth(hub_server):
    srv, issued = hub_server
    c = zeep_client(srv.base, "vendor-full", issued["full"].soap_password)
    r = c.service.JuminJohoShokai(KojinBango=KB2)
    assert r.Count == 1 and r.Jumin[0].atena_no == A2 and r.Jumin[0].kojin_bango == KB2
    r = c.service.JuminJohoShokai(ShimeiKana="カクウ イチロウ", BirthDate=dt.date(2015, 6, 1))
    assert [j.atena_no for j in r.Jumin] == [A3] and r.Jumin[0].rireki_no == 2
    # 不詳日: no ISO date, the literal and the flag are kept; 𠮷 (outside the BMP) survives
    r = c.service.JuminJohoShokai(AtenaNo=A5)
    j = r.Jumin[0]
    assert j.birth_date is None and j.birth_date_literal == "昭和○年頃" and j.birth_date_unknown is True
    assert j.shimei == "見本 𠮷子"


def test_kojin_bango_needs_its_own_scope(hub_server):
    srv, issued = hub_server
    c = zeep_client(srv.base, "vendor-basic", issued["basic"].soap_password)
    r = c.service.JuminJohoShokai(AtenaNo=A2)
    assert r.Jumin[0].kojin_bango is None  # withheld without juki:kojin_bango:read
    with pytest.raises(Fault) as e:
        c.service.JuminJohoShokai(KojinBango=KB2)
    assert e.value.code == "soap:Client" and "juki:kojin_bango:read" in e.value.message
    tax = zeep_client(srv.base, "vendor-tax", issued["tax"].soap_password)
    with pytest.raises(Fault):
        tax.service.JuminJohoShokai(AtenaNo=A1)


def test_setai_kosei_as_of_date(hub_server):
    srv, issued = hub_server
    c = zeep_client(srv.base, "vendor-full", issued["full"].soap_password)
    r = c.service.SetaiKoseiShokai(SetaiNo=S1, KijunDate=dt.date(2018, 1, 1))
    assert r.Setai.setainushi_atena_no == A1
    assert [m.atena_no for m in r.Member] == [A1, A2, A3, A4]  # 世帯主 first
    r = c.service.SetaiKoseiShokai(SetaiNo=S1, KijunDate=dt.date(2023, 1, 1))
    assert [m.atena_no for m in r.Member] == [A1, A2]  # A3 moved to S2 in 2022, A4 moved out in 2019
    r = c.service.SetaiKoseiShokai(SetaiNo=S2, KijunDate=dt.date(2023, 1, 1))
    assert [m.atena_no for m in r.Member] == [A3] and r.Member[0].zokugara == "01"
    r = c.service.SetaiKoseiShokai(SetaiNo=S2, KijunDate=dt.date(2021, 1, 1))
    assert r.Count == 0 and r.Setai is None
    r = c.service.SetaiKoseiShokai(SetaiNo=S1)  # today
    assert r.KijunDate == dt.date.today() and r.Count == 2


def test_idou_paged_and_incremental(hub_server):
    srv, issued = hub_server
    c = zeep_client(srv.base, "vendor-full", issued["full"].soap_password)
    seen, after = [], 0
    while True:
        r = c.service.IdouJohoShutoku(SinceSerial=after, PageSize=3)
        assert r.Count <= 3
        seen += [(i.Serial, i.Jumin.atena_no, i.Jumin.rireki_no) for i in (r.Idou or [])]
        after = r.NextSerial
        if not r.HasMore:
            break
    serials = [s for s, _, _ in seen]
    assert serials == sorted(serials) and len(set(serials)) == len(serials)
    assert sorted((a, n) for _, a, n in seen) == sorted((x["atena_no"], x["rireki_no"]) for x in JUMIN_ROWS)
    # nothing new → empty page with the same cursor
    r = c.service.IdouJohoShutoku(SinceSerial=after)
    assert r.Count == 0 and r.NextSerial == after and r.HasMore is False
    # a new history row appears after the cursor, once
    from kikan_hub.store.schema import build_metadata
    with srv.hub.engine.begin() as conn:
        conn.execute(insert(build_metadata().tables["juki_jumin"]),
                     [jumin_row(A1, 2, S1, "架空 太郎", "カクウ タロウ", dt.date(1970, 5, 1), "01", "41",
                                dt.date(2024, 2, 1), run="run-2")])
    r = c.service.IdouJohoShutoku(SinceSerial=after)
    assert [(i.Jumin.atena_no, i.Jumin.rireki_no) for i in r.Idou] == [(A1, 2)] and r.NextSerial > after
    # since a 処理日
    r = c.service.IdouJohoShutoku(SinceDate=dt.date(2022, 1, 1))
    assert sorted((i.Jumin.atena_no, i.Jumin.rireki_no) for i in r.Idou) == [(A1, 2), (A3, 2)]


def test_atena_joho(hub_server):
    srv, issued = hub_server
    c = zeep_client(srv.base, "vendor-full", issued["full"].soap_password)
    r = c.service.AtenaJohoShokai(AtenaNo=[A4, A1, "0000000000"])
    assert [a.atena_no for a in r.Atena] == [A1, A4]
    assert r.Atena[1].jumin_jotai == "2"
    assert not hasattr(r.Atena[0], "kojin_bango")  # not part of the 宛名 projection


def test_reads_are_audited(hub_server):
    srv, issued = hub_server
    c = zeep_client(srv.base, "vendor-full", issued["full"].soap_password)
    c.service.JuminJohoShokai(KojinBango=KB5)
    c.service.SetaiKoseiShokai(SetaiNo=S1, KijunDate=dt.date(2018, 1, 1))
    rows = srv.hub.audit.query(atena_no=A5)
    assert [(r.client_id, r.interface, r.operation, r.outcome) for r in rows] == \
        [("vendor-full", "soap", "JuminJohoShokai", "ok")]
    rows = srv.hub.audit.query(client_id="vendor-full", atena_no=A4)
    assert rows and rows[-1].operation == "SetaiKoseiShokai" and set(rows[-1].atena_nos) == {A1, A2, A3, A4}
    assert all(KB5 not in (r.detail or "") for r in srv.hub.audit.query())
    assert not any(KB5 in line or KB2 in line for line in srv.logs.lines)
