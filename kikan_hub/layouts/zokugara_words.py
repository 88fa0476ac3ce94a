"""Legacy 続柄 words → the standard 続柄 code (j110), mapped only where the word says one thing.

The word list is data (``codes/zokugara.yaml`` ``legacy_words``). A word whose meaning is not
one code (祖父: 父の父 or 母の父?) is never guessed: it stays out of the code map, so the
mapping's MAP-CODE quarantines the record for a clerk to review.
"""
from __future__ import annotations

from kikan_hub.layouts.isl import load_code_table


def legacy_words() -> dict[str, str | None]:
    """Every known legacy word → its code, or None where it needs review."""
    raw = load_code_table("zokugara").extra.get("legacy_words") or {}
    return {str(k): (str(v) if v is not None else None) for k, v in raw.items()}


def code_map_from_words(words: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """(code map for mapping.yaml code_maps, words sent to review).

    `words`: the old system's code → word (e.g. {"05": "長男"}); default every known word as its
    own code. Unknown words go to review as well: nothing is guessed."""
    known = legacy_words()
    vocab = load_code_table("zokugara").codes
    source = words if words is not None else {w: w for w in known}
    out: dict[str, str] = {}
    review: list[str] = []
    for code, word in source.items():
        w = str(word).strip().replace("(", "（").replace(")", "）")
        std = known.get(w)
        if std is None and w in vocab.values():      # already a standard word (子の妻, 妻（未届） …)
            std = next(c for c, label in vocab.items() if label == w)
        if std is None:
            review.append(str(code))
        else:
            out[str(code)] = std
    return out, sorted(review)
