"""The mainframe code tables shipped with the package, and the rules that turn a table plus the
options a manifest declares into a codec.

``tables.npz`` is compiled by ``tools/build_codec_tables.py`` from ICU's ``.ucm`` files and the
jef4j tables (licences and provenance beside it); nothing here reads the reference folder.
``codecs.yaml`` says which tables each encoding combines, its shift codes and gaiji area.

Vendor options (declared as ``NAME:option,option=value``, e.g. ``jef-ebcdik:ivs=hd,cjk_ci``):

* ``decode_only`` (default yes): decode codes the table marks decode-only (a second code for a
  character that encodes elsewhere, e.g. JEF A1A1 → U+3000 whose code is 4040; ICU ``|3``). With
  ``decode_only=no`` they are decoding errors, so every decoded file re-encodes byte for byte.
  A JEF/JIPS "one-way" entry (a glyph variant whose character without its variation selector
  belongs to another code) counts as decode-only unless ``ivs`` keeps it apart.
* ``encode_only`` (default no): also encode through encode-only entries (ICU ``|1`` fallbacks — for a
  Private Use Area character ICU always uses them, and so do the IBM codecs here —
  jef4j ``encode_only``), e.g. U+3099 → JEF A1AB.
* ``ivs`` (vendor tables; ``none`` default, ``hd``, ``aj1``): decode kanji the table gives a
  Hanyo-Denshi / Adobe-Japan1 variation selector to base character + that selector (and encode
  such sequences), so glyph variants stay distinct.
* ``cjk_ci``: JEF codes that also have a CJK compatibility ideograph decode to it.
* ``substitution``: accept the table's substitute (approximate) mappings.
* ``compatible``: accept the single-byte tables' C1-control mappings of undefined codes.

Codes the table marks unmappable never decode. A code with two different round-trip entries in
the vendor table takes the one whose character no other code claims; if that does not settle it
the code is left unmapped (a decoding error naming it), never guessed.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
TABLES_FILE = HERE / "tables.npz"
SPEC_FILE = HERE / "codecs.yaml"

FLAGS = {"oneway": 1, "unmappable": 2, "cjk_ci": 4, "substitution": 8, "decode_only": 16, "encode_only": 32,
         "compatible": 64, "combination": 128, "halfwidth": 256, "fullwidth": 512}

BOOL_OPTIONS = ("decode_only", "encode_only", "cjk_ci", "substitution", "compatible")
DEFAULTS: dict[str, Any] = {"decode_only": True, "encode_only": False, "ivs": "none", "cjk_ci": False,
                            "substitution": False, "compatible": False}
IBM_OPTIONS = ("decode_only", "encode_only")
IVS_CHOICES = ("none", "hd", "aj1")

_LOCK = threading.Lock()
_ARRAYS: dict[str, np.ndarray] | None = None


class TableError(LookupError):
    """A codec option or table problem (the message says which)."""


def arrays() -> dict[str, np.ndarray]:
    global _ARRAYS
    with _LOCK:
        if _ARRAYS is None:
            if not TABLES_FILE.is_file():
                raise TableError(f"the compiled code tables {TABLES_FILE} are missing; rebuild them with "
                                 f"tools/build_codec_tables.py")
            with np.load(TABLES_FILE) as z:
                _ARRAYS = {k: z[k] for k in z.files}
        return _ARRAYS


@lru_cache(maxsize=1)
def specs() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Entry:
    code: int
    nbytes: int
    cps: tuple[int, ...]
    flags: int
    hd: int = 0
    aj1: int = 0

    def has(self, flag: str) -> bool:
        return bool(self.flags & FLAGS[flag])


def entries(table: str) -> list[Entry]:
    a = arrays()
    code, nb, cps, off, fl = (a[f"{table}.{k}"] for k in ("code", "nbytes", "cps", "cpoff", "flags"))
    hd = a.get(f"{table}.hd")
    aj1 = a.get(f"{table}.aj1")
    out = []
    for i in range(len(code)):
        out.append(Entry(int(code[i]), int(nb[i]), tuple(int(c) for c in cps[off[i]:off[i + 1]]), int(fl[i]),
                         int(hd[i]) if hd is not None else 0, int(aj1[i]) if aj1 is not None else 0))
    return out


def parse_options(spec_name: str, family: str, text: str) -> dict[str, Any]:
    """'ivs=hd,cjk_ci,decode_only=no' → the full option dict (defaults filled in)."""
    allowed = IBM_OPTIONS if family == "ibm" else (*BOOL_OPTIONS, "ivs")
    opts = {k: DEFAULTS[k] for k in allowed}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = key.strip().lower().replace("-", "_")
        if key not in allowed:
            raise TableError(f"{spec_name}: unknown option {key!r} (options of this encoding: {', '.join(allowed)})")
        value = value.strip().lower()
        if key == "ivs":
            if value not in IVS_CHOICES:
                raise TableError(f"{spec_name}: ivs must be one of {', '.join(IVS_CHOICES)}, got {value!r}")
            opts[key] = value
        elif not eq or value in ("yes", "true", "on", "1"):
            opts[key] = True
        elif value in ("no", "false", "off", "0"):
            opts[key] = False
        else:
            raise TableError(f"{spec_name}: option {key} takes yes or no, got {value!r}")
    return opts


def option_suffix(opts: dict[str, Any]) -> str:
    """The options that differ from the defaults, canonical order: '' or ':ivs=hd,cjk_ci'."""
    parts = []
    for k, v in opts.items():
        if v == DEFAULTS[k]:
            continue
        parts.append(f"{k}={v}" if k == "ivs" else (k if v is True else f"{k}=no"))
    return (":" + ",".join(parts)) if parts else ""


def _text(e: Entry, ivs: str) -> tuple[str, bool]:
    """(the entry's text under the ivs choice, whether a variation selector was added)."""
    base = "".join(chr(c) for c in e.cps)
    vs = e.hd if ivs == "hd" else e.aj1 if ivs == "aj1" else 0
    return (base + chr(vs), True) if vs else (base, False)


def select(table_entries: list[Entry], opts: dict[str, Any], pua_fallbacks: bool = False
           ) -> tuple[dict[int, str], dict[str, int], dict[int, str]]:
    """Apply the options to a table: (decode map code → text, encode map text → code, notes
    code → why it does not decode). ``pua_fallbacks``: encode-only entries for a Private Use Area
    character are always used, as ICU does (its fromUnicode fallbacks apply to PUA code points
    even with fallbacks off)."""
    ivs = opts.get("ivs", "none")
    dec_cands: dict[int, list[tuple[int, str]]] = defaultdict(list)
    enc_cands: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    notes: dict[int, str] = {}
    f_unm, f_sub, f_cmp, f_cjk = FLAGS["unmappable"], FLAGS["substitution"], FLAGS["compatible"], FLAGS["cjk_ci"]
    f_enc, f_dec, f_one = FLAGS["encode_only"], FLAGS["decode_only"], FLAGS["oneway"]
    use_sub, use_cmp, use_cjk = opts.get("substitution"), opts.get("compatible"), opts.get("cjk_ci")
    use_enc, use_dec = opts.get("encode_only"), opts.get("decode_only", True)
    for order, e in enumerate(table_entries):
        fl = e.flags
        if not fl and e.cps[0] != 0xFFFD and not (ivs != "none" and (e.hd or e.aj1)):
            text = "".join(map(chr, e.cps))  # the common case: a plain round-trip entry
            dec_cands[e.code].append((0, text))
            enc_cands[text].append((0, order, e.code))
            continue
        if fl & f_unm or (e.cps and e.cps[0] == 0xFFFD):
            notes.setdefault(e.code, "the vendor table has no Unicode character for this code")
            continue
        if fl & f_sub and not use_sub:
            notes.setdefault(e.code, "only a substitute mapping exists (option substitution)")
            continue
        if fl & f_cmp and not use_cmp:
            notes.setdefault(e.code, "undefined code, C1-control mapping only with option compatible")
            continue
        if fl & f_cjk and not use_cjk:
            continue
        text, with_vs = _text(e, ivs)
        if fl & f_enc:
            if use_enc or (pua_fallbacks and len(text) == 1 and 0xE000 <= ord(text) <= 0xF8FF):
                enc_cands[text].append((1, order, e.code))
            continue
        if fl & f_dec or (fl & f_one and not with_vs):
            if use_dec:
                dec_cands[e.code].append((1, text))
            else:
                notes.setdefault(e.code, "a decode-only code (option decode_only)")
            continue
        dec_cands[e.code].append((0 if not fl & f_cjk else -1, text))
        enc_cands[text].append((0, order, e.code))
    round_trip_owners: dict[str, set[int]] = defaultdict(set)
    for text, cands in enc_cands.items():
        for prio, _order, code in cands:
            if prio == 0:
                round_trip_owners[text].add(code)
    dec: dict[int, str] = {}
    for code, cands in dec_cands.items():
        if len(cands) == 1:
            dec[code] = cands[0][1]
            continue
        best = min(p for p, _ in cands)
        texts = list(dict.fromkeys(t for p, t in cands if p == best))
        if len(texts) > 1:
            own = [t for t in texts if round_trip_owners.get(t, set()) <= {code}]
            if len(own) != 1:
                notes[code] = f"the vendor table gives this code {len(texts)} different characters"
                continue
            texts = own
        dec[code] = texts[0]
    enc: dict[str, int] = {}
    for text, cands in enc_cands.items():
        if len(cands) == 1 and cands[0][0] == 0:
            if dec.get(cands[0][2]) == text:
                enc[text] = cands[0][2]
            continue
        for prio, _order, code in sorted(cands):
            if prio == 0 and dec.get(code) != text:
                continue  # the code decodes to something else: not a round trip
            enc[text] = code
            break
    return dec, enc, notes


def _rng(s: str) -> range:
    lo, hi = (int(x, 16) for x in s.split("-"))
    return range(lo, hi + 1)


def gaiji_blocks(spec: dict[str, Any]) -> list[tuple[range, range, int]]:
    g = spec.get("gaiji") or {}
    if g.get("from_table"):
        return []
    blocks = g.get("blocks") or [g]
    return [(_rng(b["rows"]), _rng(b["cells"]), int(b["pua"], 16)) for b in blocks]


def gaiji_map(spec: dict[str, Any]) -> dict[int, str]:
    """The user-defined area → Private Use Area, in the vendor's (table) code."""
    out: dict[int, str] = {}
    for rows, cells, pua in gaiji_blocks(spec):
        k = 0
        for lead in rows:
            for trail in cells:
                out[(lead << 8) | trail] = chr(pua + k)
                k += 1
    return out
