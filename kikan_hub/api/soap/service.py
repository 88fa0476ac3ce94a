"""The SOAP 1.1 endpoint: safe parsing, WS-Security, XSD validation both ways, dispatch, Faults.

Order of checks for POST /platform/soap:
  body size (Content-Length and streamed bytes) → no DTD → parse (lxml, no entities, no network,
  no huge trees) → SOAP 1.1 Envelope/Body → operation QName in our namespace → UsernameToken →
  request payload valid against the XSD → scope → query → audit → response valid against the XSD.
Any failure is a SOAP Fault (HTTP 500, as SOAP 1.1 over HTTP requires) with faultcode
soap:Client / soap:Server / soap:VersionMismatch or a WS-Security code (wsse:FailedAuthentication,
wsse:InvalidSecurity, wsse:MessageExpired), and a p:FaultDetail {Code, Message}.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from kikan_hub.api.auth.audit import AuditLog
from kikan_hub.api.auth.clients import CLIENT_ID_RE, Client
from kikan_hub.api.auth.redact import mask
from kikan_hub.api.auth.scopes import mynumber_columns
from kikan_hub.api.auth.throttle import Throttle, Throttled
from kikan_hub.api.auth.wsse import WSSE, UsernameTokenVerifier, WsseFault
from kikan_hub.api.shien_guard import SCOPE as SHIEN_SCOPE, withhold
from kikan_hub.api.rest.queries import QueryService
from kikan_hub.modules import asof
from kikan_hub.api.soap.xsd_gen import (ATENA_ITEMS, TABLE_TYPES, TABLES_NS, TYPES_NS, XSD_DIR,
                                        generate_table_types_xsd, record_columns)
from kikan_hub.api.rest import deliver
from kikan_hub.api.rest.tables import KeyError_, TableReader, TableSpec, parse_key_value, table_specs
from kikan_hub.api.rest_modules import disclosed_atena_nos

log = logging.getLogger("kikan_hub.api.soap")

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
NS = "urn:kikan-hub:platform:v1"
HERE = Path(__file__).parent
WSDL_FILE = HERE / "platform.wsdl"
XSD_FILES = {p.name: p for p in XSD_DIR.glob("*.xsd")}
DEFAULT_MAX_BODY = 256 * 1024


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True, collect_ids=False)


class _TableTypes(etree.Resolver):
    """Serves the generated table-types.xsd (in memory) to the import in platform-messages.xsd."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def resolve(self, url, pubid, context):
        if url and url.rsplit("/", 1)[-1] == TABLE_TYPES:
            return self.resolve_string(self.text, context)
        return None


def _load_schema(table_types: str | None = None) -> etree.XMLSchema:
    parser = safe_parser()
    parser.resolvers.add(_TableTypes(table_types if table_types is not None else generate_table_types_xsd()))
    doc = etree.parse(str(XSD_DIR / "platform-messages.xsd"), parser)
    return etree.XMLSchema(doc)


class SoapFault(Exception):
    def __init__(self, faultcode: str, code: str, message: str, *, status_log: str = "fault", http_status: int = 500,
                 headers: dict | None = None):
        super().__init__(message)
        self.faultcode, self.code, self.message, self.status_log = faultcode, code, message, status_log
        self.http_status, self.headers = http_status, headers or {}


def _throttled(e: Throttled) -> SoapFault:
    # 429 (not 500) so that HTTP clients and proxies see Retry-After; the body is still a SOAP Fault.
    return SoapFault("soap:Client", "CLIENT-THROTTLED", f"{e.what} ({e.retry_after} 秒後に再試行してください)",
                     http_status=429, headers={"Retry-After": str(e.retry_after)})


def fault_envelope(f: SoapFault) -> bytes:
    nsmap = {"soap": SOAP_ENV, "p": NS}
    if f.faultcode.startswith("wsse:"):
        nsmap["wsse"] = WSSE
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f.faultcode
    fs = etree.SubElement(fault, "faultstring")
    fs.text = mask(f.message)
    fs.set("{http://www.w3.org/XML/1998/namespace}lang", "ja")
    detail = etree.SubElement(fault, "detail")
    fd = etree.SubElement(detail, f"{{{NS}}}FaultDetail")
    etree.SubElement(fd, f"{{{NS}}}Code").text = f.code
    etree.SubElement(fd, f"{{{NS}}}Message").text = mask(f.message)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


_COLS = {name: [c.name for c in record_columns(table, items)]
         for name, table, items in (("Jumin", "juki_jumin", None), ("Setai", "juki_setai", None),
                                    ("Atena", "juki_jumin", ATENA_ITEMS))}


