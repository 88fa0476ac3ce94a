"""Building vendor-style gaiji fonts from another font's glyphs (benchmarks, tests, rehearsals
without the vendor's file).

* ``build_outline_font``: a TrueType font like a Windows EUDC .TTE — the given characters of a
  source font (CFF or TrueType outlines; cubic curves converted to quadratic) placed at
  consecutive private-use code points from U+E000.
* ``build_bitmap_font``: a BDF bitmap font — glyphs of a source font rendered monochrome at a
  small pixel size (24×24, like the vendor bitmap fonts of old host systems), chosen by glyph id,
  so IVS-only glyphs (no code point of their own) can be used.
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from kikan_hub.gaiji.errors import GaijiError
from .render import _freetype

PUA_START = 0xE000


def build_outline_font(source: str | Path, chars: list[str], out: str | Path, *, font_number: int = 0,
                       family: str = "KikanTestGaiji", start: int = PUA_START) -> dict[int, str]:
    """Write a TrueType font mapping start, start+1, … to the glyphs of ``chars`` in ``source``.
    Returns {code point: source character}."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont

    src = TTFont(str(source), fontNumber=font_number, lazy=True)
    cmap = src.getBestCmap()
    gs = src.getGlyphSet()
    upm = src["head"].unitsPerEm
    order, glyphs, metrics, mapping, origin = [".notdef"], {}, {}, {}, {}
    empty = TTGlyphPen(None)
    glyphs[".notdef"] = empty.glyph()
    metrics[".notdef"] = (upm, 0)
    for i, ch in enumerate(chars):
        name = cmap.get(ord(ch))
        if name is None:
            raise GaijiError(f"{source}: no glyph for {ch} (U+{ord(ch):04X})")
        pen = TTGlyphPen(None)
        gs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=src.sfntVersion == "OTTO"))
        gname = f"uni{start + i:04X}"
        order.append(gname)
        glyphs[gname] = pen.glyph()
        metrics[gname] = (upm, 0)
        mapping[start + i] = gname
        origin[start + i] = ch
    src.close()
    fb = FontBuilder(upm, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(mapping)
    fb.setupGlyf(glyphs)
    for gname, g in glyphs.items():     # left side bearing = the glyph's own xMin
        g.recalcBounds(fb.font["glyf"])
        metrics[gname] = (upm, getattr(g, "xMin", 0))
    fb.setupHorizontalMetrics(metrics)
    asc, desc = round(upm * 0.88), -round(upm * 0.12)
    fb.setupHorizontalHeader(ascent=asc, descent=desc)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=asc, sTypoDescender=desc, usWinAscent=asc, usWinDescent=-desc)
    fb.setupPost()
    fb.save(str(out))
    return origin


def render_mono(source: str | Path, gids: list[int], px: int = 24) -> list[np.ndarray]:
    """Glyphs rendered monochrome into px×px cells (baseline at 7/8 of the cell), as uint8 0/1."""
    ft = _freetype()
    face = ft.Face(str(source))
    face.set_pixel_sizes(0, px)
    base = round(px * 0.88)
    cells = []
    for gid in gids:
        face.load_glyph(gid, ft.FT_LOAD_RENDER | ft.FT_LOAD_TARGET_MONO)
        slot = face.glyph
        bm = slot._FT_GlyphSlot.contents.bitmap
        cell = np.zeros((px, px), dtype=np.uint8)
        if bm.rows and bm.width:
            pitch = abs(bm.pitch)
            raw = np.frombuffer(ctypes.string_at(bm.buffer, bm.rows * pitch), dtype=np.uint8).reshape(bm.rows, pitch)
            bits = np.unpackbits(raw, axis=1)[:, :bm.width]
            y0, x0 = base - slot.bitmap_top, slot.bitmap_left
            ys, xs = slice(max(y0, 0), min(y0 + bm.rows, px)), slice(max(x0, 0), min(x0 + bm.width, px))
            cell[ys, xs] = bits[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
        cells.append(cell)
    return cells


def build_bitmap_font(cells: list[np.ndarray], out: str | Path, *, family: str = "KikanTestGaijiBitmap",
                      start: int = PUA_START) -> list[int]:
    """Write a BDF font (Unicode-encoded) with one px×px cell per code point from ``start``."""
    if not cells:
        raise GaijiError("no glyphs for the bitmap font")
    px = cells[0].shape[0]
    base = round(px * 0.88)
    lines = ["STARTFONT 2.1", f"FONT -kikan-{family}-medium-r-normal--{px}-{px * 10}-75-75-c-{px * 10}-iso10646-1",
             f"SIZE {px} 75 75", f"FONTBOUNDINGBOX {px} {px} 0 {base - px}", "STARTPROPERTIES 6",
             f'FAMILY_NAME "{family}"', 'CHARSET_REGISTRY "ISO10646"', 'CHARSET_ENCODING "1"',
             f"FONT_ASCENT {base}", f"FONT_DESCENT {px - base}", "DEFAULT_CHAR 0", "ENDPROPERTIES",
             f"CHARS {len(cells)}"]
    codes = []
    for i, cell in enumerate(cells):
        cp = start + i
        codes.append(cp)
        lines += [f"STARTCHAR uni{cp:04X}", f"ENCODING {cp}", "SWIDTH 1000 0", f"DWIDTH {px} 0",
                  f"BBX {px} {px} 0 {base - px}", "BITMAP"]
        packed = np.packbits(cell.astype(np.uint8), axis=1)
        lines += ["".join(f"{b:02X}" for b in row) for row in packed]
        lines.append("ENDCHAR")
    lines.append("ENDFONT")
    Path(out).write_text("\n".join(lines) + "\n", encoding="ascii")
    return codes
