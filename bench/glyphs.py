"""Benchmark: 外字同定 by glyph — accuracy and speed of `kikan gaiji match-glyphs`.

Builds test "vendor" fonts and matches them against every MJ glyph of IPAmj明朝:

* serif sets: JIS X 0208 kanji of another foundry's Mincho (Noto Serif CJK JP, IPAex明朝) copied
  into the private-use area as a TrueType font (like an EUDC .TTE); the known answer is the MJ
  glyph IPAmj shows for that character;
* ivs24: IVS-only MJ glyphs (葛/辻/𠮷-type variants) rendered from IPAmj itself, degraded to
  24×24 monochrome bitmaps (a BDF font, like a host system's bitmap gaiji font); the known answer
  is the MJ glyph it was rendered from.

Reports top-1 / top-5 per set (and how often top-1 is at least the right character — another
variant of the same base), the feature-cache build time (only when this run had to build it),
the matching time, and the matching time of an exhaustive baseline (orientation feature against
every MJ glyph, no shortlist) in the same run.

    .venv/bin/python bench/glyphs.py [--n 2000] [--ivs 500] [--sets noto,ipaex,ivs24] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kikan_hub.gaiji.glyphs.match import match_font, vendor_features
from kikan_hub.gaiji.glyphs.reference import find_mj_font, load_reference
from kikan_hub.gaiji.glyphs.render import GlyphRenderer
from kikan_hub.gaiji.glyphs.vendor_font import build_bitmap_font, build_outline_font, render_mono
from kikan_hub.gaiji.paths import data_dir

SERIF_SOURCES = {
    "noto": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "Noto Serif CJK JP", "fonts-noto-cjk"),
    "ipaex": ("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf", "IPAex明朝", "fonts-ipaexfont-mincho"),
}


def jis0208_kanji() -> list[str]:
    out = []
    for cp in range(0x4E00, 0xA000):
        try:
            b = chr(cp).encode("iso2022_jp")
        except UnicodeEncodeError:
            continue
        if len(b) > 1:
            out.append(chr(cp))
    return out


def ttc_index(path: str, family: str) -> int:
    from fontTools.ttLib import TTCollection

    if not path.lower().endswith(".ttc"):
        return 0
    coll = TTCollection(path, lazy=True)
    for i, f in enumerate(coll.fonts):
        if f["name"].getDebugName(1) == family:
            return i
    raise SystemExit(f"{path}: no face {family}")


def score(matches, truth: list[str], base_of: dict[str, str]) -> dict:
    top1 = top5 = same_char = 0
    for m, want in zip(matches, truth):
        names = [c["mj"] for c in m.candidates]
        top1 += bool(names) and names[0] == want
        top5 += want in names[:5]
        same_char += bool(names) and base_of.get(names[0], "?") == base_of.get(want, "!")
    n = len(truth)
    return {"n": n, "top1": top1 / n, "top5": top5 / n, "same_char": same_char / n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="kanji per serif set")
    ap.add_argument("--ivs", type=int, default=500, help="glyphs in the IVS bitmap set")
    ap.add_argument("--sets", default="noto,ipaex,ivs24")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--mj-font", default=None)
    ap.add_argument("--data-dir", default=None, help="feature cache location (default KIKAN_DATA_DIR or ./var)")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    print("command:", " ".join([Path(sys.executable).name] + sys.argv), f"(cpus {os.cpu_count()})")
    rnd = random.Random(args.seed)
    mj_font = find_mj_font(args.mj_font)
    t0 = time.perf_counter()
    ref = load_reference(mj_font, data_dir(args.data_dir))
    load_s = time.perf_counter() - t0
    if ref.build_seconds is not None:
        print(f"feature cache built: {len(ref.mj):,} MJ glyphs in {ref.build_seconds:.1f} s → {ref.cache_path}")
    else:
        print(f"feature cache read: {len(ref.mj):,} MJ glyphs in {load_s:.1f} s ({ref.cache_path})")
    mj_of_char = {t: m for m, t in zip(ref.mj, ref.text) if len(t) == 1}
    base_of = {m: t[:1] for m, t in zip(ref.mj, ref.text) if t}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            if name in SERIF_SOURCES:
                path, family, package = SERIF_SOURCES[name]
                if not Path(path).exists():
                    print(f"{name}: {path} missing (apt-get install {package}); skipped")
                    continue
                index = ttc_index(path, family)
                from fontTools.ttLib import TTFont
                have = TTFont(path, fontNumber=index, lazy=True).getBestCmap()
                pool = [c for c in jis0208_kanji() if ord(c) in have and c in mj_of_char]
                chars = rnd.sample(pool, min(args.n, len(pool)))
                font = Path(tmp) / f"{name}.ttf"
                t = time.perf_counter()
                build_outline_font(path, chars, font, font_number=index)
                build_s = time.perf_counter() - t
                truth = [mj_of_char[c] for c in chars]
                label = f"{name} ({family}, JIS X 0208 kanji as TrueType PUA)"
            elif name == "ivs24":
                rows = [i for i, t in enumerate(ref.text) if len(t) == 2]
                picked = sorted(rnd.sample(rows, min(args.ivs, len(rows))))
                t = time.perf_counter()
                cells = render_mono(mj_font, [int(ref.gids[i]) for i in picked], 24)
                font = Path(tmp) / "ivs24.bdf"
                build_bitmap_font(cells, font)
                build_s = time.perf_counter() - t
                truth = [ref.mj[i] for i in picked]
                label = "ivs24 (IPAmj IVS glyphs, 24×24 monochrome BDF)"
            else:
                raise SystemExit(f"unknown set {name}")
            vendor = GlyphRenderer(font)
            t = time.perf_counter()
            matches = match_font(vendor, ref, top=5)
            match_s = time.perf_counter() - t
            r = score(matches, truth, base_of)
            line = (f"{label}: n={r['n']:,}  top-1 {r['top1']:.1%}  top-5 {r['top5']:.1%}  "
                    f"top-1 right character {r['same_char']:.1%}  |  font built {build_s:.1f} s, "
                    f"matched in {match_s:.2f} s")
            if not args.no_baseline:
                t = time.perf_counter()
                _, vo, _ = vendor_features(vendor, vendor.vendor_glyphs())
                full = ref.orient.astype(np.float32)
                best = np.empty(len(vo), dtype=np.int64)
                for s in range(0, len(vo), 256):
                    best[s:s + 256] = np.argmax(vo[s:s + 256] @ full.T, axis=1)
                base_s = time.perf_counter() - t
                b1 = float(np.mean([ref.mj[b] == w for b, w in zip(best, truth)]))
                line += f"; exhaustive baseline {base_s:.2f} s (top-1 {b1:.1%}), ratio {match_s / base_s:.2f}"
            print(line)
    print("goal (serif sets): top-1 ≥ 95 %, top-5 ≥ 99 %; matching 2,000 glyphs < 60 s on two cores")


if __name__ == "__main__":
    main()
