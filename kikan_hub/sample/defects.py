"""Planting defects in assembled records, as the profile says (``defects.files.<FILE>``).

Per data record without gaiji, with probability ``rate``: one class (uniform over the file's
classes) and one variant (0 … variants−1) are drawn from the chunk's numpy generator; the first
way of the class whose conditions hold writes the defect. No way holds → the record stays clean.
Records holding a 未同定 gaiji get ``gaiji_unresolved`` (not by rate).
"""
from __future__ import annotations

import numpy as np

from kikan_hub.sample.fields import RecordMatrix
from kikan_hub.sample.profile import DefectWay, Defects, FileDefects


def _span(rec: RecordMatrix, name: str, at: int, length: int) -> slice:
    if name not in rec.pos:
        raise ValueError(f"defect field {name} is not a field of the record type (layout fields: "
                         f"{', '.join(rec.pos)})")
    s, ln = rec.pos[name]
    start = s + (at if at >= 0 else ln + at)
    if not (s <= start and start + length <= s + ln):
        raise ValueError(f"defect position {at}+{length} is outside field {name} ({ln} bytes)")
    return slice(start, start + length)


def _applies(way: DefectWay, rec: RecordMatrix, i: int, variant: int, conditions: dict[str, np.ndarray]) -> bool:
    if way.variants is not None and variant not in way.variants:
        return False
    if way.if_ is not None and not conditions[way.if_][i]:
        return False
    if way.unless is not None and conditions[way.unless][i]:
        return False
    return all((rec.m[i, _span(rec, b.field, b.at, b.length)] == 0x20).all() for b in way.blank)


def _apply(way: DefectWay, rec: RecordMatrix, lengths: np.ndarray, i: int, variant: int) -> None:
    if way.put is not None:
        value = way.put.value
        rec.m[i, _span(rec, way.put.field, way.put.at, len(value))] = np.frombuffer(value, dtype=np.uint8)
    elif way.bump_digit is not None:
        j = _span(rec, way.bump_digit.field, way.bump_digit.at, 1).start
        rec.m[i, j] = 48 + (rec.m[i, j] - 48 + 1 + variant) % 10
    else:
        lengths[i] += way.length


def plant(spec: FileDefects, rec: RecordMatrix, lengths: np.ndarray, eligible: np.ndarray, rate: float,
          rng: np.random.Generator, conditions: dict[str, np.ndarray], defect: np.ndarray) -> None:
    """Write the drawn defects into rec (and lengths); record each planted class in ``defect``."""
    n = len(rec.m)
    pick = np.flatnonzero(eligible & (rng.random(n) < rate))
    classes = rng.integers(0, len(spec.classes), size=len(pick))
    variants = rng.integers(0, spec.variants, size=len(pick))
    for i, k, v in zip(pick, classes, variants):
        cls = spec.classes[k]
        way = next((w for w in cls.ways if _applies(w, rec, i, v, conditions)), None)
        if way is None:
            continue
        _apply(way, rec, lengths, i, v)
        defect[i] = cls.class_


def outcome(defects: Defects, fid: str, defect: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """(expected 'loaded'/'quarantined', expected_rule) per record of the file."""
    loading = defects.loading(fid)
    rules = defects.rules(fid)
    expected = np.where((defect == None) | np.isin(defect, list(loading)), "loaded", "quarantined")  # noqa: E711
    return expected, [rules[d] if d else None for d in defect]
