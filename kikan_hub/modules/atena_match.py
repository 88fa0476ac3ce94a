"""団体内統合宛名 matching: normalisation of kana, names and addresses, scoring of a pair of
persons and the blocking that proposes candidate pairs. Pure functions on records: no SQL here
(reading the store and recording decisions is atena.py).

Pairs are blocked by birth date and by a tolerant kana key, scored on normalised kana name (0.40),
birth date (0.30), normalised address (0.20) and kanji name (0.10); a different 男女の別 halves the score.
"""
from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field


# ---------------------------------------------------------------- normalisation
_SPACES = re.compile(r"[\s\u3000・･.,，、]+")
_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_OLD_KANA = str.maketrans({"ヰ": "イ", "ヱ": "エ", "ヲ": "オ", "ヂ": "ジ", "ヅ": "ズ"})


def _hira_to_kata(s: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)


def normalize_kana(s: str | None) -> str:
    """NFKC (half-width kana → full width), hiragana → katakana, spaces and dots removed."""
    if not s:
        return ""
    return _SPACES.sub("", _hira_to_kata(unicodedata.normalize("NFKC", s)))


def tolerant_kana(s: str | None) -> str:
    """normalize_kana, then small kana → large, ヂヅ → ジズ, dakuten / handakuten and ー dropped."""
    k = normalize_kana(s).translate(_OLD_KANA).translate(_SMALL)
    k = unicodedata.normalize("NFD", k)
    k = "".join(c for c in k if c not in "\u3099\u309a\u309b\u309cー")
    k = unicodedata.normalize("NFC", k)
    # long vowels written out: オウ / オオ / オー → オ, ユウ / ユー → ユ
    return _LONG_O.sub(r"\1", _LONG_U.sub(r"\1", k))


_LONG_O = re.compile(r"([オコソトノホモヨロ])[ウオ]")
_LONG_U = re.compile(r"([ウクスツヌフムユル])ウ")


