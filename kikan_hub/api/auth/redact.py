"""Keep 個人番号 (12 digits) out of every log line: a logging.Filter on the root handlers.

The interfaces never log request bodies and 個人番号 look-ups are POST-only (never in a URL), so
this is defence in depth: any 12-digit run not part of a longer digit run is masked.
"""
from __future__ import annotations

import logging
import re

MYNUMBER_RE = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def mask(text: str) -> str:
    return MYNUMBER_RE.sub("************", text)


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
