"""A zeep-based adapter that calls another vendor's platform SOAP service (住民情報照会 /
異動情報取得, e.g. this hub's own) and yields Arrow record batches shaped like a reader batch.

The batches follow the reader contract (docs/architecture.md): ``_record_no`` (1-based in the
stream), ``_offset`` (the record's index in the response stream; a SOAP call has no byte offset),
``_raw`` (the record's XML as UTF-8 bytes, for lineage and quarantine), ``_error_rule``,
``_error_message``, ``_error_field``, then one string column per record element of the
generated t:Jumin type (dates as ISO literals, flags as "true"/"false") — every value stays a
string, exactly like a fixed-width reader, so the normal mapping / validation / load stages apply.
A record that does not come back as expected is kept with ``_error_rule = SOAP-RECORD``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Iterator

import pyarrow as pa
from lxml import etree

from kikan_hub.layouts.isl import get_table

META = [("_record_no", pa.int64()), ("_offset", pa.int64()), ("_raw", pa.binary()), ("_error_rule", pa.string()),
        ("_error_message", pa.string()), ("_error_field", pa.string())]
TYPES_NS = "urn:kikan-hub:platform:types:v1"


def jumin_fields() -> list[str]:
    return [c.name for c in get_table("juki_jumin").columns if c.role != "lineage"]


def batch_schema() -> pa.Schema:
    return pa.schema(META + [(f, pa.string()) for f in jumin_fields()])


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


@dataclass
class PlatformSoapAdapter:
    """wsdl_url: e.g. http://host/platform/soap?wsdl; username/password: a WS-Security UsernameToken."""
    wsdl_url: str
    username: str
    password: str
    timeout: float = 30.0

    def __post_init__(self):
        import zeep
        from zeep.transports import Transport
        from zeep.wsse.username import UsernameToken
        self.client = zeep.Client(self.wsdl_url, transport=Transport(timeout=self.timeout,
                                                                     operation_timeout=self.timeout),
                                  wsse=UsernameToken(self.username, self.password, use_digest=True))
        self.jumin_type = self.client.get_type(f"{{{TYPES_NS}}}Jumin")

    # --- calls -------------------------------------------------------------------------
    def residents(self, atena_nos: Iterable[str], include_history: bool = True, batch_size: int = 1000
                  ) -> Iterator[tuple[str, pa.RecordBatch]]:
        """住民情報照会 for each 宛名番号 → ("resident", batch) pairs like adapters.reader.read_file."""
        def records():
            for a in atena_nos:
                r = self.client.service.JuminJohoShokai(AtenaNo=a, IncludeHistory=include_history)
                yield from (r.Jumin or [])
        yield from self._batches(records(), batch_size)

    def changes(self, since_serial: int = 0, page_size: int = 500, batch_size: int = 1000
                ) -> Iterator[tuple[str, pa.RecordBatch]]:
        """異動情報取得, following NextSerial until HasMore is false. `self.last_serial` is the cursor to keep."""
        def records():
            after = since_serial
            while True:
                r = self.client.service.IdouJohoShutoku(SinceSerial=after, PageSize=page_size)
                for i in r.Idou or []:
                    yield i.Jumin
                after = r.NextSerial
                self.last_serial = after
                if not r.HasMore:
                    break
        self.last_serial = since_serial
        yield from self._batches(records(), batch_size)

    # --- shaping -----------------------------------------------------------------------
    def _batches(self, records, batch_size: int) -> Iterator[tuple[str, pa.RecordBatch]]:
        fields = jumin_fields()
        schema = batch_schema()
        rows: list[dict] = []
        n = 0
        for rec in records:
            n += 1
            row = {"_record_no": n, "_offset": n - 1, "_error_rule": None, "_error_message": None,
                   "_error_field": None}
            try:
                el = etree.Element(f"{{{TYPES_NS}}}Jumin")
                self.jumin_type.render(el, rec)
                row["_raw"] = etree.tostring(el, encoding="utf-8")
                for f in fields:
                    row[f] = _text(getattr(rec, f, None))
                if not row.get("atena_no"):
                    row.update(_error_rule="SOAP-RECORD", _error_message="宛名番号がありません", _error_field="atena_no")
            except Exception as exc:  # noqa: BLE001 - keep the record, flag it
                row.setdefault("_raw", b"")
                row.update(_error_rule="SOAP-RECORD", _error_message=f"{type(exc).__name__}", _error_field=None)
            rows.append(row)
            if len(rows) >= batch_size:
                yield "resident", pa.RecordBatch.from_pylist(rows, schema=schema)
                rows = []
        if rows:
            yield "resident", pa.RecordBatch.from_pylist(rows, schema=schema)
