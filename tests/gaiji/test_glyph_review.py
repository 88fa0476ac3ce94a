"""The review page (`kikan gaiji review`): login by hub accounts, decisions into the register and
its log, driven over HTTP, in headless Chromium, and through to the next rehearsal."""
from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from .glyph_fonts import IPAEX, build_mj_subset, build_vendor, need_font, reference_chars

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("KIKAN_CHROMIUM") or "/usr/bin/chromium")
SYSTEM = "旧住基"
HDR = {"X-Kikan-Review": "1"}


class Server:
    def __init__(self, app):
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        t0 = time.time()
        while not self.server.started:
            assert time.time() - t0 < 20, "uvicorn did not start"
            time.sleep(0.02)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def mj_font(tmp_path_factory):
    return build_mj_subset(tmp_path_factory.mktemp("mjfont") / "mj-subset.ttf", reference_chars())


def start_review(tmp_path, mj_font, register: Path, vendor: Path, data_dir: Path):
    """(server, secrets by account) — accounts in a SQLite store, made with the hub's own registry."""
    from kikan_hub.api.auth.clients import ClientRegistry
    from kikan_hub.api.review.server import build_review_app
    from kikan_hub.api.server import prepare_store
    from kikan_hub.store.engine import open_engine

    engine = open_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    prepare_store(engine)
    master = secrets.token_bytes(32)
    reg = ClientRegistry(engine, master)
    accounts = {"reviewer": reg.add("review-tanaka", "田中 (市民課)", ["gaiji:register:write"]),
                "viewer": reg.add("juki-viewer", "照会のみ", ["juki:jumin:read"])}
    app = build_review_app(register=register, font=vendor, source_system=None, mj_font=mj_font, top=9,
                           data_dir=data_dir, engine=engine, master=master)
    return Server(app), accounts


def write_register(path: Path, rows: list[dict]) -> Path:
    from kikan_hub.gaiji.register import COLUMNS

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in COLUMNS})
    return path


