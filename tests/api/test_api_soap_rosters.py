"""SOAP 名簿照会 (MeiboShokai) through zeep from the served WSDL (SQLite and PostgreSQL): a scope per roster,
masking per the caller's EUC role, 個人番号 only with its grant, audited with the persons answered."""
from __future__ import annotations

import datetime as dt

import pytest
from zeep.exceptions import Fault

from api_helpers import A1, A2, A3, A4, A5, KB2, zeep_client

B = dt.date(2024, 9, 1)


def persons(r) -> dict:
    return {p.AtenaNo: (p.Hantei, {i.Id: i.Value for i in p.Item}) for p in r.Person}


def test_meibo_shokai_scope_mask_and_audit(hub_server):
    srv, _ = hub_server
    issued = srv.hub.clients.add("senkyo-soap", "選挙システム", ["rosters:senkyo:read", "euc:etsuran:read"])
    c = zeep_client(srv.base, "senkyo-soap", issued.soap_password)
    # 基準日 2024-09-01 (api_helpers' store): A1 (1970生, 転入 2010) and A2 (1972生) are 18+ with 3 months;
    # A3 (2015生) is a child; A4 moved out 2019-03-31 (4 months long past → 抹消); A5's birth has no year.
    r = c.service.MeiboShokai(Meibo="senkyo", KijunDate=B)
    assert (r.Meibo, r.Title, r.Division, r.KijunDate, r.Role) == ("senkyo", "選挙人名簿", "選挙管理委員会事務局", B, "閲覧")
    assert r.Count == 2 and list(persons(r)) == [A1, A2]
    assert {h.Kubun: h.Count for h in r.Hantei} == {"掲載": 2, "対象外": 3}
    hantei, items = persons(r)[A1]
    assert hantei == "掲載" and items["shimei"] == "架＊ 太＊"                       # 閲覧: names masked
    assert "18歳以上" in r.Person[0].Riyu
    everyone = c.service.MeiboShokai(Meibo="senkyo", KijunDate=B, IncludeAll=True)
    assert everyone.Count == 5 and persons(everyone)[A3][0] == "対象外"
    # another division's roster needs its own scope; a role the client lacks is refused; bad names are client errors
    with pytest.raises(Fault) as e:
        c.service.MeiboShokai(Meibo="gakureibo", KijunDate=B)
    assert e.value.code == "soap:Client" and "rosters:gakureibo:read" in e.value.message
    with pytest.raises(Fault) as e:
        c.service.MeiboShokai(Meibo="senkyo", KijunDate=B, Role="個人番号事務")
    assert "役割" in e.value.message
    with pytest.raises(Fault) as e:
        c.service.MeiboShokai(Meibo="nope", KijunDate=B)
    assert "名簿 nope はありません" in e.value.message
    log = [e for e in srv.hub.audit.query(client_id="senkyo-soap") if e.operation == "MeiboShokai"]
    assert [(e.outcome, sorted(e.atena_nos)) for e in log] == [
        ("ok", [A1, A2]), ("ok", sorted([A1, A2, A3, A4, A5])), ("denied", []), ("denied", []), ("invalid", [])]
    from sqlalchemy import select

    from kikan_hub.api.auth.audit import _tables
    audit = _tables()[0]
    with srv.hub.engine.connect() as conn:
        counts = dict(conn.execute(select(audit.c.audit_id, audit.c.subject_count)
                                   .where(audit.c.audit_id.in_([e.audit_id for e in log]))).all())
    assert [counts[e.audit_id] for e in log] == [2, 5, 0, 0, 0]      # subject counts: the persons answered


def test_kojin_bango_only_with_its_grant(hub_server, tmp_path, monkeypatch):
    """A city's senkyo rule with 個人番号 among its columns: the number leaves only with juki:kojin_bango:read."""
    from kikan_hub.modules.rosters.rules import HERE
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (HERE / "rules" / "senkyo.yaml").read_text(encoding="utf-8").replace("columns: [atena_no,", "columns: [atena_no, kojin_bango,")
    (rules / "senkyo.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("KIKAN_ROSTER_RULES", str(tmp_path))
    srv, _ = hub_server
    plain = srv.hub.clients.add("senkyo-plain", "選挙", ["rosters:senkyo:read", "euc:mynumber:read"])
    full = srv.hub.clients.add("senkyo-kb", "選挙＋個人番号", ["rosters:senkyo:read", "euc:mynumber:read",
                                                                 "juki:kojin_bango:read"])
    r = zeep_client(srv.base, "senkyo-plain", plain.soap_password).service.MeiboShokai(Meibo="senkyo", KijunDate=B)
    assert r.Role == "個人番号事務" and persons(r)[A2][1]["shimei"] == "架空 花子"     # this role sees names …
    assert "kojin_bango" in persons(r)[A2][1] and persons(r)[A2][1]["kojin_bango"] is None   # … not the number
    r = zeep_client(srv.base, "senkyo-kb", full.soap_password).service.MeiboShokai(Meibo="senkyo", KijunDate=B)
    assert persons(r)[A2][1]["kojin_bango"] == KB2