def normalize_name(s: str | None) -> str:
    """Kanji name: NFKC, spaces removed (variation selectors kept)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", s or ""))


_KNUM = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KUNIT = {"十": 10, "百": 100, "千": 1000}
_KRUN = re.compile(r"[〇零一二三四五六七八九十百千]+")


def kanji_number(run: str) -> int:
    if all(c in _KNUM for c in run):                 # positional: 一〇五 → 105
        return int("".join(str(_KNUM[c]) for c in run))
    total, cur = 0, 0
    for c in run:
        if c in _KNUM:
            cur = _KNUM[c]
        else:
            total += (cur or 1) * _KUNIT[c]
            cur = 0
    return total + cur


_HYPHENS = re.compile(r"(?<=\d)[\-‐‑‒–—―−－ーｰ](?=\d)")


def normalize_address(s: str | None) -> str:
    """NFKC, spaces removed, kanji numerals → digits, 丁目/番地/番/号/の between numbers → '-'."""
    if not s:
        return ""
    a = _SPACES.sub("", unicodedata.normalize("NFKC", s))
    a = _KRUN.sub(lambda m: str(kanji_number(m.group(0))), a)
    a = _HYPHENS.sub("-", a)
    a = re.sub(r"(\d+)(?:丁目|番地|番|号|の|ノ)", r"\1-", a)
    a = re.sub(r"-+", "-", a)
    a = re.sub(r"(\d)-(?=$|[^\d])", r"\1", a)
    return a


# ---------------------------------------------------------------- records and scoring
@dataclass
class AtenaRecord:
    atena_no: str
    source: str            # 住民 | 住登外
    status: str            # 住民 | 除票 | 住登外
    shimei: str | None
    shimei_kana: str | None
    birth_date: dt.date | None
    birth_literal: str | None
    seibetsu: str | None
    jusho: str | None
    kana_n: str = ""
    kana_t: str = ""
    name_n: str = ""
    addr_n: str = ""

    def __post_init__(self):
        self.kana_n = normalize_kana(self.shimei_kana)
        self.kana_t = tolerant_kana(self.shimei_kana)
        self.name_n = normalize_name(self.shimei)
        self.addr_n = normalize_address(self.jusho)


@dataclass
class Candidate:
    a: str
    b: str
    score: float
    reasons: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"atena_a": self.a, "atena_b": self.b, "score": round(self.score, 4), "reasons": self.reasons}


WEIGHTS = {"kana": 0.40, "birth": 0.30, "address": 0.20, "name": 0.10}
DEFAULT_THRESHOLD = 0.70


def _kana_score(x: AtenaRecord, y: AtenaRecord) -> tuple[float, str]:
    if not x.kana_n or not y.kana_n:
        return 0.0, "カナなし"
    if x.kana_n == y.kana_n:
        return 1.0, "カナ一致"
    if x.kana_t == y.kana_t:
        return 0.85, "カナ一致（小書き・濁点の違い）"
    r = difflib.SequenceMatcher(None, x.kana_t, y.kana_t).ratio()
    return (r * 0.7, f"カナ類似 {r:.2f}") if r >= 0.8 else (0.0, "カナ不一致")


def _birth_score(x: AtenaRecord, y: AtenaRecord) -> tuple[float, str]:
    if x.birth_date and y.birth_date:
        if x.birth_date == y.birth_date:
            return 1.0, "生年月日一致"
        a, b = x.birth_date, y.birth_date
        if a.year == b.year and a.month == b.day and a.day == b.month:
            return 0.5, "生年月日（月日の入れ違い）"
        if (a.year, a.month) == (b.year, b.month):
            return 0.3, "生年月が一致"
        return 0.0, "生年月日不一致"
    if x.birth_literal and x.birth_literal == y.birth_literal:
        return 0.8, "生年月日（不詳）の原文一致"
    return 0.0, "生年月日なし"


def _address_score(x: AtenaRecord, y: AtenaRecord) -> tuple[float, str]:
    if not x.addr_n or not y.addr_n:
        return 0.0, "住所なし"
    if x.addr_n == y.addr_n:
        return 1.0, "住所一致"
    if x.addr_n.startswith(y.addr_n) or y.addr_n.startswith(x.addr_n):
        return 0.7, "住所前方一致"
    r = difflib.SequenceMatcher(None, x.addr_n, y.addr_n).ratio()
    return (r * 0.6, f"住所類似 {r:.2f}") if r >= 0.85 else (0.0, "住所不一致")


def score_pair(x: AtenaRecord, y: AtenaRecord) -> Candidate:
    k, kr = _kana_score(x, y)
    b, br = _birth_score(x, y)
    a, ar = _address_score(x, y)
    n = 1.0 if x.name_n and x.name_n == y.name_n else 0.0
    s = WEIGHTS["kana"] * k + WEIGHTS["birth"] * b + WEIGHTS["address"] * a + WEIGHTS["name"] * n
    reasons = {"kana": kr, "birth": br, "address": ar, "name": "氏名一致" if n else "氏名不一致"}
    if x.seibetsu and y.seibetsu and x.seibetsu != y.seibetsu:
        s *= 0.5
        reasons["seibetsu"] = "性別不一致"
    lo, hi = sorted((x.atena_no, y.atena_no))
    return Candidate(lo, hi, s, reasons)



# ---------------------------------------------------------------- candidates
def candidate_pairs(recs: list[AtenaRecord], threshold: float = DEFAULT_THRESHOLD,
                    links: dict[str, str] | None = None,
                    distinct: set[tuple[str, str]] | None = None) -> list[Candidate]:
    """Candidate duplicate pairs among ``recs``, best first: pairs blocked by birth date or tolerant
    kana key and scored at least ``threshold``. With ``links`` / ``distinct`` (the decisions so far),
    pairs already in one identity or decided to be different persons are left out."""
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for i, r in enumerate(recs):
        if r.birth_date:
            blocks[("b", r.birth_date)].append(i)
        if r.kana_t:
            blocks[("k", r.kana_t)].append(i)
    lk = links or {}
    dist = distinct or set()
    seen: set[tuple[int, int]] = set()
    out: list[Candidate] = []
    for members in blocks.values():
        for i, j in itertools.combinations(members, 2):
            key = (i, j) if i < j else (j, i)
            if key in seen:
                continue
            seen.add(key)
            x, y = recs[i], recs[j]
            if x.atena_no == y.atena_no:
                continue
            c = score_pair(x, y)
            if c.score < threshold:
                continue
            if lk.get(c.a, c.a) == lk.get(c.b, c.b) or (c.a, c.b) in dist:
                continue
            c.reasons["sources"] = f"{x.source}/{y.source}" if x.atena_no == c.a else f"{y.source}/{x.source}"
            out.append(c)
    out.sort(key=lambda c: (-c.score, c.a, c.b))
    return out


def precision_recall(found: list[Candidate], planted: set[tuple[str, str]]) -> dict:
    got = {tuple(sorted((c.a, c.b))) for c in found}
    truth = {tuple(sorted(p)) for p in planted}
    tp = len(got & truth)
    return {"true_positives": tp, "found": len(got), "planted": len(truth),
            "precision": tp / len(got) if got else 1.0, "recall": tp / len(truth) if truth else 1.0}
