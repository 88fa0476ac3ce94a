"""The character policy of an export: target encoding + fold (縮退) target.

``convert(text)`` returns the bytes to write, the folds applied (each recorded, never silent)
and the characters that cannot be written under the policy (the export then fails and lists
them; nothing is replaced).

Order of the steps for one value:
1. CP932 only, with a fold: the seven JIS-form characters (WAVE DASH …) become the character
   CP932 reads back (U+301C → U+FF5E …), recorded as category ``CP932対応付け``. With
   ``--fold none`` they are errors (the receiver would read back another character).
2. With a fold: characters outside the fold target (JIS X 0208 / 0213; JIS X 0201 half-width
   katakana counts as inside, as in Shift_JIS) go through ``gaiji.fold.fold_text`` (MJ縮退マップ).
   An IVS sequence the map does not know folds to its base character when that is inside the
   target (category ``異体字セレクタ除去``), or to the fold of its base character (category
   ``異体字セレクタ除去・<category>``). Anything else is an error.
2b. CP932 only: characters still outside CP932 (JIS X 0213 kanji CP932 lacks …) are folded
   once more with target ``cp932``, recorded the same way.
3. Encode strictly in the target encoding (CP932 as Windows writes it). Failures are errors.
"""
from __future__ import annotations

from dataclasses import dataclass

from kikan_hub.gaiji.codes import is_variation_selector, parse_ucs, units
from kikan_hub.gaiji.cp932 import encode_cp932_windows, load_policy, overlay
from kikan_hub.gaiji.fold import FoldRecord, fold_text, fold_unit, in_target

CP932_MAP_CATEGORY = "CP932対応付け"
IVS_CATEGORY = "異体字セレクタ除去"

_FAST_TARGET_CODEC = {"jisx0208": "shift_jis", "jisx0213": "shift_jis_2004"}


@dataclass(frozen=True)
class BadChar:
    position: int
    char: str
    reason: str

    def describe(self) -> str:
        return f"{self.char!r} ({' '.join(f'U+{ord(c):04X}' for c in self.char)}): {self.reason}"


def _halfwidth_kana(unit: str) -> bool:
    return len(unit) == 1 and 0xFF61 <= ord(unit) <= 0xFF9F


def apply_folds(text: str, folds: list[FoldRecord]) -> str:
    """Re-apply recorded folds to the original text (positions are code-point indexes of units)."""
    if not folds:
        return text
    by_pos: dict[int, list[FoldRecord]] = {}
    for r in folds:
        by_pos.setdefault(r.position, []).append(r)
    out = []
    for pos, unit in units(text):
        cur = unit
        for r in by_pos.get(pos, ()):
            if cur != r.from_:
                raise ValueError(f"fold at {pos}: expected {r.from_!r}, found {cur!r}")
            cur = r.to
        out.append(cur)
    return "".join(out)


