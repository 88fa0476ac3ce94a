"""Glyph rendering with FreeType: every glyph to one normalised greyscale image.

Normalisation: the glyph is rendered at RENDER_PX per em, cropped to its ink box, scaled
(aspect kept) so the longer side fills INNER px and centred in an IMAGE×IMAGE square. Vendor
fonts place and size their glyphs differently in the em (EUDC fonts often fill it); the ink box
is what two designs of one character share. Bitmap-only fonts (BDF, PCF, Windows FNT, a TTE's
embedded strikes) are read at their largest strike and scaled up the same way.
"""
from __future__ import annotations

import ctypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kikan_hub.gaiji.errors import GaijiError

IMAGE = 48      # normalised image side
INNER = 44      # longer ink side after scaling
RENDER_PX = 96  # FreeType pixel size for outline fonts

MJ_GLYPH_NAME = re.compile(r"mj(\d{6})")
PUA_RANGES = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))


def is_private_use(cp: int) -> bool:
    """BMP private-use area and both supplementary private-use planes (codes.is_pua: BMP only)."""
    return any(lo <= cp <= hi for lo, hi in PUA_RANGES)


@dataclass(frozen=True)
class VendorGlyph:
    code_point: int
    gid: int

    @property
    def pua(self) -> str:
        return f"U+{self.code_point:04X}"


@dataclass(frozen=True)
class MJGlyph:
    mj: str         # MJ028902
    gid: int
    text: str       # the character, with its IVS where the glyph is reached through one ('' if unmapped)


def _freetype():
    try:
        import freetype
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise GaijiError("freetype-py is not installed (pip install freetype-py)") from exc
    return freetype


class GlyphRenderer:
    """One font file (face ``index`` of a collection) rendered glyph by glyph."""

    def __init__(self, path: str | Path, index: int = 0) -> None:
        ft = _freetype()
        self.path = Path(path)
        if not self.path.is_file():
            raise GaijiError(f"{self.path}: font file not found")
        try:
            self.face = ft.Face(str(self.path), index)
        except ft.FT_Exception as exc:
            raise GaijiError(f"{self.path}: not a font FreeType can read ({exc})") from exc
        self._ft = ft
        if self.face.is_scalable:
            self.face.set_pixel_sizes(0, RENDER_PX)
        elif self.face.num_fixed_sizes:
            sizes = [s.height for s in self.face.available_sizes]
            self.face.select_size(sizes.index(max(sizes)))
        else:
            raise GaijiError(f"{self.path}: the font has neither outlines nor bitmap strikes")
        self._flags = ft.FT_LOAD_RENDER | (ft.FT_LOAD_NO_HINTING if self.face.is_scalable else 0)

    # ------------------------------------------------------------------ inventories
    def cmap(self) -> dict[int, int]:
        """Unicode code point → glyph id (the face's Unicode charmap)."""
        out: dict[int, int] = {}
        try:
            self.face.select_charmap(self._ft.FT_ENCODING_UNICODE)
        except self._ft.FT_Exception:
            raise GaijiError(f"{self.path}: the font has no Unicode character map") from None
        cp, gid = self.face.get_first_char()
        while gid:
            out[cp] = gid
            cp, gid = self.face.get_next_char(cp, 0)
        return out

    def vendor_glyphs(self) -> list[VendorGlyph]:
        """Every private-use code point the font maps (a TTE maps U+E000…U+E757)."""
        return [VendorGlyph(cp, gid) for cp, gid in sorted(self.cmap().items()) if is_private_use(cp)]

    # ------------------------------------------------------------------ images
    def raw(self, gid: int) -> np.ndarray | None:
        """The rendered coverage bitmap (uint8 0–255), or None for an empty glyph."""
        self.face.load_glyph(gid, self._flags)
        bm = self.face.glyph._FT_GlyphSlot.contents.bitmap
        if not bm.rows or not bm.width:
            return None
        pitch = abs(bm.pitch)
        buf = np.frombuffer(ctypes.string_at(bm.buffer, bm.rows * pitch), dtype=np.uint8).reshape(bm.rows, pitch)
        if bm.pixel_mode == self._ft.FT_PIXEL_MODE_MONO:
            return np.unpackbits(buf, axis=1)[:, :bm.width] * np.uint8(255)
        if bm.pixel_mode == self._ft.FT_PIXEL_MODE_GRAY:
            return buf[:, :bm.width].copy()
        if bm.pixel_mode == self._ft.FT_PIXEL_MODE_BGRA:   # colour bitmap fonts: alpha as ink
            return buf.reshape(bm.rows, -1, 4)[:, :bm.width, 3].copy()
        raise GaijiError(f"{self.path}: glyph {gid}: unsupported bitmap mode {bm.pixel_mode}")

    def image(self, gid: int) -> np.ndarray:
        """The normalised IMAGE×IMAGE float32 image (ink = 1.0); all zeros for an empty glyph."""
        return normalise(self.raw(gid))


def normalise(raw: np.ndarray | None) -> np.ndarray:
    from PIL import Image

    out = np.zeros((IMAGE, IMAGE), dtype=np.float32)
    if raw is None:
        return out
    rows, cols = np.flatnonzero(raw.any(axis=1)), np.flatnonzero(raw.any(axis=0))
    if len(rows) == 0:
        return out
    crop = raw[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = INNER / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    img = np.asarray(Image.fromarray(crop).resize((nw, nh), Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR),
                     dtype=np.float32) / 255.0
    y0, x0 = (IMAGE - nh) // 2, (IMAGE - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = img
    return out


def mj_glyphs(renderer: GlyphRenderer) -> list[MJGlyph]:
    """The MJ glyphs of a reference font whose glyph names are MJ文字図形名 (IPAmj明朝), each with the
    text that reaches it: the cmap's character, else the IVS sequence of the format-14 subtable."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(renderer.path), lazy=True, fontNumber=0)
    try:
        order = font.getGlyphOrder()
        text: dict[str, str] = {}
        cmap = font.getBestCmap() or {}
        for cp, name in sorted(cmap.items()):
            text.setdefault(name, chr(cp))
        for sub in font["cmap"].tables:
            if sub.format != 14:
                continue
            for selector, pairs in sorted(sub.uvsDict.items()):
                for base, name in pairs:
                    if name is None:    # default variation: the base character's own glyph
                        continue
                    text.setdefault(name, chr(base) + chr(selector))
    finally:
        font.close()
    out = []
    for gid, name in enumerate(order):
        m = MJ_GLYPH_NAME.fullmatch(name)
        if m:
            out.append(MJGlyph(f"MJ{m.group(1)}", gid, text.get(name, "")))
    if not out:
        raise GaijiError(f"{renderer.path}: no glyph is named by an MJ文字図形名 (mj000001 …): "
                         "the reference font must be IPAmj明朝 (fonts-ipamj-mincho)")
    return out


def iter_images(renderer: GlyphRenderer, gids: list[int]) -> Iterator[np.ndarray]:
    for gid in gids:
        yield renderer.image(gid)
