"""Issue 12, "Done when" #1: a 業務 the package does not ship becomes a working 業務 from data alone.

The fixture folder ``extra_gyomu/`` (see its README) holds 農家基本台帳 (``nouka``): an ISL
definition, its code table, its rule catalogue, a legacy fixed-width layout, a mapping, a manifest
and a small CP932 extract with one planted defect. Its ``definitions/`` folder is copied to a
temporary directory put on ``KIKAN_DEFINITIONS_PATH``; everything after that goes through the
``kikan`` command line and HTTP, as a city's engineer would: rehearse (load + quarantine with
the gates), REST read under the 業務's own scope (403 without), /openapi.json, the SOAP XSD,
ISL handover export → import → verify, 基本データリスト, and EUC extraction.

Runs on SQLite and on the real PostgreSQL server (one module-scoped world each).
"""
from __future__ import annotations

import base64
import csv
import decimal
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kikan_testenv import pg_database

FIXTURE = Path(__file__).parent / "extra_gyomu"
D = decimal.Decimal

# What the fixture's extract holds (extra_gyomu/README.md): six farms, the fourth with 専兼業別 9.
LOADED = {
    "0000200018": {"setainushi_shimei": "架空 太郎", "sengyo_kubun": "1", "keiei_menseki": D("105.75"),
                   "ta_menseki": D("85.50"), "hata_menseki": D("20.25"), "shugyo_ninzu": 3, "nintei_nogyosha": True,
                   "toroku_date": "2013-04-01"},
    "0000200026": {"setainushi_shimei": "見本 花子", "sengyo_kubun": "2", "keiei_menseki": D("52.00")},
    "0000200034": {"setainushi_shimei": "試験 次郎", "sengyo_kubun": "3", "keiei_menseki": D("8.75")},
    "0000200050": {"setainushi_shimei": "仮名 四郎", "sengyo_kubun": "4", "keiei_menseki": D("2.30")},
    "0000200069": {"setainushi_shimei": "農地 桜子", "sengyo_kubun": "2", "keiei_menseki": D("60.10")},
}
DEFECT_ATENA = "0000200042"
RECORD_BYTES = 150 + 2          # record_length + CRLF
ITEMS = ["atena_no", "nouka_no", "setainushi_shimei", "jusho", "sengyo_kubun", "ta_menseki", "hata_menseki",
         "keiei_menseki", "shugyo_ninzu", "nintei_nogyosha", "toroku_date", "shori_date"]
# The table's scope, by the documented rule (api/auth/scopes.yaml): <業務>:<table id without the 業務 prefix>:read.
SCOPE = "nouka:setai:read"
# GET /api/v1/{業務}/{resource}/{atena_no} and ?<primary key>: the path names the table as its scope does.
TABLE_PATH = "/api/v1/nouka/setai"


@dataclass
class World:
    """One rehearsed store with the extra 業務, and a running `kikan serve` over it."""
    root: Path
    store: str
    env: dict
    rehearse: subprocess.CompletedProcess
    summary: dict
    base: str = ""
    secrets: dict = field(default_factory=dict)

    def kikan(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        return kikan(self.env, self.root, *args, check=check)


def kikan(env: dict, cwd: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], capture_output=True, text=True,
                       env=env, cwd=cwd, timeout=600)
    if check:
        assert p.returncode == 0, f"kikan {' '.join(args)} → {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def _pg_database() -> tuple[str, callable]:
    return pg_database("kikan_e2e")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_secret(stdout: str) -> str:
    for line in stdout.splitlines():
        if line.startswith("client_secret:"):
            return line.split()[1]
    raise AssertionError(f"no client_secret in: {stdout}")


