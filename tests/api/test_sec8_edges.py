"""Finding 8: WSDL address and JWT audience followed the Host header; no Cache-Control: no-store on
personal data; the linkage response showed the server's absolute path; /openapi.json and /docs
open without authentication; failed authentications not audited; rehearsal outputs holding
個人番号 world-readable (0644). Also: `kikan runs purge` removes them on sign-off, recorded."""
from __future__ import annotations

import json
import stat
import time
import uuid

import httpx
import jwt
import pytest
import sqlalchemy as sa
from lxml import etree

from api_helpers import A1, LogCapture, RunningServer, envelope, post_soap, wsse_header
from test_api_rest import basic, bearer, get_token

HTTP = httpx.Client(timeout=60)  # a loaded CI machine can be slow; the assertions are about answers, not time

EVIL = {"Host": "attacker.example"}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_host_header_does_not_steer_wsdl_or_audience(hub_server):
    srv, issued = hub_server
    wsdl = HTTP.get(f"{srv.base}/platform/soap?wsdl", headers=EVIL).content
    loc = etree.fromstring(wsdl).find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location")
    assert loc == f"http://127.0.0.1:{srv.port}/platform/soap", loc
    secret = issued["full"].client_secret
    claims = {"iss": "vendor-full", "sub": "vendor-full", "aud": "http://attacker.example/api/v1/token",
              "exp": int(time.time()) + 60, "jti": uuid.uuid4().hex}
    r = HTTP.post(f"{srv.base}/api/v1/token", headers=EVIL, data={
        "grant_type": "client_credentials", "client_assertion": jwt.encode(claims, secret, algorithm="HS256"),
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert r.status_code == 401, r.text
    # A configured public URL is what the WSDL names.
    srv.hub.public_url = "https://hub.city.example"
    wsdl = HTTP.get(f"{srv.base}/platform/soap?wsdl", headers=EVIL).text
    assert 'location="https://hub.city.example/platform/soap"' in wsdl


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_no_store_no_paths_failed_auth_audited(hub_server):
    srv, issued = hub_server
    h = bearer(get_token(srv.base, "vendor-full", issued["full"].client_secret))
    r = HTTP.get(f"{srv.base}/api/v1/juki/residents/{A1}", headers=h)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    full = issued["full"]
    s = post_soap(srv.base, envelope(f"<p:JuminJohoShokaiRequest><p:AtenaNo>{A1}</p:AtenaNo></p:JuminJohoShokaiRequest>",
                                     wsse_header(full.client_id, full.soap_password)))
    assert s.status_code == 200 and s.headers["cache-control"] == "no-store"
    r = HTTP.post(f"{srv.base}/api/v1/linkage/csv", json={"since_serial": 0, "dir": "x"}, headers=h)
    assert r.status_code == 200 and r.json()["file"].startswith("x/") and str(srv.hub.linkage_dir) not in r.text
    # Failed authentications leave an audit row: REST token, REST bearer, SOAP UsernameToken.
    assert HTTP.post(f"{srv.base}/api/v1/token", data={"grant_type": "client_credentials"},
                      headers=basic("vendor-basic", "wrong")).status_code == 401
    assert HTTP.get(f"{srv.base}/api/v1/juki/residents/{A1}", headers=bearer("not.a.token")).status_code == 401
    post_soap(srv.base, envelope(f"<p:JuminJohoShokaiRequest><p:AtenaNo>{A1}</p:AtenaNo></p:JuminJohoShokaiRequest>",
                                 wsse_header("vendor-basic", "wrong")))
    time.sleep(0.3)
    fails = [(e.interface, e.client_id) for e in srv.hub.audit.query() if e.outcome == "auth_failed"]
    assert ("rest", "vendor-basic") in fails and ("rest", None) in fails and ("soap", "vendor-basic") in fails


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_openapi_and_docs_are_off_by_default(hub_server):
    from kikan_hub.api.server import create_app
    srv, _ = hub_server
    plain = RunningServer(create_app(srv.hub), srv.hub, LogCapture()).start()
    try:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert HTTP.get(f"{plain.base}{path}").status_code == 404, path
    finally:
        plain.stop()


def test_rehearsal_outputs_are_owner_only_and_purged_on_sign_off(tmp_path):
    import os
    import subprocess
    import sys

    from typer.testing import CliRunner

    from kikan_hub.api.cli import app
    env = {**os.environ, "COLUMNS": "200"}
    out = tmp_path / "extract"
    assert subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "sample", "--residents", "60", "--out",
                           str(out), "--seed", "3", "--quiet"], env=env, capture_output=True).returncode == 0
    store, run_dir = f"sqlite:///{tmp_path / 'k.db'}", tmp_path / "run"
    old = os.umask(0o022)
    try:
        p = subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "rehearse", str(out / "manifest.yaml"),
                            "--store", store, "--run-dir", str(run_dir), "--quiet"], env=env, capture_output=True,
                           text=True)
    finally:
        os.umask(old)
    assert p.returncode in (0, 1), p.stderr
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    private = list((run_dir / "staging").glob("*.parquet")) + list((run_dir / "quarantine").glob("*.parquet"))
    assert private
    for f in private:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        assert stat.S_IMODE(f.parent.stat().st_mode) == 0o700, f.parent
    run_id = json.loads((run_dir / "summary.json").read_text())["run_id"]
    r = CliRunner().invoke(app, ["runs", "purge", run_id, "--store", store, "--signed-off-by", "山田",
                                 "--division", "市民課"])
    assert r.exit_code == 0, r.output
    assert not (run_dir / "staging").exists() and not (run_dir / "quarantine").exists()
    assert (run_dir / "summary.json").exists()
    with sa.create_engine(store).connect() as c:
        row = c.execute(sa.text("select * from kikan_run_purges")).mappings().one()
    assert row["run_id"] == run_id and row["signed_off_by"] == "山田" and row["division"] == "市民課"
    assert row["files_removed"] == len(private)
    # An unknown run is a clear error, exit 2.
    r = CliRunner().invoke(app, ["runs", "purge", "nope", "--store", store, "--signed-off-by", "山田",
                                 "--division", "市民課"])
    assert r.exit_code == 2 and "実行台帳にありません" in r.output
