"""Test data (a small filled store) and a real uvicorn server on 127.0.0.1 in a thread."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import socket
import threading
import time

import uvicorn
from sqlalchemy import insert

from kikan_hub.validation.check_digits import m11_check_digit

D = dt.date


def m11(body: str) -> str:
    return body + str(m11_check_digit(body))


# 宛名番号 / 世帯番号 / 個人番号 with valid check digits
A1, A2, A3, A4, A5 = (m11(f"00001000{i}") for i in range(1, 6))
S1, S2, S3 = (m11(f"00005000{i}") for i in range(1, 4))
KB2 = m11("12345678901")  # 個人番号 of A2 (12 digits)
KB5 = m11("98765432109")


def jumin_row(atena, rireki, setai, shimei, kana, birth, zokugara, idou_jiyu, idou_date, *, jotai="1", kojin=None,
              shojo=None, seibetsu="1", run="run-1"):
    return {
        "atena_no": atena, "rireki_no": rireki, "setai_no": setai, "jumin_shubetsu": "1", "jumin_jotai": jotai,
        "shimei": shimei, "shimei_kana": kana, "birth_date": birth,
        "birth_date_literal": f"{birth:%Y%m%d}" if birth else "昭和○年頃", "birth_date_unknown": birth is None,
        "seibetsu": seibetsu, "zokugara": zokugara, "setainushi_shimei": "架空 太郎", "jusho": "架空市本町一丁目1番地",
        "katagaki": None, "jusho_code": "123456789", "machiaza": "本町", "yubin_no": "1000001", "honseki": None,
        "hittosha": None, "jumin_date": idou_date, "jumin_date_literal": f"{idou_date:%Y%m%d}",
        "jumin_date_unknown": False, "jusho_date": idou_date, "jusho_date_literal": f"{idou_date:%Y%m%d}",
        "jusho_date_unknown": False, "kojin_bango": kojin, "juminhyo_code": None, "idou_jiyu": idou_jiyu,
        "idou_date": idou_date, "idou_date_literal": f"{idou_date:%Y%m%d}", "idou_date_unknown": False,
        "todokede_date": idou_date, "shori_date": idou_date, "tennyu_mae_jusho": None, "tenshutsu_saki_jusho": None,
        "shojo_jiyu": shojo, "shojo_date": None, "shojo_date_literal": None, "shojo_date_unknown": None,
        "_run_id": run, "_source_file": "JUMIN.DAT", "_source_sha256": "0" * 64, "_source_offset": 0,
        "_record_no": 1, "_flags": None,
    }


JUMIN_ROWS = [
    jumin_row(A1, 1, S1, "架空 太郎", "カクウ タロウ", D(1970, 5, 1), "01", "11", D(2010, 4, 1)),
    jumin_row(A2, 1, S1, "架空 花子", "カクウ ハナコ", D(1972, 8, 9), "12", "11", D(2010, 4, 1), kojin=KB2, seibetsu="2"),
    jumin_row(A3, 1, S1, "架空 一郎", "カクウ イチロウ", D(2015, 6, 1), "20", "13", D(2015, 6, 1)),
    jumin_row(A3, 2, S2, "架空 一郎", "カクウ イチロウ", D(2015, 6, 1), "01", "41", D(2022, 4, 1)),
    jumin_row(A4, 1, S1, "架空 次郎", "カクウ ジロウ", D(2000, 1, 2), "20", "11", D(2010, 4, 1)),
    jumin_row(A4, 2, S1, "架空 次郎", "カクウ ジロウ", D(2000, 1, 2), "20", "21", D(2019, 3, 31), jotai="2", shojo="21"),
    jumin_row(A5, 1, S3, "見本 𠮷子", "ミホン ヨシコ", None, "01", "12", D(2021, 1, 5), kojin=KB5, seibetsu="2"),
]

SETAI_ROWS = [
    {"setai_no": S1, "rireki_no": 1, "setainushi_atena_no": A1, "setainushi_shimei": "架空 太郎",
     "jusho": "架空市本町一丁目1番地", "jusho_code": "123456789", "yubin_no": "1000001",
     "setai_kosei_date": D(2010, 4, 1), "shori_date": D(2010, 4, 1), "_run_id": "run-1"},
    {"setai_no": S2, "rireki_no": 1, "setainushi_atena_no": A3, "setainushi_shimei": "架空 一郎",
     "jusho": "架空市本町二丁目2番地", "jusho_code": "123456780", "yubin_no": "1000002",
     "setai_kosei_date": D(2022, 4, 1), "shori_date": D(2022, 4, 1), "_run_id": "run-1"},
]


def fill_store(engine) -> None:
    from kikan_hub.store.schema import build_metadata
    md = build_metadata()
    with engine.begin() as conn:
        conn.execute(insert(md.tables["juki_jumin"]), JUMIN_ROWS)
        conn.execute(insert(md.tables["juki_setai"]), SETAI_ROWS)


class LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001
            self.lines.append(str(record.msg))


class RunningServer:
    def __init__(self, app, hub, logs: LogCapture):
        self.app, self.hub, self.logs = app, hub, logs
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.sock = sock
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=True, log_level="info",
                                                    limit_concurrency=200, timeout_keep_alive=5))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread.start()
        t0 = time.time()
        while not self.server.started:
            if time.time() - t0 > 20:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


def zeep_client(base: str, username: str, password: str, **token_kw):
    import zeep
    from zeep.transports import Transport
    from zeep.wsse.username import UsernameToken

    return zeep.Client(f"{base}/platform/soap?wsdl", transport=Transport(timeout=10, operation_timeout=30),
                       wsse=UsernameToken(username, password, use_digest=True, **token_kw))


SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
PNS = "urn:kikan-hub:platform:v1"


def wsse_header(username: str, password: str, *, created: dt.datetime | None = None, nonce: bytes | None = None,
                digest: bool = True) -> str:
    import base64
    import hashlib
    nonce = nonce or secrets.token_bytes(16)
    created_s = (created or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pw = base64.b64encode(hashlib.sha1(nonce + created_s.encode() + password.encode()).digest()).decode()
    ptype = "PasswordDigest" if digest else "PasswordText"
    return (f'<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
            f'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
            f'<wsse:UsernameToken><wsse:Username>{username}</wsse:Username>'
            f'<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#{ptype}">{pw}</wsse:Password>'
            f'<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{created_s}</wsu:Created>'
            f'</wsse:UsernameToken></wsse:Security>')


def envelope(payload: str, header: str = "", env_ns: str = SOAP11, prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<soap:Envelope xmlns:soap="{env_ns}" xmlns:p="{PNS}">'
            f'<soap:Header>{header}</soap:Header><soap:Body>{payload}</soap:Body></soap:Envelope>').encode("utf-8")


def post_soap(base: str, body: bytes, action: str = "JuminJohoShokai"):
    import httpx
    return httpx.post(f"{base}/platform/soap", content=body, timeout=30,
                      headers={"Content-Type": "text/xml; charset=utf-8",
                               "SOAPAction": f'"urn:kikan-hub:platform:v1#{action}"'})


def fault_code(resp) -> tuple[str, str]:
    from lxml import etree
    root = etree.fromstring(resp.content)
    f = root.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert f is not None, resp.text
    return f.findtext("faultcode"), f.findtext(f"detail/{{{PNS}}}FaultDetail/{{{PNS}}}Code")


# --- helpers of the security-finding tests (issue 15) -------------------------------------------
def rest_token(base: str, cid: str, secret: str, scope: str | None = None) -> str:
    import base64

    import httpx
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    auth = {"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()}
    r = httpx.post(f"{base}/api/v1/token", data=data, headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def add_client(hub, cid: str, scopes: list[str]):
    return hub.clients.add(cid, cid, scopes)


def audit_rows(hub, wait: float = 0.3) -> list:
    """Every audit entry so far (the SQLite writer commits in groups: each caller waits for its own row,
    so by the time a response arrived its row is committed; the pause covers denied/failed paths)."""
    time.sleep(wait)
    return hub.audit.query(limit=100000)


def set_throttle(hub, policy) -> None:
    from kikan_hub.api.auth.throttle import Throttle
    hub.throttle = Throttle(policy)
    hub.soap.throttle = hub.throttle
