"""SOAP 名簿照会 (MeiboShokai): the same roster as ``kikan roster`` and ``GET /api/v1/rosters/{name}`` —
one scope per roster (``rosters:<name>:read``), masked per the caller's EUC role (the ``euc:*:read`` scopes,
as REST), 個人番号 only with ``juki:kojin_bango:read``, 支援対象者 withheld without
``juki:shien_sochi:read``; the service audits the 宛名番号 answered (subject count = persons returned).

    self.ops["MeiboShokaiRequest"] = ("MeiboShokai", lambda c, r: op_meibo(self, c, r))   # service.py
"""
from __future__ import annotations

from collections import Counter

from lxml import etree

from kikan_hub.api.auth import scopes as sc
from kikan_hub.api.soap.service import NS, SoapFault, _date, _text


def _role(client, requested: str | None) -> str:
    from kikan_hub.api.server import EUC_ROLE_SCOPES
    from kikan_hub.api.rest_modules import DEFAULT_ROLE
    allowed = sorted(role for s, role in EUC_ROLE_SCOPES.items() if client.allows(s))
    if requested:
        if requested not in (allowed or [DEFAULT_ROLE]):
            raise SoapFault("soap:Client", "CLIENT-FORBIDDEN",
                            f"役割 {requested} は許可されていません ({', '.join(allowed) or DEFAULT_ROLE})", status_log="denied")
        return requested
    return allowed[0] if allowed else DEFAULT_ROLE


def op_meibo(service, client, req):
    from kikan_hub.modules.juki import JukiQueryError
    from kikan_hub.modules.rosters import RosterError, RosterResult, compute, roster_names
    from kikan_hub.modules.rosters.output import mask

    f = lambda name: (req.findtext(f"{{{NS}}}{name}") or "").strip()  # noqa: E731
    name = f("Meibo")
    if name not in roster_names():
        raise SoapFault("soap:Client", "CLIENT-VALUE", f"名簿 {name} はありません (使える名簿: {', '.join(roster_names())})",
                        status_log="invalid")
    service._need(client, f"rosters:{name}:read")
    role = _role(client, f("Role") or None)
    try:
        res = compute(service.queries.engine, name, _date(f("KijunDate")))
        tbl = res.table if f("IncludeAll") in ("true", "1") else res.listed()
        tbl, _ = mask(RosterResult(res.rule, res.as_of, tbl, res.headers), role)
    except (RosterError, JukiQueryError) as exc:
        raise SoapFault("soap:Client", "CLIENT-VALUE", str(exc), status_log="invalid") from None
    hide = set() if client.allows(sc.kojin_bango_scope("juki")) else set(sc.mynumber_columns())
    rows, _ = service._guard(client, "MeiboShokai", tbl.to_pylist())
    resp = etree.Element(f"{{{NS}}}MeiboShokaiResponse", nsmap={"p": NS})
    for tag, value in (("Meibo", name), ("Title", res.rule.title), ("Division", res.rule.division),
                       ("KijunDate", res.as_of.isoformat()), ("Role", role)):
        etree.SubElement(resp, f"{{{NS}}}{tag}").text = value
    for kubun, n in sorted(Counter(res.table["判定"].to_pylist()).items()):
        h = etree.SubElement(resp, f"{{{NS}}}Hantei")
        etree.SubElement(h, f"{{{NS}}}Kubun").text = kubun
        etree.SubElement(h, f"{{{NS}}}Count").text = str(n)
    etree.SubElement(resp, f"{{{NS}}}Count").text = str(len(rows))
    names = dict(zip(tbl.column_names, res.headers))
    items = [c for c in tbl.column_names if c not in ("atena_no", "判定", "理由")]
    for r in rows:
        p = etree.SubElement(resp, f"{{{NS}}}Person")
        etree.SubElement(p, f"{{{NS}}}AtenaNo").text = r["atena_no"]
        etree.SubElement(p, f"{{{NS}}}Hantei").text = r["判定"]
        etree.SubElement(p, f"{{{NS}}}Riyu").text = r["理由"] or ""
        for c in items:
            it = etree.SubElement(p, f"{{{NS}}}Item")
            etree.SubElement(it, f"{{{NS}}}Id").text = c
            etree.SubElement(it, f"{{{NS}}}Name").text = names.get(c, c)
            if r.get(c) not in (None, "") and c not in hide:
                etree.SubElement(it, f"{{{NS}}}Value").text = _text(r[c])
    return resp, [r["atena_no"] for r in rows], "ok"        # an empty roster is an answer, not a miss (no throttle)
