"""Load the generator's data files (names, places, gaiji register, layouts, mapping) from assets/."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from kikan_hub.sample import cp932w

ASSETS = Path(__file__).parent / "assets"
GAIJI_TOKEN = re.compile(r"\[(F[0-9A-F]{3})\]")
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def read_csv(name: str) -> list[dict[str, str]]:
    text = (ASSETS / name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@lru_cache(maxsize=1)
def _fw_to_hw() -> dict[str, str]:
    """Full-width katakana → half-width (the inverse of NFKC on U+FF61–U+FF9F, with voiced marks)."""
    table: dict[str, str] = {}
    hw = [chr(c) for c in range(0xFF61, 0xFFA0)]
    for h in hw:
        table.setdefault(unicodedata.normalize("NFKC", h), h)
        for mark in ("\uFF9E", "\uFF9F"):
            f = unicodedata.normalize("NFKC", h + mark)
            if len(f) == 1:
                table.setdefault(f, h + mark)
    table["　"] = " "
    table[" "] = " "
    return table


def to_halfwidth_kana(text: str) -> str:
    t = _fw_to_hw()
    try:
        return "".join(t[ch] for ch in text)
    except KeyError as exc:
        raise ValueError(f"no half-width kana for {exc.args[0]!r} in {text!r}") from None


@dataclass
class GaijiEntry:
    source_code: str          # F040
    pua: str                  # the PUA character Python's cp932 decodes the code to
    resolved: str             # the register's ucs as text
    bit: int                  # bit in the gaiji masks
    row: dict[str, str]


@dataclass
class Register:
    entries: dict[str, GaijiEntry]
    header: list[str]

    def mask_of(self, marked: str) -> int:
        m = 0
        for code in GAIJI_TOKEN.findall(marked):
            m |= 1 << self.entries[code].bit
        return m


@lru_cache(maxsize=1)
def register() -> Register:
    text = (ASSETS / "gaiji_register.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    entries = {}
    for i, row in enumerate(reader):
        code = row["source_code"]
        pua = bytes.fromhex(code).decode("cp932")
        assert row["pua"] == f"U+{ord(pua):04X}", (code, row["pua"])
        resolved = "".join(chr(int(cp, 16)) for cp in row["ucs"].split())
        entries[code] = GaijiEntry(code, pua, resolved, i, dict(row))
    return Register(entries, list(reader.fieldnames or []))


# Order in which --unidentified-gaiji K leaves entries 未同定: name-only characters first, the
# characters that also appear in 町字 (F046 辻, F042 鷗) last (they touch whole neighbourhoods).
UNIDENTIFIED_ORDER = ["F04B", "F04A", "F049", "F045", "F044", "F043", "F041", "F040", "F047", "F048", "F046", "F042"]


def source_text(marked: str) -> str:
    """The text as the legacy system holds it (gaiji as the PUA code point of its CP932 code)."""
    reg = register()
    return GAIJI_TOKEN.sub(lambda m: reg.entries[m.group(1)].pua, marked)


def resolved_text(marked: str) -> str:
    """The text as the hub should hold it after gaiji resolution (register's ucs)."""
    reg = register()
    return GAIJI_TOKEN.sub(lambda m: reg.entries[m.group(1)].resolved, marked)


@dataclass
class TextTable:
    """Entries of a name/place list, pre-encoded."""

    marked: list[str]
    raw: list[bytes]              # CP932 (Windows) bytes
    resolved: list[str]
    kana_hw: list[str]
    mask: np.ndarray              # gaiji bit mask per entry
    weights: np.ndarray           # cumulative probabilities
    extra: list[dict[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.marked)


def _text_table(rows: list[dict[str, str]], text_key: str, kana_key: str | None, weight_key: str = "weight") -> TextTable:
    reg = register()
    marked = [r[text_key] for r in rows]
    raw = [cp932w.encode(source_text(m)) for m in marked]
    resolved = [resolved_text(m) for m in marked]
    kana = [to_halfwidth_kana(r[kana_key]) for r in rows] if kana_key else [""] * len(rows)
    mask = np.array([reg.mask_of(m) for m in marked], dtype=np.int64)
    w = np.array([float(r.get(weight_key) or 1) for r in rows])
    return TextTable(marked, raw, resolved, kana, mask, np.cumsum(w) / w.sum(), rows)


@dataclass
class Assets:
    surnames: TextTable
    male: TextTable
    female: TextTable
    foreign: TextTable
    machiaza: TextTable
    katagaki: TextTable
    places: TextTable
    layout_jumin: dict
    layout_setai: dict
    mapping: dict


@lru_cache(maxsize=1)
def load_assets() -> Assets:
    def y(name):
        return yaml.safe_load((ASSETS / name).read_text(encoding="utf-8"))
    return Assets(
        surnames=_text_table(read_csv("surnames.csv"), "kanji", "kana"),
        male=_text_table(read_csv("given_male.csv"), "kanji", "kana"),
        female=_text_table(read_csv("given_female.csv"), "kanji", "kana"),
        foreign=_text_table(read_csv("foreign_names.csv"), "kanji", "kana"),
        machiaza=_text_table(read_csv("machiaza.csv"), "machiaza", None),
        katagaki=_text_table(read_csv("katagaki.csv"), "katagaki", None),
        places=_text_table(read_csv("other_places.csv"), "place", None),
        layout_jumin=y("layout_jumin.yaml"),
        layout_setai=y("layout_setai.yaml"),
        mapping=y("mapping.yaml"),
    )


def field_positions(layout: dict, record_type: str) -> dict[str, tuple[int, int]]:
    """name → (0-based start, length) for one record type of a legacy layout."""
    for rt in layout["record_types"]:
        if rt["name"] == record_type:
            return {f["name"]: (int(f["start"]) - 1, int(f["length"])) for f in rt["fields"]}
    raise KeyError(record_type)