@pytest.fixture
def review(tmp_path, mj_font, mj_index_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(mj_index_path, data / "mj_index.sqlite")         # readings and strokes on the page
    build_vendor(tmp_path / "vendor.ttf")
    register = write_register(tmp_path / "gaiji_register.csv", [
        {"source_system": SYSTEM, "source_code": "F040", "pua": "U+E000", "glyph_note": "高の異体?", "status": "未同定"},
        {"source_system": SYSTEM, "source_code": "F041", "pua": "U+E001", "status": "候補あり"},
        {"source_system": SYSTEM, "source_code": "F042", "pua": "U+E002", "mj": "MJ010516", "ucs": "5D0E",
         "status": "同定済", "decided_by": "市民課", "decided_at": "2024-02-01"},
    ])
    srv, accounts = start_review(tmp_path, mj_font, register, tmp_path / "vendor.ttf", data)
    try:
        yield srv, accounts, register
    finally:
        srv.stop()


def login(base: str, account) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    r = c.post("/api/login", json={"client_id": account.client_id, "secret": account.client_secret}, headers=HDR)
    assert r.status_code == 200, r.text
    return c


def register_row(path: Path, code: str) -> dict:
    with path.open(encoding="utf-8") as fh:
        return next(r for r in csv.DictReader(fh) if r["source_code"] == code)


def log_lines(path: Path) -> list[dict]:
    log = path.with_name(path.name + ".decisions.jsonl")
    return [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []


def test_login_by_hub_accounts_only(review):
    srv, accounts, _ = review
    with httpx.Client(base_url=srv.base, timeout=30) as c:
        assert c.get("/api/items").status_code == 401
        assert c.get("/glyph/vendor/U+E000.png").status_code == 401
        bad = c.post("/api/login", json={"client_id": "review-tanaka", "secret": "wrong"}, headers=HDR)
        assert bad.status_code == 401
        unknown = c.post("/api/login", json={"client_id": "nobody", "secret": "x"}, headers=HDR)
        assert unknown.status_code == 401 and unknown.json() == bad.json()      # ids are not told apart
        v = accounts["viewer"]
        r = c.post("/api/login", json={"client_id": v.client_id, "secret": v.client_secret}, headers=HDR)
        assert r.status_code == 403 and "gaiji:register:write" in r.json()["error"]
        nocsrf = c.post("/api/login", json={"client_id": "review-tanaka", "secret": accounts["reviewer"].client_secret})
        assert nocsrf.status_code == 400
    forged = httpx.get(f"{srv.base}/api/items", cookies={"kikan_review": f"review-tanaka|{int(time.time()) + 99}|AAAA"})
    assert forged.status_code == 401
    # the hub's throttle: after repeated wrong secrets for an id even the right one is refused for a while
    from kikan_hub.api.auth.throttle import ThrottlePolicy

    with httpx.Client(base_url=srv.base, timeout=30) as c:
        for _ in range(ThrottlePolicy().auth_failures_per_client - 1):      # one failure above already
            assert c.post("/api/login", json={"client_id": "review-tanaka", "secret": "x"}, headers=HDR).status_code == 401
        r = c.post("/api/login", json={"client_id": "review-tanaka", "secret": accounts["reviewer"].client_secret},
                   headers=HDR)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_items_show_undecided_with_candidates(review):
    srv, accounts, _ = review
    with closing(login(srv.base, accounts["reviewer"])) as c:
        items = c.get("/api/items").json()["items"]
        puas = [i["pua"] for i in items]
        assert "U+E000" in puas and "U+E001" in puas and "U+E002" not in puas    # 同定済 is not listed
        first = items[0]
        assert first["pua"] == "U+E000" and first["source_code"] == "F040" and first["glyph_note"] == "高の異体?"
        c0 = first["candidates"][0]
        assert len(first["candidates"]) == 9 and c0["rank"] == 1
        assert c0["mj"] == "MJ028901" and c0["text"] == "高" and c0["strokes"] == 10 and "たかい" in c0["yomi"]
        png = c.get(f"/glyph/mj/{c0['mj']}.png")
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.headers["cache-control"] == "no-store" and "default-src 'self'" in png.headers["content-security-policy"]
        assert len(c.get("/api/items?show=all").json()["items"]) == c.get("/api/items").json()["total"]


def test_decisions_go_through_the_register_log(review):
    srv, accounts, register = review
    with closing(login(srv.base, accounts["reviewer"])) as c:
        assert c.post("/api/decide", json={"pua": "U+E000", "action": "pick", "mj": "MJ028901"}).status_code == 400
        r = c.post("/api/decide", json={"pua": "U+E000", "action": "pick", "mj": "MJ028901", "note": "字形一致"},
                   headers=HDR)
        assert r.status_code == 200, r.text
        row = register_row(register, "F040")
        assert (row["status"], row["mj"], row["ucs"], row["pua"], row["decided_by"]) == \
            ("同定済", "MJ028901", "9AD8", "U+E000", "review-tanaka")
        last = log_lines(register)[-1]
        assert last["by"] == "review-tanaka" and last["key"] == [SYSTEM, "F040"]
        assert last["before"]["status"] == "未同定" and last["after"]["mj"] == "MJ028901"
        assert "確認ページ" in last["reason"] and "候補1" in last["reason"] and "字形一致" in last["reason"]
        assert last["at"] == row["decided_at"]
        # 候補なし: stays 未同定, marked, leaves the pending list; a note is appended and logged
        r = c.post("/api/decide", json={"pua": "U+E001", "action": "none", "note": "MJにない"}, headers=HDR)
        assert r.status_code == 200
        row = register_row(register, "F041")
        assert row["status"] == "未同定" and "【候補なし】" in row["glyph_note"] and "MJにない" in row["glyph_note"]
        pending = [i["pua"] for i in c.get("/api/items").json()["items"]]
        assert "U+E000" not in pending and "U+E001" not in pending
        # a vendor glyph without a register row gets one (source code from CP932)
        r = c.post("/api/decide", json={"pua": "U+E003", "action": "note", "note": "要確認"}, headers=HDR)
        assert r.status_code == 200 and register_row(register, "F043")["glyph_note"] == "要確認"
        bad = c.post("/api/decide", json={"pua": "U+E004", "action": "pick", "mj": "MJ999999"}, headers=HDR)
        assert bad.status_code == 422 and "MJ999999" in bad.json()["error"]
        # a later pick on a 候補なし row identifies it and drops the mark, keeping the reviewer's note
        r = c.post("/api/decide", json={"pua": "U+E001", "action": "pick", "mj": "MJ028902"}, headers=HDR)
        assert r.status_code == 200
        row = register_row(register, "F041")
        assert (row["status"], row["mj"], row["ucs"], row["glyph_note"]) == ("同定済", "MJ028902", "9AD9", "MJにない")
        assert "MJ番号を直接入力" not in log_lines(register)[-1]["reason"]      # it was one of the candidates
        assert len(log_lines(register)) == 4


def _chromium_or_skip():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must provide Debian chromium (.ci/services.sh installs it)")
        pytest.skip("no chromium here: run `source .ci/services.sh` (CI always does)")


def _page(chrome, session, expr: str, timeout: float = 20):
    """Evaluate until truthy (the page works asynchronously)."""
    t0 = time.time()
    while True:
        r = chrome.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                        session=session)["result"].get("value")
        if r:
            return r
        assert time.time() - t0 < timeout, f"timed out waiting for: {expr}"
        time.sleep(0.1)


def _key(chrome, session, key: str):
    for t in ("keyDown", "keyUp"):
        chrome.send("Input.dispatchKeyEvent", {"type": t, "key": key, "text": key if t == "keyDown" else "",
                                               "code": f"Digit{key}" if key.isdigit() else f"Key{key.upper()}"},
                    session=session)


def test_chromium_reviewer_picks_with_the_keyboard(review, tmp_path):
    _chromium_or_skip()
    sys.path.insert(0, str(PROJECT / "tests" / "validation"))
    import cdp_pipe

    cdp_pipe.CHROMIUM = str(CHROMIUM)
    srv, accounts, register = review
    chrome = cdp_pipe.Chrome(tmp_path / "profile")
    try:
        target = chrome.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = chrome.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        chrome.send("Network.enable", session=s)
        chrome.send("Page.enable", session=s)
        chrome.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1,
                                                           "mobile": False}, session=s)
        chrome.send("Page.navigate", {"url": srv.base + "/"}, session=s)
        _page(chrome, s, "!document.getElementById('login').hidden")
        acc = accounts["reviewer"]
        chrome.send("Runtime.evaluate", {"expression": f"""
            document.getElementById('client-id').value = {json.dumps(acc.client_id)};
            document.getElementById('secret').value = {json.dumps(acc.client_secret)};
            document.getElementById('login-button').click();"""}, session=s)
        _page(chrome, s, "document.querySelectorAll('#cands tbody tr').length === 9")
        assert _page(chrome, s, "document.getElementById('v-pua').textContent") == "U+E000"
        # n moves on, p comes back; 1 picks the first candidate of the character shown
        _key(chrome, s, "n")
        _page(chrome, s, "document.getElementById('v-pua').textContent === 'U+E001'")
        _key(chrome, s, "p")
        _page(chrome, s, "document.getElementById('v-pua').textContent === 'U+E000'")
        first = _page(chrome, s, "document.querySelector('#cands tbody tr').dataset.mj")
        _key(chrome, s, "1")
        msg = _page(chrome, s, "document.getElementById('status').className === 'ok' && "
                               "document.getElementById('status').textContent")
        assert "U+E000" in msg and first in msg and "review-tanaka" in msg
        row = register_row(register, "F040")
        assert (row["status"], row["mj"], row["decided_by"]) == ("同定済", first, "review-tanaka")
        last = log_lines(register)[-1]
        assert last["key"] == [SYSTEM, "F040"] and last["after"]["mj"] == first and last["by"] == "review-tanaka"
        # the decided character left the list; the next undecided one is shown
        assert _page(chrome, s, "document.getElementById('v-pua').textContent") == "U+E001"
        assert not _page(chrome, s, "[...document.querySelectorAll('#items li')].map(li => li.dataset.pua)").count("U+E000")
        _key(chrome, s, "0")
        _page(chrome, s, "document.getElementById('status').textContent.includes('候補なし')")
        assert "【候補なし】" in register_row(register, "F041")["glyph_note"]
        # every glyph image on the page arrived and decoded (vendor glyph, list, nine candidates)
        _page(chrome, s, "document.images.length >= 10 && "
                         "[...document.images].every(i => i.complete && i.naturalWidth === 96)")
        shot = os.environ.get("KIKAN_REVIEW_SCREENSHOT")       # docs/gaiji.md's screenshot is taken this way
        if shot:
            import base64

            data = chrome.send("Page.captureScreenshot", {"format": "png"}, session=s)["data"]
            Path(shot).write_bytes(base64.b64decode(data))
        requests = [e["params"]["request"]["url"] for e in chrome.events
                    if e.get("method") == "Network.requestWillBeSent"]
        assert requests and all(u.startswith(srv.base) for u in requests), "no external assets"
    finally:
        chrome.close()


