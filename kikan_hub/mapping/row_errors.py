"""Per-row rule failures collected by the vectorised stages (map, resolve, check)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa


class RowErrors:
    """Every rule a row fails is kept (in order), and every failing field with its message: ``fields``
    is comma-separated (``birth_date,idou_date``), ``messages`` joins them with `` / `` — a clerk sees
    all that is wrong with a record at once, not one thing per rehearsal."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rules = np.full(n, None, dtype=object)
        self.fields = np.full(n, None, dtype=object)
        self.messages = np.full(n, None, dtype=object)
        self.items: dict[int, set[str]] = {}  # row → items that already failed (to skip follow-on failures)

    def add(self, mask: np.ndarray, rule: str, field: str, message: str | np.ndarray, item: str | None = None) -> None:
        idx = np.flatnonzero(mask)
        for i in idx:
            if item:
                self.items.setdefault(int(i), set()).add(item)
            msg = message[i] if isinstance(message, np.ndarray) else message
            if self.rules[i] is None:
                self.rules[i] = rule
                self.fields[i] = field
                self.messages[i] = f"{field}: {msg}"
                continue
            if rule not in self.rules[i].split(","):
                self.rules[i] = f"{self.rules[i]},{rule}"
            if field not in (self.fields[i] or "").split(","):
                self.fields[i] = f"{self.fields[i]},{field}" if self.fields[i] else field
            self.messages[i] = f"{self.messages[i]} / {field}: {msg}"

    def seed(self, rules: pa.Array, fields: pa.Array, messages: pa.Array) -> None:
        """Take failures found upstream (the reader's columns) as the first ones."""
        if rules.null_count == len(rules):  # the usual batch: nothing for Python to look at
            return
        at = pa.array(np.flatnonzero(rules.is_valid().to_numpy(zero_copy_only=False)), pa.int64())
        for i, rule, fld, msg in zip(at.to_pylist(), rules.take(at).to_pylist(), fields.take(at).to_pylist(),
                                     messages.take(at).to_pylist()):
            self.rules[i], self.fields[i], self.messages[i] = rule, fld, msg

    def item_failed(self, item: str) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        for i, items in self.items.items():
            if item in items:
                mask[i] = True
        return mask

    @property
    def failed(self) -> np.ndarray:
        return np.not_equal(self.rules, None)  # element-wise on the object array
