"""REST generated from the definitions: every ISL table has its routes, models and scope; the reads go
through the one pipeline (支援措置 withheld, 個人番号 only with its grant, every read audited)."""
from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import insert, update

from api_helpers import A1, A2, A3, KB2, S1, add_client, audit_rows, m11, rest_token
from kikan_hub.api.auth import scopes as sc
from kikan_hub.layouts.isl import all_tables

KB_J = m11("55555555555")          # 個人番号 of a 住登外者
J1 = m11("000020001")              # 宛名番号 of that 住登外者


def _complete(table_id: str, row: dict) -> dict:
    """Fill the items the definition requires (a valid code, digits, a date) where the test gives none."""
    from kikan_hub.layouts.isl import load_code_table
    out = dict(row)
    for it in all_tables()[table_id].items:
        if not it.required or out.get(it.id) is not None:
            continue
        if it.code:
            out[it.id] = next(iter(load_code_table(it.code).codes))
        elif it.type in ("date", "wareki_date"):
            out[it.id] = dt.date(2023, 4, 1)
        elif it.type in ("integer", "decimal"):
            out[it.id] = 1
        elif it.type == "flag":
            out[it.id] = False
        else:
            out[it.id] = "1" * min(it.length, 5)
    return out


def _insert(engine, table_id: str, rows: list[dict]) -> None:
    from kikan_hub.store.schema import build_metadata
    t = build_metadata().tables[table_id]
    with engine.begin() as conn:
        conn.execute(insert(t), [{c.name: r.get(c.name) for c in t.columns} for r in map(
            lambda r: _complete(table_id, r), rows)])


def _get(srv, tok, path, **params):
    return httpx.get(f"{srv.base}/api/v1/{path}", params=params, headers={"Authorization": f"Bearer {tok}"}, timeout=30)


def _fill_other_tables(engine):
    _insert(engine, "zei_kojin_nozeigimusha", [
        {"kazei_nendo": y, "atena_no": a, "kazei_kubun": "1", "kazei_jusho_kubun": "1", "_run_id": "r1"}
        for y in (2023, 2024) for a in (A1, A2)])
    _insert(engine, "jutogai_atena", [
        {"atena_no": J1, "rireki_no": 1, "kojin_hojin_kubun": "1", "shimei": "住登外 一子", "kojin_bango": KB_J,
         "shori_date": dt.date(2023, 4, 1), "_run_id": "r1"}])


def test_every_table_is_described_with_its_scope(hub_server):
    srv, _ = hub_server
    spec = httpx.get(f"{srv.base}/openapi.json", timeout=30).json()
    for t in all_tables().values():
        g, r, _ = sc.table_scope(t.id).split(":")
        paths = [f"/api/v1/{g}/{r}", f"/api/v1/{g}/{r}/changes"]
        if any(i.id == "atena_no" for i in t.items):
            paths.append(f"/api/v1/{g}/{r}/{{atena_no}}")
        for p in paths:
            assert p in spec["paths"], (t.id, p)
        # the model is the definition: one property per non-lineage column, with the item's name
        model = spec["components"]["schemas"]["".join(x.capitalize() for x in t.id.split("_"))]
        cols = [c for c in t.columns if c.role != "lineage"]
        assert list(model["properties"]) == [c.name for c in cols], t.id
        assert cols[0].item.name in model["properties"][cols[0].name]["description"]
        key = [q["name"] for q in spec["paths"][f"/api/v1/{g}/{r}"]["get"]["parameters"]]
        assert key == list(t.primary_key), t.id
    # decimals are exact strings in the contract, never floats
    kibetsu = spec["components"]["schemas"]["ZeiKojinZeigaku"]["properties"]
    decimal_cols = [c.name for c in all_tables()["zei_kojin_zeigaku"].columns if c.type == "decimal"]
    for name in decimal_cols:
        assert "number" not in str(kibetsu[name]), name


