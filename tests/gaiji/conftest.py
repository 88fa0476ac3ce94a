"""Gaiji fixtures: the 58k MJ table is imported once per session into a temporary index."""
from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from kikan_hub.gaiji.mj_index import MJIndex


@pytest.fixture(scope="session")
def mj_dir(reference_data: Path) -> Path:
    return reference_data / "mj"


@pytest.fixture(scope="session")
def mj_index_path(tmp_path_factory, mj_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("mj") / "mj_index.sqlite"
    with MJIndex(path) as idx:
        for name in ("mji-list.00602.tsv", "mojikiban_moji.csv", "mojikiban_moji_ivs.csv"):
            idx.import_file(mj_dir / name)
    return path


@pytest.fixture(scope="session")
def mj_index(mj_index_path: Path) -> MJIndex:
    idx = MJIndex.open(mj_index_path)
    yield idx
    idx.close()


STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_strict_xlsx(path: Path, rows: list[list[str]]) -> Path:
    """A minimal Strict Open XML workbook: shared strings for text, numeric cells for digits."""
    shared: list[str] = []
    sidx: dict[str, int] = {}
    xml_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, v in enumerate(row):
            if v == "":
                continue
            ref = f"{_col(c)}{r}"
            if v.isdigit() and not v.startswith("0"):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                if v not in sidx:
                    sidx[v] = len(shared)
                    shared.append(v)
                cells.append(f'<c r="{ref}" t="s"><v>{sidx[v]}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{STRICT}">'
             f'<sheetData>{"".join(xml_rows)}</sheetData></worksheet>')
    sst = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{STRICT}" count="{len(shared)}" '
           f'uniqueCount="{len(shared)}">' + "".join(f"<si><t>{escape(s)}</t></si>" for s in shared) + "</sst>")
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{STRICT}" '
                f'xmlns:r="{STRICT_REL}" conformance="strict"><sheets><sheet name="MJ文字情報一覧表" sheetId="1" r:id="rId1"/>'
                f'</sheets></workbook>')
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
               'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet" '
               'Target="worksheets/sheet1.xml"/>'
               '<Relationship Id="rId2" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/sharedStrings" '
               'Target="sharedStrings.xml"/></Relationships>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>')
    ctypes = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types '
              'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
              '<Default Extension="xml" ContentType="application/xml"/>'
              '<Override PartName="/xl/workbook.xml" '
              'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
              '<Override PartName="/xl/worksheets/sheet1.xml" '
              'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
              '<Override PartName="/xl/sharedStrings.xml" '
              'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ctypes)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", sst)
    return path
