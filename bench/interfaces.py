"""Benchmark: 住民情報照会 (SOAP + WS-Security, by 宛名番号) latency at a fixed offered rate.

    .venv/bin/python bench/interfaces.py [--residents 100000] [--rate 200] [--concurrency 8] [--seconds 20]

Fills a fresh SQLite store with N residents (plain DB-API executemany, indexes in place), starts
`kikan serve`'s app under uvicorn in a child process on 127.0.0.1 (one worker, audit on, access
log off), registers a client, then:

1. phases — in this process, on the same store, the time of each step of one call: parse,
   UsernameToken digest check, request XSD validation, query, 支援措置 guard, response build, response XSD
   validation, audit write (committed), serialisation;
2. open loop — C keep-alive connections together offer RATE requests/s for SECONDS (each
   connection sends at fixed times; latency is counted from the *scheduled* send time, so a slow
   answer that delays the next request is not hidden), a fresh UsernameToken per request;
3. baseline — the same load on GET /platform/xsd/jumin-types.xsd (HTTP stack only) in the same
   run; the ratio of the two p99s is printed.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from kikan_hub.validation.check_digits import m11_check_digit  # noqa: E402


def m11(body: str) -> str:
    return body + str(m11_check_digit(body))


def fill(engine, n: int) -> list[str]:
    """N residents, one history row each, written with the DB-API in chunks (bounded memory)."""
    from kikan_hub.store.schema import build_metadata
    t = build_metadata().tables["juki_jumin"]
    cols = [c.name for c in t.columns]
    sql = f"INSERT INTO juki_jumin ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    rnd = random.Random(7)
    atena: list[str] = []
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for start in range(0, n, 50_000):
            rows = []
            for i in range(start, min(n, start + 50_000)):
                a = m11(f"{i + 1:09d}")
                b = dt.date(1940, 1, 1) + dt.timedelta(days=rnd.randrange(0, 30000))
                d = dt.date(2000, 1, 1) + dt.timedelta(days=rnd.randrange(0, 8000))
                row = dict.fromkeys(cols)
                row.update(atena_no=a, rireki_no=1, setai_no=m11(f"5{(i // 3) + 1:08d}"), jumin_shubetsu="1",
                           jumin_jotai="1", shimei=f"架空 太郎{i}", shimei_kana=f"カクウ タロウ{i % 1000}",
                           birth_date=b.isoformat(), birth_date_literal=f"{b:%Y%m%d}", birth_date_unknown=0,
                           seibetsu=str(1 + i % 2), zokugara="01" if i % 3 == 0 else "20",
                           jusho="架空市本町一丁目1番地", jusho_code="123456789", yubin_no="1000001",
                           kojin_bango=m11(f"{i + 10_000_000_000:011d}"), idou_jiyu="11", idou_date=d.isoformat(),
                           idou_date_literal=f"{d:%Y%m%d}", idou_date_unknown=0, shori_date=d.isoformat(),
                           _run_id="bench")
                rows.append(tuple(row[c] for c in cols))
                atena.append(a)
            cur.executemany(sql, rows)
            raw.commit()
    finally:
        raw.close()
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
from kikan_hub.api.auth.throttle import ThrottlePolicy
from kikan_hub.store.engine import open_engine
logging.basicConfig(level=logging.WARNING)
engine = open_engine(sys.argv[1])
uvicorn.run(create_app(build_hub(engine, throttle=ThrottlePolicy.disabled(), audit_sync=sys.argv[3])), host="127.0.0.1",
            port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def phases(url: str, master: bytes, atena: list[str], password: str, sync: str, n: int = 400) -> dict[str, float]:
    """Median ms of each step of one 住民情報照会, run in this process with the server's own objects."""
    from lxml import etree

    from kikan_hub.api.server import build_hub
    from kikan_hub.api.soap import service as sv
    from kikan_hub.store.engine import open_engine
    engine = open_engine(url)
    hub = build_hub(engine, master, audit_sync=sync)
    soap = hub.soap
    rnd = random.Random(3)
    steps: dict[str, list[float]] = {k: [] for k in ("parse", "wsse digest", "request XSD", "query", "支援措置 guard", "response build",
                                                     "response XSD", "audit write", "serialise", "whole call")}
    for i in range(n):
        body = envelope("bench", password, rnd.choice(atena))
        t = [time.perf_counter()]
        root = etree.fromstring(body, sv.safe_parser())
        t.append(time.perf_counter())
        header = root.find(f"{{{sv.SOAP_ENV}}}Header")
        req = root.find(f"{{{sv.SOAP_ENV}}}Body")[0]
        client = soap.verifier.verify(header)
        t.append(time.perf_counter())
        assert soap.schema.validate(req)
        t.append(time.perf_counter())
        rows = soap.queries.resident_by_atena(req.findtext(f"{{{sv.NS}}}AtenaNo"))
        t.append(time.perf_counter())
        rows, _ = soap._guard(client, "JuminJohoShokai", rows)
        t.append(time.perf_counter())
        resp = etree.Element(f"{{{sv.NS}}}JuminJohoShokaiResponse", nsmap={"p": sv.NS, "t": sv.TYPES_NS})
        etree.SubElement(resp, f"{{{sv.NS}}}Count").text = str(len(rows))
        for r in rows:
            sv._record(resp, "Jumin", "Jumin", r, {"kojin_bango"})
        t.append(time.perf_counter())
        assert soap.schema.validate(resp)
        t.append(time.perf_counter())
        soap.audit.record(client_id=client.client_id, interface="soap", operation="JuminJohoShokai", outcome="ok",
                          atena_nos=[r["atena_no"] for r in rows])
        t.append(time.perf_counter())
        env = etree.Element(f"{{{sv.SOAP_ENV}}}Envelope", nsmap={"soap": sv.SOAP_ENV, "p": sv.NS, "t": sv.TYPES_NS})
        etree.SubElement(env, f"{{{sv.SOAP_ENV}}}Body").append(resp)
        etree.tostring(env, xml_declaration=True, encoding="utf-8")
        t.append(time.perf_counter())
        st, _, _ = soap.handle_http(envelope("bench", password, rnd.choice(atena)), "127.0.0.1")
        t.append(time.perf_counter())
        assert st == 200
        for k, a, b in zip(steps, t, t[1:]):
            steps[k].append((b - a) * 1000)
    engine.dispose()
    return {k: statistics.median(v) for k, v in steps.items()}


