"""A small streaming reader for spreadsheets in Strict Open XML (ISO/IEC 29500 Strict).

openpyxl cannot read Strict OOXML (the namespace ``http://purl.oclc.org/ooxml/spreadsheetml/main``),
which is what the official MJ文字情報一覧表 uses. This reader parses the sheet XML with lxml
(``iterparse``, entities off, no network) and resolves shared strings. Transitional files
are read as well, so the same code handles both.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from .errors import GaijiError

STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
TRANSITIONAL_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
TRANSITIONAL_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

_COL = re.compile(r"^([A-Z]+)")


def _col_index(ref: str) -> int:
    m = _COL.match(ref)
    if not m:
        raise GaijiError(f"bad cell reference {ref!r}")
    n = 0
    for ch in m.group(1):
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _parser_kwargs() -> dict:
    return {"resolve_entities": False, "no_network": True, "huge_tree": True}


def _text_of(el, ns: str) -> str:
    # a <si> or <is>: plain <t> or rich text runs <r><t>; phonetic runs (<rPh>) are not text
    parts = []
    for t in el.iter(f"{{{ns}}}t"):
        parent = t.getparent()
        if parent is not None and parent.tag == f"{{{ns}}}rPh":
            continue
        parts.append(t.text or "")
    return "".join(parts)


def _first_sheet_path(z: zipfile.ZipFile, ns: str) -> str:
    names = set(z.namelist())
    try:
        wb = etree.fromstring(z.read("xl/workbook.xml"), etree.XMLParser(**_parser_kwargs()))
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"), etree.XMLParser(**_parser_kwargs()))
    except KeyError:
        wb = rels = None
    if wb is not None and rels is not None:
        sheet = wb.find(f"{{{ns}}}sheets/{{{ns}}}sheet")
        if sheet is not None:
            rid = sheet.get(f"{{{STRICT_REL}}}id") or sheet.get(f"{{{TRANSITIONAL_REL}}}id")
            for rel in rels.iter(f"{{{PKG_REL}}}Relationship"):
                if rel.get("Id") == rid:
                    target = rel.get("Target", "")
                    path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                    if path in names:
                        return path
    for cand in ("xl/worksheets/sheet1.xml",):
        if cand in names:
            return cand
    raise GaijiError("no worksheet found in the workbook")


def _detect_namespace(z: zipfile.ZipFile) -> str:
    head = z.read("xl/workbook.xml")[:2000]
    if STRICT_MAIN.encode() in head:
        return STRICT_MAIN
    if TRANSITIONAL_MAIN.encode() in head:
        return TRANSITIONAL_MAIN
    raise GaijiError("xl/workbook.xml is neither Strict nor Transitional SpreadsheetML")


def iter_rows(path: str | Path) -> Iterator[list[str]]:
    """Yield each row of the first sheet as a list of strings (missing cells → '')."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise GaijiError(f"{path}: not a readable xlsx file ({exc})") from exc
    with z:
        if "xl/workbook.xml" not in z.namelist():
            raise GaijiError(f"{path}: not a spreadsheet (no xl/workbook.xml)")
        ns = _detect_namespace(z)
        shared: list[str] = []
        if "xl/sharedStrings.xml" in z.namelist():
            with z.open("xl/sharedStrings.xml") as f:
                for _, el in etree.iterparse(f, events=("end",), tag=f"{{{ns}}}si", **_parser_kwargs()):
                    shared.append(_text_of(el, ns))
                    el.clear()
        sheet = _first_sheet_path(z, ns)
        with z.open(sheet) as f:
            for _, row in etree.iterparse(f, events=("end",), tag=f"{{{ns}}}row", **_parser_kwargs()):
                cells: dict[int, str] = {}
                for pos, c in enumerate(row.iterfind(f"{{{ns}}}c")):
                    ref = c.get("r")
                    idx = _col_index(ref) if ref else pos
                    t = c.get("t", "n")
                    v = c.find(f"{{{ns}}}v")
                    if t == "s":
                        value = shared[int(v.text)] if v is not None and v.text else ""
                    elif t == "inlineStr":
                        is_ = c.find(f"{{{ns}}}is")
                        value = _text_of(is_, ns) if is_ is not None else ""
                    else:
                        value = v.text if v is not None and v.text is not None else ""
                        if t == "n" and value.endswith(".0") and value[:-2].lstrip("-").isdigit():
                            value = value[:-2]
                    cells[idx] = value
                row.clear()
                while row.getprevious() is not None:
                    del row.getparent()[0]
                if cells:
                    width = max(cells) + 1
                    yield [cells.get(i, "") for i in range(width)]
                else:
                    yield []
