"""Benchmark: 住民情報照会 (SOAP, by 宛名番号) latency and throughput on loopback.

    .venv/bin/python bench/interfaces.py [--residents 100000] [--requests 3000] [--concurrency 8]

Fills a fresh SQLite store with N residents (SQLAlchemy executemany, one transaction), starts
`kikan serve`'s app under uvicorn in a child process on 127.0.0.1 (a free port), registers a
client, then measures with raw HTTP (httpx, a fresh WS-Security UsernameToken per request, so every
call pays the full path: parse → digest check → XSD validation → query → audit insert → response
validation) sequentially (p50/p99) and with C concurrent connections (throughput), and a short
run through zeep (what a vendor's Python client would see).
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from kikan_hub.validation.check_digits import m11_check_digit  # noqa: E402


def m11(body: str) -> str:
    return body + str(m11_check_digit(body))


def fill(engine, n: int) -> list[str]:
    from kikan_hub.store.schema import build_metadata
    t = build_metadata().tables["juki_jumin"]
    cols = [c.name for c in t.columns]
    rnd = random.Random(7)
    atena = []
    rows = []
    t0 = time.perf_counter()
    for i in range(n):
        a = m11(f"{i + 1:09d}")
        s = m11(f"5{(i // 3) + 1:08d}")
        b = dt.date(1940, 1, 1) + dt.timedelta(days=rnd.randrange(0, 30000))
        d = dt.date(2000, 1, 1) + dt.timedelta(days=rnd.randrange(0, 8000))
        row = dict.fromkeys(cols)
        row.update(atena_no=a, rireki_no=1, setai_no=s, jumin_shubetsu="1", jumin_jotai="1",
                   shimei=f"架空 太郎{i}", shimei_kana=f"カクウ タロウ{i % 1000}", birth_date=b,
                   birth_date_literal=f"{b:%Y%m%d}", birth_date_unknown=False, seibetsu=str(1 + i % 2),
                   zokugara="01" if i % 3 == 0 else "20", jusho="架空市本町一丁目1番地", jusho_code="123456789",
                   yubin_no="1000001", kojin_bango=m11(f"{i + 10_000_000_000:011d}"), idou_jiyu="11", idou_date=d,
                   idou_date_literal=f"{d:%Y%m%d}", idou_date_unknown=False, shori_date=d, _run_id="bench")
        rows.append(row)
        atena.append(a)
    with engine.begin() as conn:
        for i in range(0, n, 20_000):
            conn.execute(insert(t), rows[i:i + 20_000])
    print(f"filled {n:,} residents in {time.perf_counter() - t0:.1f} s", flush=True)
    return atena


def token(user: str, pw: str) -> str:
    nonce = secrets.token_bytes(16)
    created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    dig = base64.b64encode(hashlib.sha1(nonce + created.encode() + pw.encode()).digest()).decode()
    return ('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"'
            ' xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
            f'<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org'
            f'/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{dig}</wsse:Password>'
            f'<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{created}</wsu:Created>'
            '</wsse:UsernameToken></wsse:Security>')


def envelope(user, pw, atena) -> bytes:
    return ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="urn:kikan-hub:platform:v1">'
            f'<soap:Header>{token(user, pw)}</soap:Header><soap:Body><p:JuminJohoShokaiRequest>'
            f'<p:AtenaNo>{atena}</p:AtenaNo></p:JuminJohoShokaiRequest></soap:Body></soap:Envelope>').encode()


SERVER = """
import logging, sys, uvicorn
from kikan_hub.api.server import build_hub, create_app
from kikan_hub.store.engine import open_engine
logging.basicConfig(level=logging.WARNING)
engine = open_engine(sys.argv[1])
uvicorn.run(create_app(build_hub(engine)), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            access_log=False)
"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--zeep-requests", type=int, default=300)
    args = ap.parse_args()
    import httpx

    from kikan_hub.api.auth.clients import ClientRegistry
    from kikan_hub.api.server import prepare_store
    from kikan_hub.store.engine import open_engine

    tmp = Path(tempfile.mkdtemp(prefix="kikan-bench-"))
    url = f"sqlite:///{tmp / 'kikan.db'}"
    master_hex = secrets.token_hex(32)
    engine = open_engine(url)
    prepare_store(engine)
    atena = fill(engine, args.residents)
    issued = ClientRegistry(engine, bytes.fromhex(master_hex)).add("bench", "bench", ["juki:jumin:read"])
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KIKAN_SECRET_KEY": master_hex, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/platform/soap?wsdl", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        rnd = random.Random(1)
        hdrs = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:kikan-hub:platform:v1#JuminJohoShokai"'}
        with httpx.Client(base_url=base, headers=hdrs, timeout=30) as c:
            for _ in range(50):  # warm-up
                c.post("/platform/soap", content=envelope("bench", issued.soap_password, rnd.choice(atena)))
            lat = []
            for _ in range(args.requests):
                body = envelope("bench", issued.soap_password, rnd.choice(atena))
                t0 = time.perf_counter()
                r = c.post("/platform/soap", content=body)
                lat.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200 and b"<p:Count>1</p:Count>" in r.content, r.text[:300]
        print(f"sequential: {args.requests} calls  p50 {statistics.median(lat):.2f} ms  p99 {pct(lat, 99):.2f} ms  "
              f"max {max(lat):.2f} ms  ({1000 / statistics.mean(lat):.0f} req/s on one connection)")

        per = args.requests // args.concurrency
        errors = []
        clat: list[float] = []

        def worker(seed):
            rr = random.Random(seed)
            with httpx.Client(base_url=base, headers=hdrs, timeout=60) as cc:
                for _ in range(per):
                    t0 = time.perf_counter()
                    r = cc.post("/platform/soap", content=envelope("bench", issued.soap_password, rr.choice(atena)))
                    clat.append((time.perf_counter() - t0) * 1000)
                    if r.status_code != 200:
                        errors.append(r.status_code)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.concurrency)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        n = per * args.concurrency
        print(f"concurrent: {n} calls over {args.concurrency} connections in {wall:.2f} s = {n / wall:.0f} req/s  "
              f"p50 {statistics.median(clat):.2f} ms  p99 {pct(clat, 99):.2f} ms  errors {len(errors)}")

        import zeep
        from zeep.wsse.username import UsernameToken
        z = zeep.Client(f"{base}/platform/soap?wsdl", wsse=UsernameToken("bench", issued.soap_password, use_digest=True))
        zl = []
        for _ in range(args.zeep_requests):
            t0 = time.perf_counter()
            z.service.JuminJohoShokai(AtenaNo=rnd.choice(atena))
            zl.append((time.perf_counter() - t0) * 1000)
        print(f"zeep client: {args.zeep_requests} calls  p50 {statistics.median(zl):.2f} ms  p99 {pct(zl, 99):.2f} ms")
        print(f"command: .venv/bin/python bench/interfaces.py --residents {args.residents} --requests {args.requests} "
              f"--concurrency {args.concurrency}   (store {url}, uvicorn 1 worker, SQLite WAL, audit on)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