def test_next_rehearsal_resolves_the_decided_character(tmp_path, mj_font, mj_index_path):
    """A sample extract with one unidentified character (濵の異体 at U+E00B): the first rehearsal
    quarantines its records; the reviewer picks on the page; the next rehearsal loads them."""
    import pyarrow.parquet as pq

    from kikan_hub.gaiji.glyphs.vendor_font import build_outline_font

    def kikan(*args):
        return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], capture_output=True, text=True,
                              cwd=PROJECT)

    def unresolved(run: Path) -> int:
        n = 0
        for p in (run / "quarantine").glob("*.parquet"):
            n += sum("GAIJI-UNRESOLVED" in r for r in pq.read_table(p).column("rule_ids").to_pylist())
        return n

    sample = tmp_path / "extract"
    p = kikan("sample", "--residents", "2000", "--out", str(sample), "--seed", "3", "--unidentified-gaiji", "1", "--quiet")
    assert p.returncode == 0, p.stderr
    register = sample / "gaiji_register.csv"
    row = next(r for r in csv.DictReader(register.open(encoding="utf-8")) if r["status"] != "同定済")
    p = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{tmp_path / 'a.db'}",
              "--run-dir", str(tmp_path / "run1"), "--quiet")
    assert p.returncode == 0, p.stderr
    before = unresolved(tmp_path / "run1")
    assert before > 0
    # the vendor's font: its glyph for that code point (drawn by another foundry)
    vendor = tmp_path / "vendor.ttf"
    build_outline_font(need_font(IPAEX), ["濵"], vendor, start=int(row["pua"][2:], 16))
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(mj_index_path, data / "mj_index.sqlite")
    srv, accounts = start_review(tmp_path, mj_font, register, vendor, data)
    try:
        with closing(login(srv.base, accounts["reviewer"])) as c:
            item = c.get("/api/items").json()["items"][0]
            assert item["pua"] == row["pua"] and item["source_code"] == row["source_code"]
            pick = next(x for x in item["candidates"] if x["text"] == "濵")
            assert pick["rank"] == 1
            r = c.post("/api/decide", json={"pua": item["pua"], "action": "pick", "mj": pick["mj"]}, headers=HDR)
            assert r.status_code == 200, r.text
    finally:
        srv.stop()
    p = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{tmp_path / 'b.db'}",
              "--run-dir", str(tmp_path / "run2"), "--quiet")
    assert p.returncode == 0, p.stderr
    assert unresolved(tmp_path / "run2") == 0
    s1 = json.loads((tmp_path / "run1" / "summary.json").read_text(encoding="utf-8"))
    s2 = json.loads((tmp_path / "run2" / "summary.json").read_text(encoding="utf-8"))
    assert s2["records_loaded"] == s1["records_loaded"] + before
    import sqlalchemy as sa

    with sa.create_engine(f"sqlite:///{tmp_path / 'b.db'}").connect() as c:
        hits = c.execute(sa.text("select count(*) from juki_jumin where shimei like '%濵%' or jusho like '%濵%'")).scalar()
    assert hits > 0


