"""Every 地方税法 citation of the tax definitions says whether it was checked against the text.

docs/isl-sources.md ("Citations of 地方税法") explains the marks: [verified] (read in the statute
text), [review] (checked by the issue-20 review), [to verify]. A citation without a mark, or one of
the wrong citations the review found, fails here.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

DEFS = Path(__file__).resolve().parents[2] / "kikan_hub" / "layouts" / "intermediate_standard"
TAX_FILES = ["kojin_juminzei.yaml", "kotei_shisanzei.yaml", "kei_jidoshazei.yaml", "hojin_juminzei.yaml"]
MARK = re.compile(r"\[(verified|review|to verify)[^\]]*\]")
CITES = re.compile(r"地方税法|附則第")


def _provenances():
    codes: set[str] = set()
    for name in TAX_FILES:
        data = yaml.safe_load((DEFS / name).read_text(encoding="utf-8"))
        yield f"{name}", str(data["provenance"])
        for t in data["tables"]:
            for it in t["items"]:
                yield f"{name} {t['id']}.{it['id']}", it["provenance"]
                if it.get("code"):
                    codes.add(it["code"])
    for code in sorted(codes):
        data = yaml.safe_load((DEFS / "codes" / f"{code}.yaml").read_text(encoding="utf-8"))
        yield f"codes/{code}.yaml", str(data["provenance"])


def test_every_citation_is_marked():
    unmarked = [where for where, prov in _provenances() if CITES.search(prov) and not MARK.search(prov)]
    assert not unmarked, unmarked


@pytest.mark.parametrize("wrong, why", [
    (r"第463条の19 \(賦課期日", "賦課期日 is 第463条の16"),
    (r"第463条の17 \(所有者", "所有者 is 第443条第1項; 第463条の17 is 納期"),
    (r"第463条の16 \(主たる定置場", "主たる定置場 is 第443条第1項"),
    (r"第463条の21 \((申告|取得|廃車)", "申告 is 第463条の19; 第463条の21 is 過料"),
    (r"第463条の8 \(納税管理人", "軽自動車税 has no 納税管理人 article"),
    (r"附則第33条の3 ほか", "分離課税 rests on seven articles (附則第5条の5第1項 lists them), not 附則第33条の3 alone"),
    (r"第15条の7 \(中高層", "中高層耐火 is 附則第15条の6第2項; 第15条の7 is 長期優良住宅"),
    (r"死亡者課税", "第343条第2項後段 taxes the 現に所有している者, not the deceased"),
    (r"第310条・第311条 \(均等割・所得割", "第311条 is 均等割の軽減; 所得割 is 第313条, 第314条の3"),
])
def test_wrong_citations_are_gone(wrong, why):
    texts = [(w, p) for w, p in _provenances()]
    for name in TAX_FILES:
        texts.append((name, (DEFS / name).read_text(encoding="utf-8")))
    hits = [w for w, p in texts if re.search(wrong, p)]
    assert not hits, f"{why}: {hits}"


def test_docs_list_each_status():
    doc = (DEFS.parents[2] / "docs" / "isl-sources.md").read_text(encoding="utf-8")
    section = doc.split("## Citations of 地方税法", 1)[1]
    for article in ("第463条の15第1項", "第463条の16", "附則第30条第1項", "第321条の4", "附則第5条の10",
                    "第343条第2項後段", "第352条の2"):
        assert article in section, article
    assert "to verify" in section and "| verified |" in section