def _record(parent: etree._Element, tag: str, type_name: str, row: dict, hide: set[str] = frozenset()) -> None:
    el = etree.SubElement(parent, f"{{{NS}}}{tag}")
    for name in _COLS[type_name]:
        v = row.get(name)
        if v is None or name in hide:
            continue
        etree.SubElement(el, f"{{{TYPES_NS}}}{name}").text = _text(v)


def _date(s: str | None) -> dt.date | None:
    """An xs:date the hub can use. The XSD admits years such as -2024 or 10000 (and time zones); Python
    dates cannot hold them, so they are a client error, not a server one."""
    if not s:
        return None
    text = s.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise SoapFault("soap:Client", "CLIENT-VALUE", f"日付は西暦 0001〜9999 年の YYYY-MM-DD にしてください: "
                                                       f"{mask(text)[:40]!r}", status_log="invalid") from None


@dataclass
class SoapService:
    queries: QueryService
    verifier: UsernameTokenVerifier
    audit: AuditLog
    max_body: int = DEFAULT_MAX_BODY
    throttle: Throttle | None = None

    def __post_init__(self):
        # Every table loaded now (shipped and KIKAN_DEFINITIONS_PATH): its XSD type and KirokuShokai
        self.specs: dict[str, TableSpec] = table_specs()
        self.table_types_xsd = generate_table_types_xsd({k: s.table for k, s in self.specs.items()})
        self.schema = _load_schema(self.table_types_xsd)
        self.ops: dict[str, tuple[str, Callable]] = {
            "KirokuShokaiRequest": ("KirokuShokai", self.op_kiroku),
            "JuminJohoShokaiRequest": ("JuminJohoShokai", self.op_jumin),
            "SetaiKoseiShokaiRequest": ("SetaiKoseiShokai", self.op_setai),
            "IdouJohoShutokuRequest": ("IdouJohoShutoku", self.op_idou),
            "AtenaJohoShokaiRequest": ("AtenaJohoShokai", self.op_atena),
            "MeiboShokaiRequest": ("MeiboShokai", self.op_meibo),
        }

    # --- WSDL -------------------------------------------------------------------------
    def wsdl(self, endpoint_url: str) -> bytes:
        text = WSDL_FILE.read_text(encoding="utf-8")
        return text.replace('location="http://localhost/platform/soap"',
                            f'location="{_attr(endpoint_url)}"').encode("utf-8")

    # --- request handling -------------------------------------------------------------
    def handle(self, body: bytes, peer: str | None = None) -> tuple[int, bytes]:
        status, resp, _ = self.handle_http(body, peer)
        return status, resp

    def handle_http(self, body: bytes, peer: str | None = None) -> tuple[int, bytes, dict]:
        """(HTTP status, SOAP envelope, extra headers). ``peer`` is the source address (throttling, audit)."""
        t0 = time.perf_counter()
        op_name, client, outcome = "-", None, "ok"
        try:
            op_name, client, resp = self._handle(body, peer)
            return 200, resp, {}
        except SoapFault as f:
            outcome = f"fault:{f.code}"
            return f.http_status, fault_envelope(f), f.headers
        except Exception as exc:  # noqa: BLE001 - never leak internals (or data) to the caller
            outcome = f"error:{type(exc).__name__}"
            log.error("soap internal error in %s: %s", op_name, type(exc).__name__)
            return 500, fault_envelope(SoapFault("soap:Server", "SERVER-INTERNAL", "サーバー内部エラー")), {}
        finally:
            log.info("soap op=%s client=%s outcome=%s ms=%.1f", op_name, client.client_id if client else "-",
                     outcome, (time.perf_counter() - t0) * 1000)

    def _authenticate(self, header, op_name: str, peer: str | None) -> Client:
        """UsernameToken check behind the throttle; a failure is counted and audited."""
        user = (header.findtext(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken/{{{WSSE}}}Username") or "").strip() \
            if header is not None else ""
        claimed = user if CLIENT_ID_RE.match(user) else None
        if self.throttle is not None:
            try:
                self.throttle.check_auth(claimed, peer)
            except Throttled as e:
                raise _throttled(e) from None
        try:
            return self.verifier.verify(header)
        except WsseFault as f:
            if self.throttle is not None and f.wsse_code == "FailedAuthentication":
                self.throttle.auth_failed(claimed, peer)
            self.audit.record(client_id=claimed, interface="soap", operation=op_name, outcome="auth_failed",
                              detail=f"{f.code}; from {peer or '-'}")
            raise SoapFault(f"wsse:{f.wsse_code}", f.code, f.message) from None

    def _handle(self, body: bytes, peer: str | None = None) -> tuple[str, Client | None, bytes]:
        if len(body) > self.max_body:
            raise SoapFault("soap:Client", "CLIENT-TOO-LARGE", f"要求が大きすぎます (上限 {self.max_body} バイト)")
        head = body[:4096].lower()
        if b"<!doctype" in head or b"<!entity" in body.lower():
            raise SoapFault("soap:Client", "CLIENT-DTD", "SOAP メッセージに DTD / 実体宣言は使えません")
        try:
            root = etree.fromstring(body, safe_parser())
        except etree.XMLSyntaxError:
            raise SoapFault("soap:Client", "CLIENT-XML", "XML として読めません") from None
        if root.getroottree().docinfo.doctype:
            raise SoapFault("soap:Client", "CLIENT-DTD", "SOAP メッセージに DTD は使えません")
        if etree.QName(root).localname != "Envelope":
            raise SoapFault("soap:Client", "CLIENT-NOT-SOAP", "SOAP Envelope ではありません")
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise SoapFault("soap:VersionMismatch", "VERSION-MISMATCH",
                            "SOAP 1.1 の Envelope 名前空間 (http://schemas.xmlsoap.org/soap/envelope/) にしてください")
        header = root.find(f"{{{SOAP_ENV}}}Header")
        sbody = root.find(f"{{{SOAP_ENV}}}Body")
        payload = [c for c in sbody if isinstance(c.tag, str)] if sbody is not None else []
        if len(payload) != 1:
            raise SoapFault("soap:Client", "CLIENT-BODY", "Body にはちょうど 1 つの要求要素が必要です")
        req = payload[0]
        qn = etree.QName(req)
        if qn.namespace != NS or qn.localname not in self.ops:
            raise SoapFault("soap:Client", "CLIENT-UNKNOWN-OPERATION",
                            f"未知の操作です: {{{qn.namespace}}}{qn.localname} (名前空間は {NS})")
        op_name, fn = self.ops[qn.localname]
        client = self._authenticate(header, op_name, peer)
        if not self.schema.validate(req):
            err = self.schema.error_log.last_error
            self.audit.record(client_id=client.client_id, interface="soap", operation=op_name, outcome="invalid")
            raise SoapFault("soap:Client", "CLIENT-SCHEMA",
                            f"要求がスキーマに合いません: line {err.line}: {err.message}" if err else "要求がスキーマに合いません")
        try:
            if self.throttle is not None and op_name != "IdouJohoShutoku":
                try:
                    self.throttle.check_lookup(client.client_id)
                except Throttled as e:
                    raise _throttled(e) from None
            resp, atena_nos, outcome = fn(client, req)
            if outcome == "not_found" and self.throttle is not None:
                self.throttle.not_found(client.client_id)
        except SoapFault as f:
            self.audit.record(client_id=client.client_id, interface="soap", operation=op_name, outcome=f.status_log)
            raise
        if not self.schema.validate(resp):
            err = self.schema.error_log.last_error
            log.error("soap response for %s does not validate: %s", op_name, mask(err.message if err else "?"))
            self.audit.record(client_id=client.client_id, interface="soap", operation=op_name, outcome="error",
                              atena_nos=atena_nos, detail="response-invalid")
            raise SoapFault("soap:Server", "SERVER-RESPONSE-INVALID", "応答がスキーマに合いません (ストアのデータを確認してください)")
        self.audit.record(client_id=client.client_id, interface="soap", operation=op_name, outcome=outcome,
                          atena_nos=atena_nos)
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "p": NS, "t": TYPES_NS})
        etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(resp)
        return op_name, client, etree.tostring(env, xml_declaration=True, encoding="utf-8")

    # --- operations -------------------------------------------------------------------
    @staticmethod
    def _need(client: Client, scope: str) -> None:
        if not client.allows(scope):
            raise SoapFault("soap:Client", "CLIENT-FORBIDDEN", f"この操作にはスコープ {scope} が必要です",
                            status_log="denied")

    def _guard(self, client: Client, op: str, rows: list, **kw) -> tuple[list, set[str]]:
        """支援対象者 withheld unless the client holds juki:shien_sochi:read (j160, j440); audited."""
        return withhold(self.queries.engine, self.audit, client_id=client.client_id, allowed=client.allows(SHIEN_SCOPE),
                        interface="soap", operation=op, rows=rows, **kw)

    def _f(self, req, name):
        return req.findtext(f"{{{NS}}}{name}")

    def op_jumin(self, client: Client, req):
        self._need(client, "juki:jumin:read")
        can_mynumber = client.allows("juki:kojin_bango:read")
        history = (self._f(req, "IncludeHistory") or "").strip() in ("true", "1")
        kijun = _date(self._f(req, "KijunDate"))
        if self._f(req, "AtenaNo"):
            rows = self.queries.resident_by_atena(self._f(req, "AtenaNo").strip(), include_history=history)
        elif self._f(req, "KojinBango"):
            self._need(client, "juki:kojin_bango:read")
            rows = self.queries.residents_by_kojin_bango(self._f(req, "KojinBango").strip())
        else:
            rows = self.queries.residents_by_kana_birth(self._f(req, "ShimeiKana").strip(),
                                                        _date(self._f(req, "BirthDate")))
        uncertain: list[str] = []
        if kijun is not None:   # the row in effect on KijunDate (the one as-of rule), history up to it
            views = {v.atena_no: v for v in asof.persons(self.queries.engine, [r["atena_no"] for r in rows], kijun)}
            rows = [r for r in rows if r["atena_no"] in views
                    and (r["rireki_no"] <= views[r["atena_no"]].row["rireki_no"] if history else True)]
            if not history:
                rows = [views[a].row for a in dict.fromkeys(r["atena_no"] for r in rows)]
            uncertain = sorted(a for a, v in views.items() if v.date_uncertain)
        rows, _ = self._guard(client, "JuminJohoShokai", rows)
        uncertain = [a for a in uncertain if any(r["atena_no"] == a for r in rows)]
        resp = etree.Element(f"{{{NS}}}JuminJohoShokaiResponse", nsmap={"p": NS, "t": TYPES_NS})
        etree.SubElement(resp, f"{{{NS}}}Count").text = str(len(rows))
        hide = set() if can_mynumber else set(mynumber_columns("juki_jumin"))
        for r in rows:
            _record(resp, "Jumin", "Jumin", r, hide)
        for a in uncertain:
            etree.SubElement(resp, f"{{{NS}}}DateUncertain").text = a
        return resp, [r["atena_no"] for r in rows], "ok" if rows else "not_found"

    def op_setai(self, client: Client, req):
        self._need(client, "juki:setai:read")
        setai_no = self._f(req, "SetaiNo").strip()
        as_of = _date(self._f(req, "KijunDate")) or dt.date.today()
        view = asof.household(self.queries.engine, setai_no, as_of)   # the one as-of rule (docs/interfaces.md)
        # a 支援対象者's household is withheld whole (its address is theirs)
        view = view.withheld(self._guard(client, "SetaiKoseiShokai", view.people(), atena_of=lambda a: a)[1])
        setai, members, uncertain = view.setai, view.members, view.date_uncertain
        hide = set() if client.allows("juki:kojin_bango:read") else set(mynumber_columns("juki_jumin"))
        resp = etree.Element(f"{{{NS}}}SetaiKoseiShokaiResponse", nsmap={"p": NS, "t": TYPES_NS})
        etree.SubElement(resp, f"{{{NS}}}SetaiNo").text = setai_no
        etree.SubElement(resp, f"{{{NS}}}KijunDate").text = as_of.isoformat()
        if setai:
            _record(resp, "Setai", "Setai", setai)
        etree.SubElement(resp, f"{{{NS}}}Count").text = str(len(members))
        for m in members:
            _record(resp, "Member", "Jumin", m, hide)
        for a in uncertain:
            etree.SubElement(resp, f"{{{NS}}}DateUncertain").text = a
        return resp, view.people(), "ok" if (members or setai) else "not_found"

    def op_idou(self, client: Client, req):
        self._need(client, "juki:idou:read")
        after = int(self._f(req, "SinceSerial") or 0)
        size = int(self._f(req, "PageSize") or 100)
        rows, next_serial, more = self.queries.changes(after, _date(self._f(req, "SinceDate")), size)
        rows, _ = self._guard(client, "IdouJohoShutoku", rows, atena_of=lambda sr: sr[1]["atena_no"])
        hide = set() if client.allows("juki:kojin_bango:read") else set(mynumber_columns("juki_jumin"))
        resp = etree.Element(f"{{{NS}}}IdouJohoShutokuResponse", nsmap={"p": NS, "t": TYPES_NS})
        etree.SubElement(resp, f"{{{NS}}}Count").text = str(len(rows))
        for serial, r in rows:
            idou = etree.SubElement(resp, f"{{{NS}}}Idou")
            etree.SubElement(idou, f"{{{NS}}}Serial").text = str(serial)
            _record(idou, "Jumin", "Jumin", r, hide)
        etree.SubElement(resp, f"{{{NS}}}NextSerial").text = str(next_serial)
        etree.SubElement(resp, f"{{{NS}}}HasMore").text = "true" if more else "false"
        return resp, [r["atena_no"] for _, r in rows], "ok"

    def op_atena(self, client: Client, req):
        self._need(client, "juki:atena:read")
        nos = [e.text.strip() for e in req.findall(f"{{{NS}}}AtenaNo")]
        rows, _ = self._guard(client, "AtenaJohoShokai", self.queries.atena(nos))
        resp = etree.Element(f"{{{NS}}}AtenaJohoShokaiResponse", nsmap={"p": NS, "t": TYPES_NS})
        etree.SubElement(resp, f"{{{NS}}}Count").text = str(len(rows))
        for r in rows:
            _record(resp, "Atena", "Atena", r)
        return resp, [r["atena_no"] for r in rows], "ok" if rows else "not_found"


    def op_meibo(self, client: Client, req):
        from kikan_hub.api.soap.rosters import op_meibo     # 名簿照会: its own module
        return op_meibo(self, client, req)

    # --- 記録照会: any table by 宛名番号 or primary key (the REST generated routes' rules) ---------
    def op_kiroku(self, client: Client, req):
        tid = (self._f(req, "TableId") or "").strip()
        spec = self.specs.get(tid)
        if spec is None:
            raise SoapFault("soap:Client", "CLIENT-VALUE", f"テーブル {tid} はありません", status_log="invalid")
        self._need(client, spec.scope)
        for extra in spec.extra_scopes:
            self._need(client, extra)
        reader = TableReader(self.queries.engine, spec)
        atena = self._f(req, "AtenaNo")
        if atena:
            if not spec.has_atena:
                raise SoapFault("soap:Client", "CLIENT-VALUE", f"{tid} に宛名番号はありません (Key で照会してください)",
                                status_log="invalid")
            rows = reader.by_atena(atena.strip())
        else:
            rows = reader.by_key(self._key_values(spec, req))
        if spec.has_atena:
            rows, _ = deliver.guard_rows(self.queries.engine, self.audit, client.client_id, client.allows(SHIEN_SCOPE),
                                         "soap", "KirokuShokai", rows, atena_of=lambda r: r["atena_no"])
        elif "setai_no" in spec.column_names:
            rows, _ = deliver.guard_rows(self.queries.engine, self.audit, client.client_id, client.allows(SHIEN_SCOPE),
                                         "soap", "KirokuShokai", rows, setai_of=lambda r: r["setai_no"])
        rows = deliver.strip(rows, client.allows, spec.id, spec.table.gyomu_id)
        resp = etree.Element(f"{{{NS}}}KirokuShokaiResponse", nsmap={"p": NS, "tt": TABLES_NS})
        etree.SubElement(resp, f"{{{NS}}}TableId").text = tid
        etree.SubElement(resp, f"{{{NS}}}Count").text = str(len(rows))
        for r in rows:
            rec = etree.SubElement(etree.SubElement(resp, f"{{{NS}}}Record"), f"{{{TABLES_NS}}}{tid}")
            for name in spec.column_names:
                if r.get(name) is not None:
                    etree.SubElement(rec, f"{{{TABLES_NS}}}{name}").text = _text(r[name])
        return resp, disclosed_atena_nos(rows), "ok" if rows else "not_found"

    def _key_values(self, spec: TableSpec, req) -> dict:
        """Key items in key order, a leading part of the primary key (as the REST by-key route)."""
        given: dict[str, str] = {}
        for k in req.findall(f"{{{NS}}}Key"):
            given[(k.findtext(f"{{{NS}}}Item") or "").strip()] = k.findtext(f"{{{NS}}}Value") or ""
        pk = list(spec.table.primary_key)
        unknown = sorted(set(given) - set(pk))
        if unknown:
            raise SoapFault("soap:Client", "CLIENT-VALUE", f"主キーの項目ではありません: {unknown} (主キー: {pk})",
                            status_log="invalid")
        values = {}
        for c in spec.key_columns[:len(given)]:
            if c.name not in given:
                raise SoapFault("soap:Client", "CLIENT-VALUE", f"主キーは先頭から指定してください (主キー: {pk})",
                                status_log="invalid")
            try:
                values[c.name] = parse_key_value(c, given[c.name].strip())
            except KeyError_ as e:
                raise SoapFault("soap:Client", "CLIENT-VALUE", str(e), status_log="invalid") from None
        return values


def _attr(url: str) -> str:
    from xml.sax.saxutils import escape
    return escape(url, {'"': "&quot;"})
