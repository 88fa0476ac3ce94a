"""Generated XSD up to date; zeep adapter → Arrow batches; CLI clients / audit."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api_helpers import A1, A3, JUMIN_ROWS, fill_store

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def test_generated_xsd_is_up_to_date():
    from kikan_hub.api.soap.xsd_gen import TYPES_FILE, generate_types_xsd
    assert TYPES_FILE.read_text(encoding="utf-8") == generate_types_xsd(), \
        "run: python -m kikan_hub.api.soap.xsd_gen"


def test_xsd_jumin_follows_the_definition():
    from lxml import etree

    from kikan_hub.api.soap.xsd_gen import TYPES_FILE
    from kikan_hub.layouts.isl import get_table
    doc = etree.parse(str(TYPES_FILE))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    ct = doc.find(f"{xs}complexType[@name='Jumin']")
    names = [e.get("name") for e in ct.iter(f"{xs}element")]
    assert names == [c.name for c in get_table("juki_jumin").columns if c.role != "lineage"]


@SQLITE_ONLY
def test_soap_adapter_yields_reader_shaped_batches(hub_server):
    from kikan_hub.adapters.soap_client import PlatformSoapAdapter, batch_schema
    srv, issued = hub_server
    ad = PlatformSoapAdapter(f"{srv.base}/platform/soap?wsdl", "vendor-full", issued["full"].soap_password)
    out = list(ad.residents([A1, A3], include_history=True))
    assert [k for k, _ in out] == ["resident"]
    b = out[0][1]
    assert b.schema == batch_schema()
    assert b.column("_record_no").to_pylist() == [1, 2, 3]
    assert b.column("atena_no").to_pylist() == [A1, A3, A3]
    assert b.column("birth_date").to_pylist()[0] == "1970-05-01"
    assert b.column("_raw").to_pylist()[0].startswith(b"<")
    changes = list(ad.changes(page_size=2, batch_size=3))
    assert sum(bt.num_rows for _, bt in changes) == len(JUMIN_ROWS) and ad.last_serial >= len(JUMIN_ROWS)


@SQLITE_ONLY
def test_cli_clients_and_audit(tmp_path, monkeypatch, store_url):
    from kikan_hub.api.cli_serve import audit_app, clients_app, linkage_app
    monkeypatch.setenv("KIKAN_SECRET_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.delenv("KIKAN_SECRET_KEY", raising=False)
    run = CliRunner().invoke
    r = run(clients_app, ["add", "--id", "city-tax", "--name", "税務システム", "-s", "kojin_juminzei:nozeigimusha:read",
                          "--store", store_url])
    assert r.exit_code == 0, r.output
    assert "client_secret:" in r.output and "soap_password:" in r.output
    assert (tmp_path / "key").stat().st_mode & 0o077 == 0
    r = run(clients_app, ["add", "--id", "bad", "-s", "not a scope", "--store", store_url])
    assert r.exit_code == 2
    r = run(clients_app, ["list", "--json", "--store", store_url])
    assert '"city-tax"' in r.output and "scrypt" not in r.output
    r = run(clients_app, ["rotate", "city-tax", "--store", store_url])
    assert r.exit_code == 0 and "client_secret:" in r.output
    r = run(clients_app, ["revoke", "city-tax", "--store", store_url])
    assert r.exit_code == 0
    r = run(clients_app, ["list", "--store", store_url])
    assert "revoked" in r.output
    # an audited CLI linkage, then the audit query
    from kikan_hub.store.engine import open_engine
    fill_store(open_engine(store_url))
    r = run(linkage_app, [str(tmp_path / "csvout"), "--store", store_url])
    assert r.exit_code == 0, r.output
    r = run(audit_app, ["--atena", A3, "--json", "--store", store_url])
    assert r.exit_code == 0 and '"linkage.csv"' in r.output
    r = run(audit_app, ["--client", "nobody", "--since", "2000-01-01", "--store", store_url])
    assert r.exit_code == 0