def open_loop(port: int, make, rate: float, conns: int, seconds: float, check) -> tuple[list[float], int, float]:
    """``conns`` keep-alive connections (asyncio, raw HTTP/1.1: the load generator must cost far less
    than the server) together offer ``rate`` requests/s; connection k sends request j at the fixed time
    start + (j*conns + k)/rate and latency is counted from that *scheduled* time, so a late answer
    that delays the next send is not hidden (no coordinated omission). ``make(rng)`` returns the
    request bytes; ``check(status, body)`` says whether the answer is right.
    Returns (latencies ms, errors, achieved req/s)."""
    import asyncio

    async def run() -> tuple[list[float], int, float]:
        lat: list[float] = []
        errors = 0
        per = int(seconds * rate / conns)
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.3

        async def conn(k: int) -> None:
            nonlocal errors
            rr = random.Random(k)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for j in range(per):
                due = start + (j * conns + k) / rate
                data = make(rr)
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(data)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                lat.append((loop.time() - due) * 1000)
                if not check(status, body):
                    errors += 1
            writer.close()
        await asyncio.gather(*(conn(k) for k in range(conns)))
        return lat, errors, len(lat) / (loop.time() - start)
    return asyncio.run(run())


def http_request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    hs = {"Host": "127.0.0.1", "Content-Length": str(len(body)), **(headers or {})}
    return (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hs.items()) + "\r\n"
            ).encode() + body


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc): the server's cost, whatever else loads the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(lat: list[float]) -> str:
    return (f"p50 {statistics.median(lat):.2f} ms  p95 {pct(lat, 95):.2f} ms  p99 {pct(lat, 99):.2f} ms  "
            f"max {max(lat):.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=200.0, help="offered requests per second (all connections)")
    ap.add_argument("--concurrency", type=int, default=8, help="keep-alive connections")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--audit-sync", choices=("full", "normal"), default="full",
                    help="SQLite audit commits: full = fsync each commit; normal = WAL without fsync")
    ap.add_argument("--store-dir", type=Path, default=None, help="where the SQLite store goes (default: a temp dir)")
    args = ap.parse_args()
    import httpx

    from kikan_hub.api.auth.clients import ClientRegistry
    from kikan_hub.api.server import prepare_store
    from kikan_hub.store.engine import open_engine

    tmp = args.store_dir or Path(tempfile.mkdtemp(prefix="kikan-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp / 'kikan.db'}"
    master_hex = secrets.token_hex(32)
    engine = open_engine(url)
    prepare_store(engine)
    with engine.connect() as c:
        have = c.exec_driver_sql("SELECT count(*) FROM juki_jumin").scalar()
        c.exec_driver_sql("DELETE FROM kikan_api_clients")
        c.commit()
    if have == args.residents:   # --store-dir kept from an earlier run with the same size: same rows
        atena = [m11(f"{i + 1:09d}") for i in range(have)]
        print(f"reusing {have:,} residents in {tmp}", flush=True)
    else:
        atena = fill(engine, args.residents)
    issued = ClientRegistry(engine, bytes.fromhex(master_hex)).add("bench", "bench", ["juki:jumin:read"])
    engine.dispose()
    ph = phases(url, bytes.fromhex(master_hex), atena, issued.soap_password, args.audit_sync)
    whole = ph.pop("whole call")
    print(f"phases (median ms of one call, in-process, sequential): whole call {whole:.2f}")
    for k, v in ph.items():
        print(f"  {k:<15} {v:6.2f}  ({v / whole * 100:4.1f} %)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KIKAN_SECRET_KEY": master_hex, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port), args.audit_sync], env=env)
    base = f"http://127.0.0.1:{port}"
    hdrs = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:kikan-hub:platform:v1#JuminJohoShokai"'}
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/platform/soap?wsdl", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)

        def soap_req(rr):
            return http_request("POST", "/platform/soap", envelope("bench", issued.soap_password, rr.choice(atena)),
                                hdrs)

        def soap_ok(status, body):
            return status == 200 and b"<p:Count>1</p:Count>" in body

        xsd = http_request("GET", "/platform/xsd/jumin-types.xsd")
        open_loop(port, soap_req, args.rate, args.concurrency, 2, soap_ok)   # warm-up
        c0 = cpu_seconds(proc.pid)
        base_lat, base_err, base_rate = open_loop(port, lambda rr: xsd, args.rate, args.concurrency,
                                                  args.seconds / 2, lambda st, b: st == 200)
        c1 = cpu_seconds(proc.pid)
        lat, err, got = open_loop(port, soap_req, args.rate, args.concurrency, args.seconds, soap_ok)
        c2 = cpu_seconds(proc.pid)
        base_cpu, soap_cpu = (c1 - c0) * 1000 / len(base_lat), (c2 - c1) * 1000 / len(lat)
        print(f"baseline GET xsd : {len(base_lat)} calls at {base_rate:.0f} req/s  {summary(base_lat)}  errors {base_err}")
        print(f"住民情報照会 SOAP : {len(lat)} calls at {got:.0f} req/s over {args.concurrency} connections  "
              f"{summary(lat)}  errors {err}")
        print(f"server CPU per request: baseline {base_cpu:.2f} ms, 住民情報照会 {soap_cpu:.2f} ms "
              f"(one core sustains ≈ {1000 / soap_cpu:.0f} req/s of 住民情報照会)")
        import importlib.util as iu
        print(f"uvicorn http={'httptools' if iu.find_spec('httptools') else 'h11'} "
              f"loop={'uvloop' if iu.find_spec('uvloop') else 'asyncio'}")
        print(f"audit sync: {args.audit_sync}; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"p99 ratio SOAP / baseline: {pct(lat, 99) / pct(base_lat, 99):.2f}x   "
              f"(store {args.residents:,} residents, SQLite WAL, uvicorn 1 worker, audit on)")
        print(f"command: .venv/bin/python bench/interfaces.py --residents {args.residents} --rate {args.rate:g} "
              f"--concurrency {args.concurrency} --seconds {args.seconds:g} --audit-sync {args.audit_sync}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