def test_cli_review_serves_and_refuses_bad_setups(tmp_path, mj_font):
    """`kikan gaiji review` as a process: serves the page; no master key / two systems → exit 2."""
    from kikan_hub.api.auth.clients import ClientRegistry
    from kikan_hub.api.server import prepare_store
    from kikan_hub.store.engine import open_engine

    build_vendor(tmp_path / "vendor.ttf", list("高髙"))
    register = write_register(tmp_path / "r.csv", [{"source_system": SYSTEM, "source_code": "F040", "pua": "U+E000"}])
    store = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = open_engine(store)
    prepare_store(engine)
    key = secrets.token_hex(32)
    acc = ClientRegistry(engine, bytes.fromhex(key)).add("review-sato", "佐藤", ["gaiji:register:write"])
    engine.dispose()
    base = [sys.executable, "-m", "kikan_hub.api.cli", "gaiji", "review", "--register", str(register),
            "--font", str(tmp_path / "vendor.ttf"), "--mj-font", str(mj_font), "--store", store,
            "--data-dir", str(tmp_path / "data")]
    env = {**os.environ, "KIKAN_SECRET_KEY": "", "KIKAN_SECRET_KEY_FILE": str(tmp_path / "none.key")}
    p = subprocess.run(base + ["--port", "1"], capture_output=True, text=True, cwd=PROJECT, env=env, timeout=300)
    assert p.returncode == 2 and "KIKAN_SECRET_KEY" in p.stderr and "Traceback" not in p.stderr
    two = write_register(tmp_path / "two.csv", [{"source_system": "A", "source_code": "F040"},
                                                {"source_system": "B", "source_code": "F041"}])
    p = subprocess.run(base[:6] + [str(two)] + base[7:], capture_output=True, text=True, cwd=PROJECT, env=env, timeout=300)
    assert p.returncode == 2 and "--source-system" in p.stderr
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(base + ["--port", str(port)], cwd=PROJECT, env={**env, "KIKAN_SECRET_KEY": key},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        t0 = time.time()
        while True:
            try:
                page = httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.time() - t0 < 120, "the review server did not come up"
                time.sleep(0.3)
        assert page.status_code == 200 and "外字同定 確認ページ" in page.text
        assert "http" not in page.text.replace(url, "")                 # no external asset referenced
        with closing(login(url, acc)) as c:
            items = c.get("/api/items").json()["items"]
        assert [i["pua"] for i in items] == ["U+E000", "U+E001"]
        assert items[0]["candidates"][0]["mj"] == "MJ028901"           # 高
    finally:
        proc.terminate()
        proc.wait(20)
