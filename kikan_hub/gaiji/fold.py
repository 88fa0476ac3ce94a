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
from pathlib import Path
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


SYMBOL_FOLDS_FILE = Path(__file__).with_name("symbol_folds.yaml")


@functools.lru_cache(maxsize=1)
def symbol_folds() -> tuple[str, dict[str, str]]:
    """(category, unit → replacement) for vendor-dependent symbols the MJ縮退マップ does not cover."""
    import yaml

    data = yaml.safe_load(SYMBOL_FOLDS_FILE.read_text(encoding="utf-8"))
    return str(data["category"]), {str(k): str(v) for k, v in data["folds"].items()}


@functools.lru_cache(maxsize=1)
def default_related() -> dict[str, str]:
    """The full MJ縮退マップ targets from the MJ index in the data directory, when one was imported
    (`kikan gaiji import-mj`): jntajis lacks 辞書類等による関連字 (鷗 → 鴎 is one of them)."""
    from .paths import default_mj_index_path

    path = default_mj_index_path()
    if not path.is_file():
        return {}
    from .mj_index import MJIndex

    return MJIndex.open(path).shrink_map()


REVERSE_CATEGORY = "辞書類等による関連字（逆引き）"
_REVERSE: dict[int, tuple[Mapping[str, str], dict[str, tuple[str, ...]]]] = {}


def _reverse_related(related: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    hit = _REVERSE.get(id(related))
    if hit is not None and hit[0] is related:
        return hit[1]
    rev: dict[str, list[str]] = {}
    for src, targets in related.items():
        for t in targets:
            if t != src and len(src) == 1:
                rev.setdefault(t, []).append(src)
    out = {k: tuple(v) for k, v in rev.items()}
    _REVERSE[id(related)] = (related, out)
    return out


def fold_unit(unit: str, target: str, related: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The first target-set form in IPA's selection order; then one step further through a
    candidate (an IVS glyph → its UCS form → a JIS X 0208 form, e.g. 鷗󠄁 → 鷗 → 鴎), the two
    categories joined by →; then the symbol table. (None, 縮退不可) when nothing fits."""
    if related is None:
        related = default_related()
    first = fold_candidates(unit, related)
    for cand, category in first:
        if in_target(cand, target):
            return cand, category
    for cand, category in first:
        for cand2, category2 in fold_candidates(cand, related):
            if cand2 != unit and in_target(cand2, target):
                return cand2, f"{category}→{category2}"
    # A JIS X 0213 character has no entry of its own when the target is JIS X 0208 (the map folds
    # into JIS X 0213); the map's relation read backwards (鴎 relates to 鷗) is the next best, and is
    # recorded as such.
    for base in ([unit] + [c for c, _ in first]):
        for cand in _reverse_related(related).get(base, ()):
            if cand != unit and in_target(cand, target):
                return cand, REVERSE_CATEGORY
    symbol_category, table = symbol_folds()
    repl = table.get(unit)
    if repl is not None and all(in_target(c, target) for c in repl):
        return repl, symbol_category
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
