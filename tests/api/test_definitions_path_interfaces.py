"""A 業務 the package does not ship, on KIKAN_DEFINITIONS_PATH, is served over REST and SOAP without code:
its routes, scope, OpenAPI model and XSD type come from its definition when the server starts."""
from __future__ import annotations

import httpx
import pytest
from lxml import etree
from sqlalchemy import insert
from zeep.exceptions import Fault

from api_helpers import LogCapture, RunningServer, m11, rest_token, zeep_client

SUIDO = """\
gyomu: 水道
gyomu_id: suido
version: "test"
provenance: 試験用（パッケージに含まれない業務）
tables:
  - id: suido_keiyaku
    name: 水道契約
    primary_key: [keiyaku_no]
    items:
      - {id: keiyaku_no, name: 契約番号, type: digits, length: 10, required: true}
      - {id: atena_no, name: 宛名番号, type: digits, length: 10, required: true}
      - {id: keiyaku_kubun, name: 契約区分, type: code, length: 1, code: suido_keiyaku_kubun}
      - {id: ryokin, name: 基本料金, type: decimal, length: 9, scale: 2}
"""
CODES = """\
id: suido_keiyaku_kubun
name: 水道契約区分
codes: {"1": 一般, "2": 臨時}
"""
ATENA = m11("000030003")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_extra_gyomu_is_served_without_code(tmp_path, monkeypatch, store_url, master_key):
    from decimal import Decimal

    from kikan_hub.api.server import build_hub, create_app, prepare_store
    from kikan_hub.store.engine import open_engine
    from kikan_hub.store.schema import build_metadata

    folder = tmp_path / "defs"
    (folder / "codes").mkdir(parents=True)
    (folder / "suido.yaml").write_text(SUIDO, encoding="utf-8")
    (folder / "codes" / "suido_keiyaku_kubun.yaml").write_text(CODES, encoding="utf-8")
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", str(folder))

    engine = open_engine(store_url)
    prepare_store(engine)   # the new table is created from its definition
    with engine.begin() as conn:
        conn.execute(insert(build_metadata().tables["suido_keiyaku"]),
                     [{"keiyaku_no": "0000000001", "atena_no": ATENA, "keiyaku_kubun": "1", "ryokin": Decimal("1234.50"),
                       "_run_id": "r1"}])
    hub = build_hub(engine, master_key, linkage_dir=tmp_path / "linkage")
    reader = hub.clients.add("suido-app", "水道システム", ["suido:keiyaku:read"])
    other = hub.clients.add("juki-app", "住記のみ", ["juki:jumin:read"])
    srv = RunningServer(create_app(hub, docs=True), hub, LogCapture()).start()
    try:
        tok = rest_token(srv.base, "suido-app", reader.client_secret)
        r = httpx.get(f"{srv.base}/api/v1/suido/keiyaku/{ATENA}", headers={"Authorization": f"Bearer {tok}"}, timeout=30)
        assert r.status_code == 200, r.text
        item = r.json()["items"][0]
        assert item["keiyaku_no"] == "0000000001" and item["ryokin"] == "1234.50"   # a decimal stays exact
        r = httpx.get(f"{srv.base}/api/v1/suido/keiyaku", params={"keiyaku_no": "0000000001"},
                      headers={"Authorization": f"Bearer {tok}"}, timeout=30)
        assert r.json()["count"] == 1
        r = httpx.get(f"{srv.base}/api/v1/suido/keiyaku/changes", headers={"Authorization": f"Bearer {tok}"}, timeout=30)
        assert [i["record"]["keiyaku_no"] for i in r.json()["items"]] == ["0000000001"]
        tok2 = rest_token(srv.base, "juki-app", other.client_secret)
        r = httpx.get(f"{srv.base}/api/v1/suido/keiyaku/{ATENA}", headers={"Authorization": f"Bearer {tok2}"}, timeout=30)
        assert r.status_code == 403 and "suido:keiyaku:read" in r.json()["detail"]

        spec = httpx.get(f"{srv.base}/openapi.json", timeout=60).json()
        assert {"/api/v1/suido/keiyaku", "/api/v1/suido/keiyaku/{atena_no}", "/api/v1/suido/keiyaku/changes"} \
            <= set(spec["paths"])
        props = spec["components"]["schemas"]["SuidoKeiyaku"]["properties"]
        assert props["keiyaku_no"]["description"] == "契約番号"

        xsd = etree.fromstring(httpx.get(f"{srv.base}/platform/xsd/table-types.xsd", timeout=30).content)
        ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
        kubun = xsd.find(".//xs:complexType[@name='suido_keiyaku']//xs:element[@name='keiyaku_kubun']", ns)
        assert [e.get("value") for e in kubun.iterfind(".//xs:enumeration", ns)] == ["1", "2"]
        c = zeep_client(srv.base, "suido-app", reader.soap_password)
        res = c.service.KirokuShokai(TableId="suido_keiyaku", Key=[{"Item": "keiyaku_no", "Value": "0000000001"}])
        assert res.Count == 1 and res.Record[0]._value_1.ryokin == Decimal("1234.50")
        with pytest.raises(Fault) as e:
            zeep_client(srv.base, "juki-app", other.soap_password).service.KirokuShokai(
                TableId="suido_keiyaku", AtenaNo=ATENA)
        assert "suido:keiyaku:read" in e.value.message
    finally:
        srv.stop()
        engine.dispose()