def test_by_atena_by_key_scope_and_audit(hub_server):
    srv, issued = hub_server
    _fill_other_tables(srv.hub.engine)
    tax = rest_token(srv.base, "vendor-tax", issued["tax"].client_secret)
    r = _get(srv, tax, f"kojin_juminzei/nozeigimusha/{A1}")
    assert r.status_code == 200 and [(x["kazei_nendo"], x["atena_no"]) for x in r.json()["items"]] == [
        (2023, A1), (2024, A1)]
    r = _get(srv, tax, "kojin_juminzei/nozeigimusha", kazei_nendo="2024")
    assert sorted(x["atena_no"] for x in r.json()["items"]) == sorted([A1, A2])
    r = _get(srv, tax, "kojin_juminzei/nozeigimusha", kazei_nendo="2024", atena_no=A2)
    assert r.json()["count"] == 1
    # a key item after a missing one, an item that is not a key, a value of the wrong type: 422
    assert _get(srv, tax, "kojin_juminzei/nozeigimusha", atena_no=A2).status_code == 422
    assert _get(srv, tax, "kojin_juminzei/nozeigimusha", kazei_nendo="2024", shimei="x").status_code == 422
    assert _get(srv, tax, "kojin_juminzei/nozeigimusha", kazei_nendo="令和6").status_code == 422
    # another table of the same 業務 needs its own scope
    r = _get(srv, tax, f"kojin_juminzei/shotoku/{A1}")
    assert r.status_code == 403 and "kojin_juminzei:shotoku:read" in r.json()["detail"]
    rows = audit_rows(srv.hub)
    by_key = [a for a in rows if a.operation == "kojin_juminzei.nozeigimusha.key" and a.outcome == "ok"]
    assert by_key and set(by_key[0].atena_nos) == {A1, A2}
    assert any(a.outcome == "denied" and a.client_id == "vendor-tax" for a in rows)


def test_kojin_bango_only_with_its_grant(hub_server):
    srv, _ = hub_server
    _fill_other_tables(srv.hub.engine)
    plain = add_client(srv.hub, "jutogai-plain", ["jutogai:atena:read"])
    mine = add_client(srv.hub, "jutogai-mine", ["jutogai:atena:read", "jutogai:kojin_bango:read"])
    r = _get(srv, rest_token(srv.base, "jutogai-plain", plain.client_secret), f"jutogai/atena/{J1}")
    assert r.status_code == 200 and r.json()["items"][0]["kojin_bango"] is None
    assert KB_J not in r.text
    r = _get(srv, rest_token(srv.base, "jutogai-mine", mine.client_secret), "jutogai/atena", atena_no=J1)
    assert r.json()["items"][0]["kojin_bango"] == KB_J
    # 住民 through the generated table route: same rule as the hand-written routes
    basic = add_client(srv.hub, "juki-plain", ["juki:jumin:read"])
    r = _get(srv, rest_token(srv.base, "juki-plain", basic.client_secret), f"juki/jumin/{A2}")
    assert r.status_code == 200 and r.json()["items"][0]["kojin_bango"] is None and KB2 not in r.text


def test_change_feed_pages_and_renumbers_a_reloaded_row(hub_server):
    srv, issued = hub_server
    _fill_other_tables(srv.hub.engine)
    tax = rest_token(srv.base, "vendor-tax", issued["tax"].client_secret)
    p1 = _get(srv, tax, "kojin_juminzei/nozeigimusha/changes", limit=3).json()
    assert p1["count"] == 3 and p1["has_more"] is True
    p2 = _get(srv, tax, "kojin_juminzei/nozeigimusha/changes", since_serial=p1["next_serial"], limit=3).json()
    assert p2["count"] == 1 and p2["has_more"] is False
    seen = [(i["record"]["kazei_nendo"], i["record"]["atena_no"]) for i in p1["items"] + p2["items"]]
    assert seen == [(2023, A1), (2023, A2), (2024, A1), (2024, A2)]          # primary-key order on first sight
    serials = [i["serial"] for i in p1["items"] + p2["items"]]
    assert serials == sorted(serials) and len(set(serials)) == 4
    # a re-load of one row by another run gets a new, higher serial; nothing else moves
    from kikan_hub.store.schema import build_metadata
    t = build_metadata().tables["zei_kojin_nozeigimusha"]
    with srv.hub.engine.begin() as conn:
        conn.execute(update(t).where(t.c.kazei_nendo == 2023, t.c.atena_no == A2).values(_run_id="r2", kazei_kubun="2"))
    p3 = _get(srv, tax, "kojin_juminzei/nozeigimusha/changes", since_serial=p2["next_serial"]).json()
    assert [(i["record"]["atena_no"], i["record"]["kazei_kubun"]) for i in p3["items"]] == [(A2, "2")]
    assert p3["items"][0]["serial"] > max(serials)
    # 住民's generated feed is the documented 異動連番 (the same serials as /juki/changes)
    full = rest_token(srv.base, "vendor-full", issued["full"].client_secret)
    a = _get(srv, full, "juki/changes", limit=1000).json()
    both = add_client(srv.hub, "juki-feed", ["juki:jumin:read"])
    b = _get(srv, rest_token(srv.base, "juki-feed", both.client_secret), "juki/jumin/changes", limit=1000).json()
    assert [i["serial"] for i in a["items"]] == [i["serial"] for i in b["items"]] and a["count"] > 0