class CharPolicy:
    def __init__(self, encoding: str, fold: str) -> None:
        self.encoding = encoding
        self.fold = fold
        if encoding == "cp932":
            pairs = load_policy()["pairs"]
            self._jis_forms = {parse_ucs(p["jis"]): p for p in pairs}
            self._special = set(overlay()) | set(self._jis_forms)

    def describe(self) -> dict:
        return {
            "encoding": self.encoding,
            "encoding_detail": "CP932 as Windows writes it (IBM extensions FA–FC; user-defined area F040–F9FC = U+E000–U+E757)"
            if self.encoding == "cp932" else "UTF-8 (no BOM); IVS sequences and supplementary characters kept",
            "fold": self.fold,
            "fold_detail": {
                "none": "no fold: a character the encoding cannot write is an error, never replaced",
                "jisx0208": "MJ縮退マップ (jntajis) to JIS X 0208 (+ JIS X 0201); every fold recorded in folds.csv",
                "jisx0213": "MJ縮退マップ (jntajis) to JIS X 0213 (+ JIS X 0201); every fold recorded in folds.csv",
            }[self.fold],
            "unfoldable": "error (the export fails and lists the characters)",
        }

    # -- steps ---------------------------------------------------------------------------
    def _fold(self, s: str, target: str, folds: list[FoldRecord], bad: list[BadChar],
              origin: list[int] | None = None) -> tuple[str, list[int] | None]:
        """Fold units of ``s`` outside ``target``. ``origin`` maps positions of ``s`` to the original
        value (None = identity); returns the folded text and the origin map of the result."""
        try:
            s.encode(_FAST_TARGET_CODEC.get(target, target))
            return s, origin
        except UnicodeEncodeError:
            pass
        _, recs = fold_text(s, target)
        by_pos = {r.position: r for r in recs}
        out: list[str] = []
        new_origin: list[int] = []
        for pos, unit in units(s):
            o = pos if origin is None else origin[pos]
            r = by_pos.get(pos)
            if r is not None and r.to is None:
                if _halfwidth_kana(unit) and target != "cp932":
                    r = None
                elif len(unit) > 1 and is_variation_selector(unit[1]):
                    base = unit[0]
                    if in_target(base, target):
                        r = FoldRecord(pos, unit, base, IVS_CATEGORY)
                    else:
                        to, cat = fold_unit(base, target)
                        r = FoldRecord(pos, unit, to, f"{IVS_CATEGORY}・{cat}")
                if r is not None and r.to is None:
                    bad.append(BadChar(o, unit, f"{target} に縮退できません (MJ縮退マップに候補なし)"))
                    r = None
            text = unit if r is None else r.to
            if r is not None:
                folds.append(FoldRecord(o, r.from_, r.to, r.category))
            new_origin.extend([o] * len(text))
            out.append(text)
        return "".join(out), new_origin

    def _cp932_forms(self, s: str, folds: list[FoldRecord], bad: list[BadChar]) -> str:
        if self._jis_forms.keys().isdisjoint(s):
            return s
        out = list(s)
        for i, ch in enumerate(s):
            p = self._jis_forms.get(ch)
            if p is None:
                continue
            to = parse_ucs(p["cp932"])
            if self.fold == "none":
                bad.append(BadChar(i, ch, f"CP932 では {p['code']} に書かれ {to!r} として読み戻されます "
                                          f"(--fold を指定すると対応付けを記録して出力します)"))
            else:
                folds.append(FoldRecord(i, ch, to, CP932_MAP_CATEGORY))
                out[i] = to
        return "".join(out)

    def _encode_cp932(self, s: str, bad: list[BadChar]) -> bytes:
        if self._special.isdisjoint(s):
            try:
                return s.encode("cp932")
            except UnicodeEncodeError:
                pass
        out = bytearray()
        for i, ch in enumerate(s):
            try:
                out += encode_cp932_windows(ch)
            except Exception as exc:  # CP932EncodeError: no code / rejected by policy
                reason = getattr(exc, "reason", str(exc))
                if is_variation_selector(ch):
                    reason = "異体字セレクタ (IVS) は CP932 で書けません"
                bad.append(BadChar(i, ch, f"CP932 で書けません ({reason})"))
        return bytes(out)

    def convert(self, s: str) -> tuple[bytes, list[FoldRecord], list[BadChar]]:
        """(bytes, folds, bad characters) for one value. Results are cached per distinct value
        (names and addresses repeat); callers must not mutate the returned lists."""
        if s.isascii():
            return s.encode("ascii"), [], []
        cache = self.__dict__.setdefault("_cache", {})
        hit = cache.get(s)
        if hit is None:
            if len(cache) >= 200_000:
                cache.clear()
            hit = cache[s] = self._convert(s)
        return hit

    def _convert(self, s: str) -> tuple[bytes, list[FoldRecord], list[BadChar]]:
        folds: list[FoldRecord] = []
        bad: list[BadChar] = []
        if self.encoding == "cp932":
            s = self._cp932_forms(s, folds, bad)
        if self.fold != "none":
            s, origin = self._fold(s, self.fold, folds, bad)
            if self.encoding == "cp932" and not bad:
                s, _ = self._fold(s, "cp932", folds, bad, origin)   # e.g. JIS X 0213 kanji CP932 lacks
        if bad:   # the export fails; report each character once (not again as an encode error)
            return b"", folds, bad
        if self.encoding == "utf-8":
            return s.encode("utf-8"), folds, bad
        return self._encode_cp932(s, bad), folds, bad
