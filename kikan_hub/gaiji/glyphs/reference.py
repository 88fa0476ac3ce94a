"""The MJ reference font (IPAmj明朝): found, rendered once, its features cached in the data directory.

Found by, in order: an explicit path (``--mj-font``), ``KIKAN_MJ_FONT``, fontconfig
(``fc-match IPAmjMincho``, accepted only if fontconfig really answers with IPAmj — it otherwise
falls back to any font). The cache file is keyed by the font's SHA-256 and the feature version,
so a new font release or a changed feature definition builds a new cache instead of reading a
stale one.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kikan_hub.gaiji.errors import GaijiError
from kikan_hub.gaiji.mj_index import sha256_file
from . import features as feat
from .render import GlyphRenderer, mj_glyphs

DEBIAN_PACKAGE = "fonts-ipamj-mincho"
FEATURE_VERSION = f"v2-{feat.COARSE_DIM}-{feat.ORIENT_DIM}-{feat.ORIENT_SIGMA}-{feat.CELL_SIGMA}"
CACHE_DIR = "glyph_features"


def find_mj_font(explicit: str | Path | None = None) -> Path:
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise GaijiError(f"--mj-font {p}: file not found")
        return p
    env = os.environ.get("KIKAN_MJ_FONT")
    if env:
        p = Path(env)
        if not p.is_file():
            raise GaijiError(f"KIKAN_MJ_FONT={env}: file not found")
        return p
    if shutil.which("fc-match"):
        try:
            res = subprocess.run(["fc-match", "-f", "%{file}\n%{family}", "IPAmjMincho"], capture_output=True,
                                 text=True, timeout=30, check=False)
            lines = res.stdout.splitlines()
            if len(lines) >= 2 and "ipamj" in lines[1].lower() and Path(lines[0]).is_file():
                return Path(lines[0])
        except (OSError, subprocess.TimeoutExpired):
            pass
    raise GaijiError("MJ reference font (IPAmj明朝) not found: install the Debian package "
                     f"{DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}), or give --mj-font PATH / KIKAN_MJ_FONT")


@dataclass
class Reference:
    font: Path
    mj: list[str]           # MJ文字図形名, row order of the matrices
    text: list[str]         # the character (with IVS) reaching each glyph, '' if none
    gids: np.ndarray        # glyph ids in the font
    coarse: np.ndarray      # (n, COARSE_DIM) float32
    orient: np.ndarray      # (n, ORIENT_DIM) float16 (halves the cache; scores differ < 1e-3)
    build_seconds: float | None = None   # set when this call built the cache
    cache_path: Path | None = None

    def row_of(self) -> dict[str, int]:
        return {m: i for i, m in enumerate(self.mj)}


def _render_part(args: tuple[str, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    path, gids = args
    r = GlyphRenderer(path)
    images = np.stack([r.image(g) for g in gids]) if gids else np.zeros((0, 1, 1), np.float32)
    return feat.features(images)


def build_features(font: Path, gids: list[int], workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Render and describe the given glyphs, split over ``workers`` processes."""
    if workers <= 1 or len(gids) < 2000:
        return _render_part((str(font), gids))
    chunk = max(1, -(-len(gids) // (workers * 4)))
    parts = [(str(font), gids[i:i + chunk]) for i in range(0, len(gids), chunk)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(_render_part, parts))
    return np.concatenate([c for c, _ in done]), np.concatenate([o for _, o in done])


def load_reference(font: Path, data_dir: Path, *, workers: int | None = None) -> Reference:
    """The reference features, from the cache or built now (and cached)."""
    font = Path(font)
    digest = sha256_file(font)
    tag = f"{digest[:16]}-{FEATURE_VERSION}"
    cache = Path(data_dir) / CACHE_DIR / f"{tag}.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                return Reference(font, meta["mj"], meta["text"], z["gids"], z["coarse"], z["orient"], None, cache)
        except (OSError, ValueError, KeyError) as exc:
            raise GaijiError(f"{cache}: unreadable glyph feature cache ({exc}); delete it to rebuild") from exc
    t0 = time.perf_counter()
    glyphs = mj_glyphs(GlyphRenderer(font))
    gids = [g.gid for g in glyphs]
    coarse, orient = build_features(font, gids, workers or min(2, os.cpu_count() or 1))
    ref = Reference(font, [g.mj for g in glyphs], [g.text for g in glyphs], np.asarray(gids, dtype=np.int32),
                    coarse, orient.astype(np.float16), None, cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    meta = json.dumps({"font": str(font), "sha256": digest, "version": FEATURE_VERSION, "mj": ref.mj, "text": ref.text},
                      ensure_ascii=False)
    np.savez(tmp, meta=np.array(meta), gids=ref.gids, coarse=ref.coarse, orient=ref.orient)
    tmp.replace(cache)
    ref.build_seconds = time.perf_counter() - t0
    return ref
