"""Proposing MJ candidates for unidentified register rows, from whatever the row cites.

The evidence is read from the row's ``glyph_note`` (and ``ucs``/``mj`` if partly filled):

=====================  =====================================  =====
evidence               written as                             score
=====================  =====================================  =====
MJ文字図形名            ``MJ028902``                            1.0
住基ネット統一文字コード  ``J+xxxx``                              1.0
戸籍統一文字番号         ``戸籍:123456``                          1.0
入管コード              ``入管:xxxx``                            1.0
same character         ``「髙」`` / ``U+9AD9``                   0.6 (same code point), 0.3 (folds to it)
look-alike character   ``似:高``                               0.6 (a variant folding to it), 0.3 (itself)
reading                ``読み:たか``                             0.2
stroke count           ``11画`` / ``画数:11``                   0.2 (exact), 0.1 (±1)
=====================  =====================================  =====

Scores add up; candidates are ranked by score, then by MJ文字図形名.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .codes import parse_ucs
from .mj_index import MJIndex
from .register import UNIDENTIFIED, GaijiRow

W_CODE, W_STRONG, W_WEAK, W_READING, W_STROKES, W_STROKES_NEAR = 1.0, 0.6, 0.3, 0.2, 0.2, 0.1


@dataclass
class Candidate:
    mj: str
    score: float
    reasons: list[str] = field(default_factory=list)
    text: str | None = None

    def as_dict(self) -> dict:
        return {"mj": self.mj, "score": round(self.score, 3), "reasons": self.reasons, "text": self.text}


@dataclass
class Evidence:
    mj: list[str] = field(default_factory=list)
    juki: list[str] = field(default_factory=list)
    koseki: list[str] = field(default_factory=list)
    nyukan: list[str] = field(default_factory=list)
    chars: list[str] = field(default_factory=list)
    alike: list[str] = field(default_factory=list)
    readings: list[str] = field(default_factory=list)
    strokes: list[int] = field(default_factory=list)

    def empty(self) -> bool:
        return not any((self.mj, self.juki, self.koseki, self.nyukan, self.chars, self.alike, self.readings, self.strokes))


def parse_evidence(note: str) -> Evidence:
    ev = Evidence()
    s = note or ""
    ev.mj = re.findall(r"MJ\d{6}", s, flags=re.I)
    ev.juki = [m.upper() for m in re.findall(r"J\+[0-9A-Fa-f]{4}", s)]
    ev.koseki = re.findall(r"戸籍(?:統一文字番号)?\s*[:：=]?\s*(\d{4,6})", s)
    ev.nyukan = re.findall(r"入管(?:正字|外字)?(?:コード)?\s*[:：=]\s*([0-9A-Za-z+\-]+)", s)
    ev.alike = re.findall(r"(?:似|類似|字形)\s*[:：=]\s*(\S)", s)
    ev.chars = re.findall(r"「(\S)」", s)
    ev.chars += [parse_ucs(u) for u in re.findall(r"U\+[0-9A-Fa-f]{4,6}", s)]
    ev.readings = re.findall(r"読み\s*[:：=]\s*([ぁ-んァ-ヶー]+)", s)
    ev.strokes = [int(n) for n in re.findall(r"(\d{1,2})\s*画(?!数)", s)]
    ev.strokes += [int(n) for n in re.findall(r"画数\s*[:：=]\s*(\d{1,2})", s)]
    return ev


def propose(row: GaijiRow, index: MJIndex, limit: int = 10) -> list[Candidate]:
    """Ranked MJ candidates for one register row (empty when the row cites nothing usable)."""
    ev = parse_evidence(row.glyph_note)
    if row.mj:
        ev.mj.append(row.mj)
    if row.ucs:
        ev.chars.append(row.ucs_text)
    cands: dict[str, Candidate] = {}

    def add(names, score, reason):
        for n in names:
            c = cands.setdefault(n, Candidate(n, 0.0))
            if reason not in c.reasons:
                c.score += score
                c.reasons.append(reason)

    for m in ev.mj:
        add(index.find("mj", m), W_CODE, f"MJ文字図形名 {m.upper()}")
    for j in ev.juki:
        add(index.find("juki", j), W_CODE, f"住基ネット統一文字コード {j}")
    for k in ev.koseki:
        add(index.find("koseki", k), W_CODE, f"戸籍統一文字番号 {k}")
    for n in ev.nyukan:
        add(index.find("nyukan", n), W_CODE, f"入管コード {n}")
    for ch, same_w, variant_w in [(c, W_STRONG, W_WEAK) for c in ev.chars] + [(c, W_WEAK, W_STRONG) for c in ev.alike]:
        same = set(index.find("ucs", ch)) | set(index.find("taio", ch)) | set(index.find("char", ch))
        add(sorted(same), same_w, f"{ch} と同じ符号位置")
        add(sorted(set(index.find("shrink", ch)) - same), variant_w, f"{ch} に縮退する異体字")
    primary = bool(cands)
    reading_sets = [set(index.find("yomi", y)) for y in ev.readings]
    stroke_sets = [(s, set(index.find("strokes", str(s))), set(index.find("strokes", str(s - 1))) |
                    set(index.find("strokes", str(s + 1)))) for s in ev.strokes]
    if not primary:
        # only a reading and/or a stroke count: candidates are the characters that satisfy all of them
        pool: set[str] | None = None
        for rs in reading_sets:
            pool = rs if pool is None else pool & rs
        for _, exact, _near in stroke_sets:
            pool = exact if pool is None else pool & exact
        for n in sorted(pool or ()):
            cands[n] = Candidate(n, 0.0)
    for y, rs in zip(ev.readings, reading_sets):
        for n in rs & cands.keys():
            cands[n].score += W_READING
            cands[n].reasons.append(f"読み {y}")
    for s, exact, near in stroke_sets:
        for n in exact & cands.keys():
            cands[n].score += W_STROKES
            cands[n].reasons.append(f"総画数 {s}")
        for n in near & cands.keys():
            cands[n].score += W_STROKES_NEAR
            cands[n].reasons.append(f"総画数 {s}±1")
    ranked = sorted(cands.values(), key=lambda c: (-c.score, c.mj))[:limit]
    for c in ranked:
        c.text = index.text_of(c.mj)
    return ranked


def identify_register(register, index: MJIndex, *, by: str, limit: int = 10, mark: bool = True) -> dict[tuple[str, str], list[Candidate]]:
    """Propose candidates for every 未同定 row; with ``mark``, rows with candidates become 候補あり
    (a logged decision)."""
    out: dict[tuple[str, str], list[Candidate]] = {}
    for row in register.rows:
        if row.status != UNIDENTIFIED:
            continue
        cands = propose(row, index, limit)
        out[row.key] = cands
        if cands and mark:
            best = ", ".join(f"{c.mj}({c.score:.1f})" for c in cands[:3])
            register.decide(row.source_system, row.source_code, by=by, status="候補あり",
                            reason=f"kikan gaiji identify: {best}")
    return out
