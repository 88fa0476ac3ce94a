"""Ranking MJ candidates for every private-use glyph of a vendor's gaiji font.

Stage 1 compares the coarse feature of each vendor glyph with every MJ glyph (one matrix
product per batch) and keeps a shortlist; stage 2 ranks the shortlist by the orientation
feature, whose cosine is the score. Where the register has a row for the glyph (by private-use
code point, else by source code) and an MJ index is at hand, the row's notes refine the order:
a cited MJ文字図形名 / 住基 / 戸籍 / 入管 code joins the shortlist, gains HINT_CODE and is always
listed (the reviewer must see what the register claims); a matching
total stroke count or reading gains a little (the image decides, the notes break near-ties).
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field

import numpy as np

from kikan_hub.gaiji.errors import GaijiError
from kikan_hub.gaiji.register import GaijiRegister, GaijiRow, ucs_column
from . import features as feat
from .reference import Reference
from .render import GlyphRenderer, VendorGlyph

SHORTLIST = 30
VENDOR_BATCH = 256
HINT_CODE, HINT_STROKES, HINT_STROKES_NEAR, HINT_READING = 0.10, 0.02, 0.01, 0.02


@dataclass
class GlyphMatch:
    pua: str
    source_code: str
    candidates: list[dict] = field(default_factory=list)   # {"mj", "ucs", "score"}, best first
    hints: list[str] = field(default_factory=list)          # register notes that changed the order

    def as_dict(self) -> dict:
        return {"pua": self.pua, "source_code": self.source_code, "candidates": self.candidates}


def source_code(code_point: int, encoding: str) -> str:
    """The vendor's code for a private-use character in the declared encoding ('' if it has none):
    CP932 puts U+E000…U+E757 in the user-defined area F040…F9FC."""
    try:
        return chr(code_point).encode(encoding).hex().upper()
    except UnicodeEncodeError:
        return ""


def check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise GaijiError(f"--encoding {encoding!r}: unknown encoding (e.g. cp932, euc_jp)") from None


def private_use_glyphs(font: GlyphRenderer) -> list[VendorGlyph]:
    glyphs = font.vendor_glyphs()
    if not glyphs:
        raise GaijiError(f"{font.path}: the font maps no private-use code point (U+E000…U+F8FF, planes 15/16)")
    return glyphs


def vendor_features(font: GlyphRenderer, glyphs: list[VendorGlyph]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images = np.stack([font.image(g.gid) for g in glyphs]) if glyphs else np.zeros((0, 48, 48), np.float32)
    empty = images.reshape(len(images), -1).max(axis=1) == 0 if len(images) else np.zeros(0, bool)
    c, o = feat.features(images)
    return c, o, empty


def rank(vc: np.ndarray, vo: np.ndarray, ref: Reference, shortlist: int = SHORTLIST) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores): for each vendor glyph the shortlist's reference rows and orientation scores,
    both (n, k), not yet sorted."""
    k = min(shortlist, len(ref.mj))
    rows = np.empty((len(vc), k), dtype=np.int64)
    scores = np.empty((len(vc), k), dtype=np.float32)
    for s in range(0, len(vc), VENDOR_BATCH):
        sim = vc[s:s + VENDOR_BATCH] @ ref.coarse.T
        sl = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < sim.shape[1] else np.tile(np.arange(k), (len(sim), 1))
        rows[s:s + VENDOR_BATCH] = sl
        cand = ref.orient[sl].astype(np.float32)                    # (b, k, ORIENT_DIM)
        scores[s:s + VENDOR_BATCH] = np.einsum("bkd,bd->bk", cand, vo[s:s + VENDOR_BATCH])
    return rows, scores


class Hints:
    """Register notes (identify.parse_evidence) as score adjustments, looked up in the MJ index."""

    def __init__(self, register: GaijiRegister | None, index=None, source_system: str | None = None) -> None:
        self.index = index
        self.by_pua: dict[str, GaijiRow] = {}
        self.by_code: dict[str, GaijiRow] = {}
        for r in (register.rows if register else []):
            if source_system and r.source_system != source_system:
                continue
            if r.pua:
                self.by_pua.setdefault(r.pua, r)
            self.by_code.setdefault(r.source_code.upper(), r)

    def row(self, pua: str, code: str) -> GaijiRow | None:
        return self.by_pua.get(pua) or (self.by_code.get(code.upper()) if code else None)

    def adjust(self, row: GaijiRow | None) -> tuple[dict[str, float], list[str]]:
        """MJ → bonus, and the notes used."""
        if row is None or self.index is None or not row.glyph_note:
            return {}, []
        from kikan_hub.gaiji.identify import parse_evidence

        ev = parse_evidence(row.glyph_note)
        bonus: dict[str, float] = {}
        used: list[str] = []

        def add(names, w, why):
            if names:
                used.append(why)
            for n in names:
                bonus[n] = bonus.get(n, 0.0) + w

        for kind, values in (("mj", ev.mj), ("juki", ev.juki), ("koseki", ev.koseki), ("nyukan", ev.nyukan)):
            for v in values:
                add(self.index.find(kind, v), HINT_CODE, f"{kind} {v}")
        for s in ev.strokes:
            add(self.index.find("strokes", str(s)), HINT_STROKES, f"総画数 {s}")
            add(self.index.find("strokes", str(s - 1)) + self.index.find("strokes", str(s + 1)), HINT_STROKES_NEAR,
                f"総画数 {s}±1")
        for y in ev.readings:
            add(self.index.find("yomi", y), HINT_READING, f"読み {y}")
        return bonus, used


def match_font(font: GlyphRenderer, ref: Reference, *, top: int = 5, encoding: str = "cp932",
               hints: Hints | None = None, shortlist: int = SHORTLIST) -> list[GlyphMatch]:
    if top < 1:
        raise GaijiError("--top must be at least 1")
    encoding = check_encoding(encoding)
    glyphs = private_use_glyphs(font)
    vc, vo, empty = vendor_features(font, glyphs)
    rows, scores = rank(vc, vo, ref, max(shortlist, top))
    row_of = ref.row_of() if hints else None
    out: list[GlyphMatch] = []
    for i, g in enumerate(glyphs):
        m = GlyphMatch(g.pua, source_code(g.code_point, encoding))
        out.append(m)
        if empty[i]:
            continue            # a code point without ink: nothing to compare
        cand = dict(zip(rows[i].tolist(), scores[i].tolist()))
        bonus: dict[str, float] = {}
        if hints:
            bonus, m.hints = hints.adjust(hints.row(g.pua, m.source_code))
            for name, b in bonus.items():
                r = row_of.get(name)
                if r is None:
                    continue
                if r not in cand:
                    if b < HINT_CODE:
                        continue    # strokes/readings only re-order what the image proposed
                    cand[r] = float(ref.orient[r].astype(np.float32) @ vo[i])
                cand[r] += b
        ordered = sorted(cand.items(), key=lambda kv: (-kv[1], ref.mj[kv[0]]))
        best = ordered[:top]
        if hints:   # a code the register cites is always shown, even where the image disagrees
            cited = [kv for kv in ordered[top:] if bonus.get(ref.mj[kv[0]], 0.0) >= HINT_CODE]
            if cited:
                best = best[:max(0, top - len(cited))] + cited[:top]
        m.candidates = [{"mj": ref.mj[r], "ucs": ucs_column(ref.text[r]) if ref.text[r] else "",
                         "score": round(min(s, 1.0), 3)} for r, s in best]
    return out
