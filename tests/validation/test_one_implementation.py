"""Issue 12: one M11, one era table in the package (grep-style), and every face of M11 agrees.

The scans look at the source text of kikan_hub/ so that a new hand-written copy (a second
``% 11`` with the 2–7 weights, a second list of 改元日) fails here, whatever it is called.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

import kikan_hub
from kikan_hub.mapping.era_dates import load_eras
from kikan_hub.validation.check_digits import (
    m11_check_digit, m11_check_digits, m11_complete, m11_fails, m11_valid,
)

PACKAGE = Path(kikan_hub.__file__).parent
# A modulus-11 reduction (`% 11`, `mod(11)`, `np.mod(x, 11)`), the 2–7 weight cycle, or the
# "remainder ≤ 1 → 0" rule: any of them outside check_digits.py is a second M11.
M11_MARKERS = re.compile(r"%\s*11\b|\bmod\(\s*[^)]*,?\s*11\s*\)|2\s*\+\s*\w+\s*%\s*6|11\s*-\s*r\b")
# The 改元日 of 大正・昭和・平成・令和 written as a date in any of the usual spellings.
ERA_START_MARKERS = re.compile(
    r"1912\D{1,3}0?7\D{1,3}30|1926\D{1,3}12\D{1,3}25|1989\D{1,3}0?1\D{1,3}0?8\b|2019\D{1,3}0?5\D{1,3}0?1\b")


def _sources(*suffixes: str):
    for p in sorted(PACKAGE.rglob("*")):
        if p.suffix in suffixes and "__pycache__" not in p.parts:
            yield p, p.read_text(encoding="utf-8")


def test_one_m11_in_the_package():
    hits = sorted({str(p.relative_to(PACKAGE)) for p, text in _sources(".py") if M11_MARKERS.search(text)})
    assert hits == ["validation/check_digits.py"], hits


def test_one_era_table_in_the_package():
    hits = []
    for p, text in _sources(".py", ".yaml", ".yml", ".csv", ".json"):
        for line in text.splitlines():
            code = line.split("#", 1)[0] if p.suffix in (".py", ".yaml", ".yml") else line
            # a test fixture date (a planted 平成 start in synthetic data) is one date, not a table:
            # a table is two or more 改元日 on one line, or one per line in an era list
            if len(ERA_START_MARKERS.findall(code)) >= 1 and ("start" in code or len(ERA_START_MARKERS.findall(code)) > 1):
                hits.append(str(p.relative_to(PACKAGE)))
    assert sorted(set(hits)) == ["mapping/eras.yaml"], hits


def test_scalar_vectorised_arrow_polars_agree():
    rng = np.random.default_rng(7)
    for length in (10, 11, 12):
        data = rng.integers(0, 10 ** (length - 1), size=400, dtype=np.int64)
        good = m11_complete(data, length)
        # scalar == vectorised
        assert [int(v[-1]) for v in good[:50]] == [m11_check_digit(v[:-1]) for v in good[:50]]
        assert list(m11_check_digits(data, length - 1)) == [int(v[-1]) for v in good]
        bad = np.array([v[:-1] + str((int(v[-1]) + 1) % 10) for v in good])
        values = list(good) + list(bad) + [None, "", "12345", "x" * length]
        arrow_ok = m11_valid(pa.array(values, pa.string()), length)
        polars_fail = pl.DataFrame({"n": values}, schema={"n": pl.Utf8}).select(m11_fails("n", length))["n"].to_numpy()
        n = len(good)
        assert arrow_ok[:n].all() and not arrow_ok[n:2 * n].any()
        assert not polars_fail[:n].any() and polars_fail[n:2 * n].all()
        # absent values are not this check's business; malformed ones fail in both faces
        assert list(arrow_ok[2 * n:]) == [True, True, False, False]
        assert list(polars_fail[2 * n:]) == [False, False, True, True]


def test_known_check_digits():
    # 個人番号: the worked example of the 番号法施行令第8条 formula; r ≤ 1 gives 0
    assert m11_check_digit("12345678901") == 8
    assert m11_check_digit(123456789, 9) == m11_check_digit("123456789")
    assert m11_check_digit("000000000") == 0


def test_era_table_is_the_yaml():
    eras, allowed = load_eras()
    assert [e.name for e in eras] == ["明治", "大正", "昭和", "平成", "令和"]
    assert ("明治", 45, 7, 30) in allowed
