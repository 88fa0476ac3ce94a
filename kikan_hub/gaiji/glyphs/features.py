"""Normalised glyph images → feature vectors (numpy, whole batches at a time).

Two features, measured on 800 JIS kanji of Noto Serif CJK JP against all IPAmj glyphs: a
blurred 16×16 bitmap alone ranks the right MJ first for 89 %, a histogram of stroke-edge
orientations for 96–97 % — two Mincho designs differ in stroke weight and serif shape far more
than in where strokes run and in which direction.

* ``coarse``: Gaussian-blurred image (σ 2 px) pooled 3×3 → 16×16, mean-centred, unit length.
  Cheap to compare against every MJ glyph: it picks the shortlist (recall 100 % at 30 there).
* ``orient``: gradient orientations (image blurred σ 0.7) in 8 bins (soft-assigned, weighted by
  magnitude), pooled 4×4 → 12×12×8, smoothed across neighbouring cells (σ 0.7 cell), square-rooted, mean-centred, unit length
  (a HOG-like descriptor). Ranks the shortlist; its cosine is the reported score.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .render import IMAGE

COARSE_POOL, ORIENT_POOL, ORIENT_BINS = 3, 4, 8
# Image blur before the gradients and smoothing across cells: 0.7/0.7 against 1.0/1.0 on held-out
# sets (800 Noto kanji not used for choosing, 400 IVS glyphs at 24×24): top-1 96.6 → 97.4 %,
# 80.5 → 87.3 %; top-5 unchanged or better.
ORIENT_SIGMA, CELL_SIGMA = 0.7, 0.7
COARSE_DIM = (IMAGE // COARSE_POOL) ** 2
ORIENT_DIM = (IMAGE // ORIENT_POOL) ** 2 * ORIENT_BINS
_CELL_OF_PIXEL = ((np.arange(IMAGE) // ORIENT_POOL)[:, None] * (IMAGE // ORIENT_POOL)
                  + (np.arange(IMAGE) // ORIENT_POOL)[None, :])
assert ORIENT_BINS & (ORIENT_BINS - 1) == 0, "bins wrap with a bit mask"
BATCH = 1024    # images per numpy batch (a few float32 copies of the stack at a time)


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.reshape(len(x), -1)
    x = x - x.mean(axis=1, keepdims=True)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(n > 1e-6, n, 1.0)).astype(np.float32)


def _pool(x: np.ndarray, k: int) -> np.ndarray:
    n = x.shape[1] // k
    return x.reshape(len(x), n, k, n, k).mean(axis=(2, 4))


def coarse(images: np.ndarray) -> np.ndarray:
    return _unit(_pool(ndimage.gaussian_filter(images, (0, 2.0, 2.0)), COARSE_POOL))


def orient(images: np.ndarray) -> np.ndarray:
    g = ndimage.gaussian_filter(images, (0, ORIENT_SIGMA, ORIENT_SIGMA))
    gy, gx = np.gradient(g, axis=1), np.gradient(g, axis=2)
    mag = np.hypot(gx, gy)
    pos = (np.arctan2(gy, gx) % np.pi) * (ORIENT_BINS / np.pi)     # undirected: a stroke's two edges agree
    lo = pos.astype(np.intp)                   # pos ≥ 0: truncation is floor
    w_hi = pos - lo
    lo &= ORIENT_BINS - 1
    # soft assignment to the two nearest bins, summed per cell in one bincount (no per-pixel planes)
    n, side = len(images), IMAGE // ORIENT_POOL
    base = (np.arange(n, dtype=np.intp)[:, None, None] * side * side + _CELL_OF_PIXEL) * ORIENT_BINS
    idx = np.concatenate([(base + lo).ravel(), (base + ((lo + 1) & (ORIENT_BINS - 1))).ravel()])
    w = np.concatenate([(mag * (1 - w_hi)).ravel(), (mag * w_hi).ravel()])
    sums = np.bincount(idx, weights=w, minlength=n * side * side * ORIENT_BINS)
    cells = (sums / ORIENT_POOL ** 2).astype(np.float32).reshape(n, side, side, ORIENT_BINS)
    cells = ndimage.gaussian_filter(cells, (0, CELL_SIGMA, CELL_SIGMA, 0))
    return _unit(np.sqrt(cells))


def features(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coarse, orient) for an (n, IMAGE, IMAGE) float32 stack, in batches."""
    n = len(images)
    c = np.empty((n, COARSE_DIM), dtype=np.float32)
    o = np.empty((n, ORIENT_DIM), dtype=np.float32)
    for s in range(0, n, BATCH):
        batch = np.asarray(images[s:s + BATCH], dtype=np.float32)
        c[s:s + BATCH] = coarse(batch)
        o[s:s + BATCH] = orient(batch)
    return c, o
