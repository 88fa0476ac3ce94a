"""Small real fonts for the glyph-matching tests: an IPAmj明朝 subset (MJ glyph names, its cmap
and IVS subtable kept) and vendor fonts built from IPAex明朝 — tens of glyphs, so CI stays quick.

Fonts come from Debian packages (.ci/services.sh installs them). Under CI=true a missing font
fails the test; on a developer machine the test is skipped with a one-line reason."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

IPAMJ = Path("/usr/share/fonts/truetype/ipamj/ipamjm.ttf")
IPAEX = Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf")
PACKAGES = {IPAMJ: "fonts-ipamj-mincho", IPAEX: "fonts-ipaexfont-mincho"}

# The vendor characters of the tests: common surname kanji, look-alike pairs (高/髙, 吉/𠮷 is not
# in IPAex, so 土/士, 未/末, 己/已/巳), and characters with many MJ variants (葛, 辻, 邊).
VENDOR_CHARS = list("高髙崎﨑土士未末己已巳斉斎齋渡邊辺葛辻吉田中山川島嶋榮栄澤沢濱浜廣広德徳惠恵眞真壽寿濵")
DISTRACTORS = 240


def need_font(path: Path) -> Path:
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must install {PACKAGES[path]} (.ci/services.sh)")
        pytest.skip(f"{path} missing: apt-get install {PACKAGES[path]}")
    return path


def reference_chars() -> list[str]:
    """The vendor characters plus a fixed random draw of other JIS X 0208 kanji as distractors."""
    pool = []
    for cp in range(0x4E00, 0x9FA0):
        try:
            if len(chr(cp).encode("iso2022_jp")) > 1:
                pool.append(chr(cp))
        except UnicodeEncodeError:
            pass
    rnd = random.Random(18)
    extra = rnd.sample([c for c in pool if c not in VENDOR_CHARS], DISTRACTORS)
    return VENDOR_CHARS + extra


def build_mj_subset(out: Path, chars: list[str]) -> Path:
    """IPAmj明朝 cut down to ``chars`` and every IVS variant of them, glyph names and the format-14
    (IVS) subtable kept — the same kind of font as the full one, 1 % of its size."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

    src = TTFont(str(need_font(IPAMJ)))
    wanted = {ord(c) for c in chars}
    uvs = {}
    for t in src["cmap"].tables:
        if t.format == 14:
            for sel, pairs in t.uvsDict.items():
                keep = [(b, n) for b, n in pairs if b in wanted and n]
                if keep:
                    uvs[sel] = keep
    opts = subset.Options()
    opts.glyph_names = True
    opts.notdef_outline = True
    opts.layout_features = []
    opts.name_IDs = ["*"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted(wanted), glyphs=sorted({n for pairs in uvs.values() for _, n in pairs}))
    sub.subset(src)
    t14 = CmapSubtable.newSubtable(14)
    t14.platformID, t14.platEncID, t14.language, t14.cmap = 0, 5, 0, {}
    t14.uvsDict = uvs
    src["cmap"].tables.append(t14)
    src.save(str(out))
    return out


def build_vendor(out: Path, chars: list[str] = VENDOR_CHARS) -> dict[int, str]:
    from kikan_hub.gaiji.glyphs.vendor_font import build_outline_font

    return build_outline_font(need_font(IPAEX), chars, out)
