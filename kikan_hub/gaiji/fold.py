"""Folding (縮退) for receivers limited to JIS X 0208, JIS X 0213 or a code page.

A fold is a policy of an export or an interface, never of the store: the canonical store keeps
the MJ character; ``fold_text`` is applied when writing for a limited receiver, and every fold
is returned as a :class:`FoldRecord` so that it can be reported.

Candidates come from the MJ縮退マップ as compiled into jntajis-python
(``jntajis.mj_shrink_candidates``), asked one category at a time and tried in IPA's order for
a unique selection (the order of :data:`CATEGORIES`). ``jnta_shrink_translit`` is not used: it
writes U+FFFD for what it cannot map. A character the map cannot bring into the target set is
left as it is and reported with ``to=None`` and category :data:`UNFOLDABLE`.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import jntajis

from .codes import units
from .errors import GaijiError

# MJ縮退マップ categories, in IPA's order for a unique selection. The value is the bit of
# jntajis.MJShrinkSchemeCombo, or None where jntajis-python does not carry the category.
CATEGORIES: tuple[tuple[str, int | None], ...] = (
    ("JIS包摂規準・UCS統合規則", int(jntajis.MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE)),
    ("法務省告示582号別表第四", int(jntajis.MJShrinkSchemeCombo.MOJ_NOTICE_582)),
    ("法務省戸籍法関連通達・通知", int(jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE)),
    ("辞書類等による関連字", None),   # not compiled into jntajis-python 0.1
    ("読み・字形による類推", int(jntajis.MJShrinkSchemeCombo.INFERENCE_BY_READING_AND_GLYPH)),
)
CATEGORY_NAMES = tuple(name for name, _ in CATEGORIES)
UCS_UNIFICATION = CATEGORIES[0][0]
UNFOLDABLE = "縮退不可"

TARGETS = ("jisx0208", "jisx0213")


@dataclass(frozen=True)
class FoldRecord:
    position: int          # index in the input string (code points)
    from_: str             # the character (with its variation selector, if any)
    to: str | None         # the folded character, None when it could not be folded
    category: str          # an MJ縮退マップ category, or 縮退不可

    def as_dict(self) -> dict:
        return {"position": self.position, "from": self.from_, "to": self.to, "category": self.category}


def _jnta_ok(unit: str, mode: int) -> bool:
    try:
        jntajis.jnta_encode("jis", unit, mode)
        return True
    except Exception:  # jntajis raises its own error types for unmappable input
        return False


def _codec_ok(unit: str, codec: str) -> bool:
    try:
        unit.encode(codec)   # strict: never errors='replace'
        return True
    except UnicodeEncodeError:
        return False


@functools.lru_cache(maxsize=65536)
def in_target(unit: str, target: str) -> bool:
    """Is this character (possibly with a variation selector) representable for the receiver?"""
    if all(ord(c) < 0x80 for c in unit):
        return True
    if target == "jisx0208":
        # JIS X 0208 as Python's ISO-2022-JP maps it, or as the JNTA table maps it (～ vs 〜 …)
        return _codec_ok(unit, "iso2022_jp") or _jnta_ok(unit, int(jntajis.ConversionMode.JISX0208))
    if target == "jisx0213":
        return _codec_ok(unit, "euc_jis_2004") or _jnta_ok(unit, int(jntajis.ConversionMode.SISO))
    return _codec_ok(unit, target)


def check_target(target: str) -> str:
    t = target.strip().lower().replace("-", "").replace("_", "")
    if t in ("jisx0208", "x0208", "0208"):
        return "jisx0208"
    if t in ("jisx0213", "x0213", "0213"):
        return "jisx0213"
    import codecs

    try:
        return codecs.lookup(target).name
    except LookupError:
        raise GaijiError(f"unknown fold target {target!r}: jisx0208, jisx0213 or a Python codec name (cp932 …)") from None


@functools.lru_cache(maxsize=65536)
def _jntajis_candidates(unit: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    own = tuple(jntajis.mj_shrink_candidates(unit, 0))
    out: list[tuple[str, str]] = []
    seen: set[str] = {unit}
    for name, bit in CATEGORIES:
        if bit is None:
            continue
        for cand in jntajis.mj_shrink_candidates(unit, bit):
            if cand in own or cand in seen:
                continue
            seen.add(cand)
            out.append((cand, name))
    return own, tuple(out)


def fold_candidates(unit: str, related: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """All (target character, category) the MJ縮退マップ offers for this unit, in selection order.

    ``related`` (unit → fold targets, e.g. ``MJIndex.shrink_map()`` from mojikiban_moji.csv) adds
    the targets jntajis-python does not carry: jntajis compiles four of the five categories, so a
    target of the full map that is in none of them belongs to 辞書類等による関連字."""
    own, cands = _jntajis_candidates(unit)
    by_cat: dict[str, list[str]] = {name: [] for name in CATEGORY_NAMES}
    seen = {unit}
    for cand, cat in cands:
        seen.add(cand)
        by_cat[cat].append(cand)
    # a glyph that needs an IVS folds to its UCS-unified form (the base character)
    for cand in own:
        if cand not in seen:
            seen.add(cand)
            by_cat[UCS_UNIFICATION].append(cand)
    if related:
        for cand in related.get(unit, ""):
            if cand not in seen:
                seen.add(cand)
                by_cat["辞書類等による関連字"].append(cand)
    out = [(c, name) for name in CATEGORY_NAMES for c in by_cat[name]]
    return tuple(out)


def fold_unit(unit: str, target: str, related: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    for cand, category in fold_candidates(unit, related):
        if in_target(cand, target):
            return cand, category
    return None, UNFOLDABLE


def fold_text(text: str, target: str, related: Mapping[str, str] | None = None) -> tuple[str, list[FoldRecord]]:
    """Fold ``text`` for a receiver limited to ``target`` (jisx0208, jisx0213 or a codec name).

    Returns the folded text and one FoldRecord per changed character — and per character that
    could not be brought into the target set (``to=None``; it is left as it was)."""
    target = check_target(target)
    out: list[str] = []
    records: list[FoldRecord] = []
    for pos, unit in units(text):
        if in_target(unit, target):
            out.append(unit)
            continue
        to, category = fold_unit(unit, target, related)
        records.append(FoldRecord(pos, unit, to, category))
        out.append(unit if to is None else to)
    return "".join(out), records