def _soap_password(stdout: str) -> str:
    for line in stdout.splitlines():
        if line.startswith("soap_password:"):
            return line.split()[1]
    raise AssertionError(f"no soap_password in: {stdout}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"extra_gyomu_{request.param}")
    defs = root / "definitions"          # the folder on KIKAN_DEFINITIONS_PATH (a copy: nothing of the repo)
    shutil.copytree(FIXTURE / "definitions", defs)
    shutil.copytree(FIXTURE / "extract", root / "extract")
    shutil.copytree(FIXTURE / "euc", root / "euc")
    drop = None
    if request.param == "sqlite":
        store = f"sqlite:///{root / 'kikan.db'}"
    else:
        store, drop = _pg_database()
    env = dict(os.environ, KIKAN_DEFINITIONS_PATH=str(defs), KIKAN_DATA_DIR=str(root / "var"),
               KIKAN_SECRET_KEY=secrets.token_hex(32), KIKAN_BATCH_ROWS="4")
    env.pop("KIKAN_ISL_DIR", None)
    p = kikan(env, root, "rehearse", str(root / "extract" / "manifest.yaml"), "--store", store,
              "--run-dir", str(root / "run"), "--quiet")
    summary_path = root / "run" / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    w = World(root=root, store=store, env=env, rehearse=p, summary=summary)
    server = None
    if p.returncode == 0:
        for cid, scope in (("nouka-reader", SCOPE), ("juki-reader", "juki:jumin:read")):
            add = w.kikan("clients", "add", "--id", cid, "--scope", scope, "--store", store, check=True)
            w.secrets[cid] = (_client_secret(add.stdout), _soap_password(add.stdout))
        port = _free_port()
        log = (root / "serve.log").open("wb")
        server = subprocess.Popen([sys.executable, "-m", "kikan_hub.api.cli", "serve", "--store", store, "--port",
                                   str(port), "--docs", "--linkage-dir", str(root / "linkage")],
                                  stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
        w.base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if server.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
    try:
        yield w
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        if drop:
            drop()


def _served(w: World) -> None:
    assert w.rehearse.returncode == 0, w.rehearse.stdout + w.rehearse.stderr
    assert w.base, "kikan serve was not started"
    log = (w.root / "serve.log").read_text(encoding="utf-8", errors="replace")
    import httpx
    try:
        httpx.get(w.base + "/platform/soap?wsdl", timeout=10)
    except httpx.HTTPError as exc:
        raise AssertionError(f"kikan serve does not answer ({exc}):\n{log}") from None


def _token(w: World, cid: str) -> str:
    import httpx
    secret = w.secrets[cid][0]
    auth = {"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()}
    r = httpx.post(w.base + "/api/v1/token", data={"grant_type": "client_credentials"}, headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


# ------------------------------------------------------------------------------------------- rehearse
def test_rehearsal_loads_the_extra_gyomu_and_quarantines_the_planted_defect(world):
    w = world
    assert w.rehearse.returncode == 0, w.rehearse.stdout + w.rehearse.stderr
    s = w.summary
    # every record accounted for, exactly: header + 6 farms + trailer read; the defect quarantined
    assert s["files"] == {"NOUKA": {
        "header": {"read": 1, "staged": 1, "loaded": 1, "quarantined": 0},
        "nouka": {"read": 6, "staged": 5, "loaded": 5, "quarantined": 1},
        "trailer": {"read": 1, "staged": 1, "loaded": 1, "quarantined": 0}}}
    assert (s["records_read"], s["records_staged"], s["records_loaded"], s["records_quarantined"]) == (8, 7, 7, 1)
    assert s["status"] == "loaded"
    assert [c for c in s["control"] if c.get("kind") == "count"] and all(c["ok"] for c in s["control"])
    # the gate that stopped it is the code table of the extra folder (not in the package)
    assert [(r["rule_id"], r["failed"]) for r in s["gate"]["rules"]] == [("MAP-CODE", 1)]
    q = pq.read_table(s["quarantine"]["NOUKA"]).to_pylist()
    assert len(q) == 1
    (row,) = q
    assert row["rule_ids"] == "MAP-CODE"
    assert row["offset"] == 4 * RECORD_BYTES           # header + 3 farms before it
    assert row["raw"][1:11] == DEFECT_ATENA.encode()
    assert "nouka_sengyo_kubun" in row["message"] and "「9」" in row["message"]
    # the accounting per canonical table and per 業務 (derived from the definitions)
    assert s["tables"]["nouka_setai"] == {"gyomu_id": "nouka", "gyomu": "農家基本台帳", "staged": 5, "loaded": 5}
    assert s["gyomu"]["nouka"]["quarantined"] == 1 and s["gyomu"]["nouka"]["division"] == "農業委員会事務局"


def test_gates_come_from_the_definition_and_its_rule_catalogue(world):
    w = world
    assert w.rehearse.returncode == 0, w.rehearse.stdout + w.rehearse.stderr
    report_dir = w.root / "run" / "report"
    rep = json.loads((report_dir / "report_農家基本台帳.json").read_text(encoding="utf-8"))
    rules = {r["id"]: r for r in rep["rules"]}
    # generated from the ISL definition and run on the 5 staged rows: type, code, CP932 length (required, length
    # in characters and check digits are the same ISL-* rules at the record stage: they quarantine per record)
    for rid in ("ISL-TYPE.nouka_setai", "ISL-CODE.nouka_setai", "ISL-LENGTH-BYTES.nouka_setai"):
        assert rid in rules, sorted(rules)
        assert rules[rid]["total"] == 5 and rules[rid]["failed"] == 0
        assert rules[rid]["division"] == "農業委員会事務局"   # the 業務's division from its own catalogue
    # the extra folder's own business rule ran on the staged rows
    assert rules["NOUKA-MENSEKI"]["total"] == 5 and rules["NOUKA-MENSEKI"]["failed"] == 0
    # the quarantined record is reported to the 業務's division, not to 市民課
    div = json.loads((report_dir / "report_農業委員会事務局.json").read_text(encoding="utf-8"))
    assert [(q["id"], q["failed"]) for q in div["quarantine"]["rules"]] == [("MAP-CODE", 1)]
    shimin = report_dir / "report_市民課.json"
    if shimin.exists():
        assert not json.loads(shimin.read_text(encoding="utf-8"))["quarantine"]["rules"]


# ------------------------------------------------------------------------------------------- REST / SOAP
def test_rest_reads_the_table_under_its_own_scope(world):
    import httpx
    w = world
    _served(w)
    ok = httpx.get(f"{w.base}{TABLE_PATH}/0000200018", headers={"Authorization": f"Bearer {_token(w, 'nouka-reader')}"},
                   timeout=30)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    rows = body if isinstance(body, list) else body.get("items", body.get("rows", [body]))
    assert len(rows) == 1
    got = rows[0]
    want = LOADED["0000200018"]
    assert got["atena_no"] == "0000200018"
    assert got["setainushi_shimei"] == want["setainushi_shimei"] and got["sengyo_kubun"] == "1"
    assert D(str(got["keiei_menseki"])) == want["keiei_menseki"] and D(str(got["ta_menseki"])) == want["ta_menseki"]
    assert got["shugyo_ninzu"] == 3 and got["nintei_nogyosha"] is True and got["toroku_date"] == "2013-04-01"
    # by primary key items
    byk = httpx.get(f"{w.base}{TABLE_PATH}", params={"atena_no": "0000200069"},
                    headers={"Authorization": f"Bearer {_token(w, 'nouka-reader')}"}, timeout=30)
    assert byk.status_code == 200, byk.text
    assert "農地 桜子" in byk.text
    # the quarantined record never reached the store
    gone = httpx.get(f"{w.base}{TABLE_PATH}/{DEFECT_ATENA}",
                     headers={"Authorization": f"Bearer {_token(w, 'nouka-reader')}"}, timeout=30)
    assert gone.status_code == 200 and gone.json()["count"] == 0, gone.text   # a list answer: empty
    # another 業務's scope is not enough: 403
    denied = httpx.get(f"{w.base}{TABLE_PATH}/0000200018",
                       headers={"Authorization": f"Bearer {_token(w, 'juki-reader')}"}, timeout=30)
    assert denied.status_code == 403, denied.text
    assert "架空" not in denied.text


def test_openapi_describes_the_extra_table(world):
    import httpx
    w = world
    _served(w)
    spec = httpx.get(w.base + "/openapi.json", timeout=30).json()
    path = f"{TABLE_PATH}/{{atena_no}}"
    assert path in spec["paths"], sorted(p for p in spec["paths"] if "nouka" in p)
    op = spec["paths"][path]["get"]
    assert SCOPE in json.dumps(op, ensure_ascii=False)
    # the response model is generated from the definition: every item, its type, its code table
    schemas = spec["components"]["schemas"]
    model = next((v for v in schemas.values() if set(ITEMS) <= set((v.get("properties") or {}))), None)
    assert model is not None, [k for k in schemas if "ouka" in k.lower()]
    props = model["properties"]
    text = json.dumps(props["sengyo_kubun"], ensure_ascii=False)
    assert all(f'"{c}"' in text for c in "1234") and "専兼業別" in text
    assert "date" in json.dumps(props["toroku_date"])
    assert "boolean" in json.dumps(props["nintei_nogyosha"])


def _schemas_over_http(base: str) -> list:
    """The WSDL and every XSD it imports (recursively), fetched over HTTP as a SOAP client does."""
    import httpx
    from lxml import etree
    from urllib.parse import urljoin

    seen: dict[str, object] = {}
    todo = [base + "/platform/soap?wsdl"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        r = httpx.get(url, timeout=30)
        assert r.status_code == 200, (url, r.status_code)
        doc = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False, no_network=True))
        seen[url] = doc
        for el in doc.iter("{http://www.w3.org/2001/XMLSchema}import", "{http://www.w3.org/2001/XMLSchema}include"):
            loc = el.get("schemaLocation")
            if loc:
                todo.append(urljoin(url, loc))
    return list(seen.values())


def test_soap_xsd_includes_the_extra_table(world):
    w = world
    _served(w)
    xs = "{http://www.w3.org/2001/XMLSchema}"
    found = None
    for doc in _schemas_over_http(w.base):
        for ct in doc.iter(f"{xs}complexType"):
            names = {e.get("name") for e in ct.iter(f"{xs}element")}
            if set(ITEMS) <= names:
                found = ct
    assert found is not None, "no complexType with the items of nouka_setai in the WSDL's schemas"
    kubun = next(e for e in found.iter(f"{xs}element") if e.get("name") == "sengyo_kubun")
    assert sorted(e.get("value") for e in kubun.iter(f"{xs}enumeration")) == ["1", "2", "3", "4"]
    keiei = next(e for e in found.iter(f"{xs}element") if e.get("name") == "keiei_menseki")
    assert keiei.find(f".//{xs}fractionDigits").get("value") == "2"


def _zeep(w: World, cid: str):
    import zeep
    from zeep.transports import Transport
    from zeep.wsse.username import UsernameToken
    return zeep.Client(f"{w.base}/platform/soap?wsdl", transport=Transport(timeout=10, operation_timeout=30),
                       wsse=UsernameToken(cid, w.secrets[cid][1], use_digest=True))


def test_soap_reads_the_extra_table_under_its_scope(world):
    """The generic SOAP read (zeep over HTTP, WS-Security UsernameToken) under the same scope as REST."""
    from zeep.exceptions import Fault
    w = world
    _served(w)
    r = _zeep(w, "nouka-reader").service.KirokuShokai(TableId="nouka_setai", AtenaNo="0000200018")
    assert r.Count == 1
    rec = r.Record[0]._value_1
    assert rec.setainushi_shimei == "架空 太郎" and rec.sengyo_kubun == "1"
    assert rec.keiei_menseki == D("105.75") and rec.nintei_nogyosha is True
    with pytest.raises(Fault) as e:
        _zeep(w, "juki-reader").service.KirokuShokai(TableId="nouka_setai", AtenaNo="0000200018")
    assert SCOPE in e.value.message


# ------------------------------------------------------------------------------------------- handover
def test_isl_handover_export_import_verify(world):
    w = world
    assert w.rehearse.returncode == 0, w.rehearse.stdout + w.rehearse.stderr
    for fmt, enc in (("csv", "utf-8"), ("fixed", "cp932")):
        out = w.root / f"handover_{fmt}"
        p = w.kikan("export", "isl", "--store", w.store, "--out", str(out), "--gyomu", "nouka", "--format", fmt,
                    "--encoding", enc, "--quiet", check=True)
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert [(f["table"], f["records"], f["gyomu_id"]) for f in m["files"]] == [("nouka_setai", 5, "nouka")], p.stdout
        d = m["layout"]["definitions"]["nouka"]
        assert d["gyomu"] == "農家基本台帳" and d["tables"] == ["nouka_setai"]
        assert [c["id"] for c in m["files"][0]["columns"]][:len(ITEMS)] == ITEMS
        imp = w.kikan("import", "isl", str(out), "--store", f"sqlite:///{w.root / f'reimport_{fmt}.db'}", check=True)
        assert "nouka_setai: 5" in imp.stdout and "loaded 5 records" in imp.stdout
        ver = w.kikan("verify-export", str(out), "--store", w.store)
        assert ver.returncode == 0, ver.stdout + ver.stderr
        assert "一致" in ver.stdout and "(1 tables)" in ver.stdout
    # the 業務 by its name, as a clerk writes it
    byname = w.kikan("export", "isl", "--store", w.store, "--out", str(w.root / "byname"), "--gyomu", "農家基本台帳",
                     "--quiet", check=True)
    assert "nouka_setai.csv: 5 records" in byname.stdout
    # a changed byte is found and named (the 業務's file is checked like any other)
    out = w.root / "handover_csv"
    data = (out / "nouka_setai.csv").read_bytes().replace("105.75".encode(), "105.76".encode())
    (out / "nouka_setai.csv").write_bytes(data)
    bad = w.kikan("verify-export", str(out), "--store", w.store)
    assert bad.returncode == 1 and "nouka_setai.csv" in bad.stderr and "経営耕地面積 (a)" in bad.stderr


def test_kihon_data_list_of_the_extra_gyomu(world):
    """基本データリスト columns come from the definition when no item-name table is written for the 業務."""
    w = world
    assert w.rehearse.returncode == 0, w.rehearse.stdout + w.rehearse.stderr
    out = w.root / "kihon"
    w.kikan("export", "isl", "--store", w.store, "--out", str(out), "--gyomu", "nouka", "--format",
            "kihon-data-list", check=True)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [(f["table"], f["records"]) for f in m["files"]] == [("nouka_setai", 5)]
    f = m["files"][0]
    text = (out / f["path"]).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["宛名番号", "農家番号", "世帯主氏名", "住所", "専兼業別"]
    assert [r[0] for r in rows[1:]] == sorted(LOADED)
    assert rows[1][rows[0].index("経営耕地面積 (a)")] == "105.75" and rows[1][rows[0].index("登録年月日")] == "2013-04-01"
    ver = w.kikan("verify-export", str(out), "--store", w.store)
    assert ver.returncode == 0, ver.stdout + ver.stderr


# ------------------------------------------------------------------------------------------- EUC
def test_euc_extracts_the_extra_table(world):
    w = world
    assert w.rehearse.returncode == 0, w.rehearse.stdout + w.rehearse.stderr
    cat = w.kikan("euc", "tables", "--json", check=True)
    tables = {t["table"]: t for t in json.loads(cat.stdout)}
    assert tables["nouka_setai"]["gyomu"] == "農家基本台帳"
    assert [i["id"] for i in tables["nouka_setai"]["items"]][:len(ITEMS)] == ITEMS
    defn = str(w.root / "euc" / "nouka_menseki.yaml")
    for role, masked in (("担当", False), ("閲覧", True)):
        out = w.root / f"euc_{role}.csv"
        p = w.kikan("euc", "run", defn, "--file", "--out", str(out), "--role", role, "--who", "e2e", "--store",
                    w.store, check=True)
        assert "3 件" in p.stdout, p.stdout
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert rows[0] == ["宛名番号", "世帯主氏名", "専兼業別", "経営耕地面積 (a)", "認定農業者", "登録年月日"]
        assert [r[0] for r in rows[1:]] == ["0000200018", "0000200069", "0000200026"]
        assert [D(r[3]) for r in rows[1:]] == [D("105.75"), D("60.10"), D("52.00")]
        names = [r[1] for r in rows[1:]]
        if masked:
            assert all(n and n[0] in "架農見" for n in names) and "架空 太郎" not in names
        else:
            assert names == ["架空 太郎", "農地 桜子", "見本 花子"]
    audit = w.kikan("euc", "list", "--audit", "--json", "--store", w.store, check=True)
    assert sum(1 for r in json.loads(audit.stdout) if r["definition_name"] == "経営耕地10a以上の農家") == 2
