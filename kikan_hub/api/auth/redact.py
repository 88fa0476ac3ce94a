"""Keep personal numbers out of every log line: a logging.Filter on the root handlers.

What is scrubbed comes from the definitions: the kinds layouts/personal.yaml lists under ``logs``
(個人番号) and the items the ISL definitions mark with them. Each such digit item gives its shape
(a run of exactly its length of digits, not part of a longer run), so a 業務 that marks a new
item needs no change here. The interfaces never log request bodies and 個人番号 look-ups are
POST-only (never in a URL), so this is defence in depth.
"""
from __future__ import annotations

import functools
import logging
import re

from kikan_hub.layouts.isl import all_tables
from kikan_hub.validation.masking import load_policy


@functools.lru_cache(maxsize=1)
def scrub_pattern() -> re.Pattern[str]:
    kinds = set(load_policy().logs)
    lengths = sorted({it.length for t in all_tables().values() for it in t.items
                      if it.personal in kinds and it.type == "digits"}, reverse=True)
    if not lengths:
        return re.compile(r"(?!x)x")          # nothing marked: matches nothing
    return re.compile(r"(?<![0-9])(?:" + "|".join(f"[0-9]{{{n}}}" for n in lengths) + r")(?![0-9])")


def mask(text: str) -> str:
    return scrub_pattern().sub(lambda m: "*" * len(m.group(0)), text)


class MyNumberFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is not ours to fix here
            return True
        masked = mask(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


def install(logger_names: tuple[str, ...] = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "kikan_hub")) -> None:
    f = MyNumberFilter()
    for name in logger_names:
        lg = logging.getLogger(name)
        if not any(isinstance(x, MyNumberFilter) for x in lg.filters):
            lg.addFilter(f)
        for h in lg.handlers:
            if not any(isinstance(x, MyNumberFilter) for x in h.filters):
                h.addFilter(f)