def test_shien_sochi_withheld_from_generated_routes(hub_server):
    srv, _ = hub_server
    eng = srv.hub.engine
    _insert(eng, "juki_shien_sochi", [{"atena_no": A3, "sochi_renban": 1, "_run_id": "r1"}])
    reader = add_client(srv.hub, "setai-reader", ["juki:setai:read", "juki:jumin:read", "juki:shien_sochi:read"])
    plain = add_client(srv.hub, "setai-plain", ["juki:setai:read", "juki:jumin:read"])
    tok_plain = rest_token(srv.base, "setai-plain", plain.client_secret)
    # A3 once lived in S1: the 世帯 row carries the 支援対象者's address
    assert _get(srv, tok_plain, "juki/setai", setai_no=S1).json()["count"] == 0
    assert _get(srv, tok_plain, f"juki/jumin/{A3}").json()["count"] == 0
    tok_reader = rest_token(srv.base, "setai-reader", reader.client_secret)
    assert _get(srv, tok_reader, "juki/setai", setai_no=S1).json()["count"] == 1
    # the 支援措置 table itself needs the 支援措置 scope (kagaisha has its own scope and needs it too)
    assert _get(srv, tok_plain, f"juki/shien_sochi/{A3}").status_code == 403
    kag = add_client(srv.hub, "kagaisha-only", ["juki:shien_kagaisha:read"])
    r = _get(srv, rest_token(srv.base, "kagaisha-only", kag.client_secret), f"juki/shien_kagaisha/{A3}")
    assert r.status_code == 403 and "juki:shien_sochi:read" in r.json()["detail"]
    outcomes = {a.outcome for a in audit_rows(srv.hub) if a.client_id == "setai-plain"}
    assert "shien_withheld" in outcomes


def test_soap_kiroku_shokai_reads_any_table_under_its_scope(hub_server):
    """The generic SOAP operation through zeep over HTTP: the table's XSD type, its scope, 個人番号 rule."""
    import pytest
    from lxml import etree
    from zeep.exceptions import Fault

    from api_helpers import zeep_client
    srv, issued = hub_server
    _fill_other_tables(srv.hub.engine)
    # the served XSD has one element and type per loaded table
    xsd = etree.fromstring(httpx.get(f"{srv.base}/platform/xsd/table-types.xsd", timeout=30).content)
    names = {e.get("name") for e in xsd.findall("{http://www.w3.org/2001/XMLSchema}element")}
    assert names == set(all_tables())
    tax = zeep_client(srv.base, "vendor-tax", issued["tax"].soap_password)
    r = tax.service.KirokuShokai(TableId="zei_kojin_nozeigimusha", Key=[{"Item": "kazei_nendo", "Value": "2024"}])
    assert r.TableId == "zei_kojin_nozeigimusha" and r.Count == 2
    recs = [rec._value_1 for rec in r.Record]
    assert sorted(x.atena_no for x in recs) == sorted([A1, A2]) and {x.kazei_nendo for x in recs} == {2024}
    r = tax.service.KirokuShokai(TableId="zei_kojin_nozeigimusha", AtenaNo=A1)
    assert r.Count == 2
    with pytest.raises(Fault) as e:      # another table: its own scope
        tax.service.KirokuShokai(TableId="juki_jumin", AtenaNo=A1)
    assert "juki:jumin:read" in e.value.message
    with pytest.raises(Fault) as e:
        tax.service.KirokuShokai(TableId="zei_kojin_nozeigimusha", Key=[{"Item": "atena_no", "Value": A1}])
    assert "主キー" in e.value.message
    with pytest.raises(Fault):
        tax.service.KirokuShokai(TableId="no_such_table", AtenaNo=A1)
    plain = add_client(srv.hub, "jutogai-soap", ["jutogai:atena:read"])
    plain.soap_password  # noqa: B018 - issued once, like the CLI prints it
    c = zeep_client(srv.base, "jutogai-soap", plain.soap_password)
    r = c.service.KirokuShokai(TableId="jutogai_atena", AtenaNo=J1)
    assert r.Count == 1 and r.Record[0]._value_1.kojin_bango is None and r.Record[0]._value_1.shimei == "住登外 一子"
    audited = [a for a in audit_rows(srv.hub) if a.operation == "KirokuShokai" and a.outcome == "ok"]
    assert any(J1 in a.atena_nos for a in audited)
