"""Hypothesis settings of the fuzz suite: derandomized (fixed seed) and bounded in CI.

KIKAN_FUZZ_EXAMPLES=N multiplies nothing: it sets max_examples of every fuzz test to N (the
rehearsal-level test, ~1 s per example, gets N // 20). KIKAN_FUZZ_RANDOM=1 drops the fixed
seed for exploratory local runs.

    KIKAN_FUZZ_EXAMPLES=5000 .venv/bin/pytest -q tests/fuzz -p no:cacheprovider
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG = int(os.environ.get("KIKAN_FUZZ_EXAMPLES") or 0)
DERANDOMIZE = not os.environ.get("KIKAN_FUZZ_RANDOM")


def fuzz(ci_examples: int, per_example_cost: int = 1) -> settings:
    n = max(1, LONG // per_example_cost) if LONG else ci_examples
    return settings(max_examples=n, deadline=None, derandomize=DERANDOMIZE, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])
