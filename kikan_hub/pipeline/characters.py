"""The resolve stage: vendor characters (private-use code points after decoding) → Unicode
through the gaiji register. Values without private-use characters never leave Arrow."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from kikan_hub.layouts.isl import Table
from kikan_hub.mapping.row_errors import RowErrors


@dataclass
class CharacterStats:
    unresolved: Counter = field(default_factory=Counter)   # (source_code, field) → occurrences
    resolved: Counter = field(default_factory=Counter)     # (source_code, field) → occurrences
    flagged_rows: int = 0

    def as_dict(self) -> dict:
        return {
            "unresolved": [{"code": c, "field": f, "count": n} for (c, f), n in sorted(self.unresolved.items())],
            "resolved": [{"code": c, "field": f, "count": n} for (c, f), n in sorted(self.resolved.items())],
            "flagged_rows": self.flagged_rows,
        }


class CharacterStage:
    def __init__(self, register_path: Path | None, policy: str) -> None:
        from kikan_hub.gaiji.resolve import Resolver

        self.resolver = Resolver.from_register(register_path) if register_path else Resolver.empty()
        self.policy = policy
        self.stats = CharacterStats()

    def apply(self, columns: dict[str, pa.Array], table: Table, errors: RowErrors) -> np.ndarray:
        """Resolve in place; returns a mask of rows to flag (policy 'flag') with unresolved characters."""
        n = errors.n
        flag = np.zeros(n, dtype=bool)
        for item in table.items:
            values = columns.get(item.id)
            if values is None or not pa.types.is_string(values.type):
                continue
            resolved, unresolved, hits = self.resolver.resolve_array(values, with_hits=True)
            columns[item.id] = resolved
            for code, count in hits.items():
                self.stats.resolved[(code, item.name)] += count
            if not unresolved:
                continue
            mask = np.zeros(n, dtype=bool)
            codes_by_row: dict[int, list[str]] = {}
            for row, _char, code in unresolved:
                mask[row] = True
                codes_by_row.setdefault(row, []).append(code)
                self.stats.unresolved[(code, item.name)] += 1
            if self.policy == "quarantine":
                msgs = np.full(n, None, dtype=object)
                for row, codes in codes_by_row.items():
                    msgs[row] = "外字台帳で同定されていない外字 " + " ".join(sorted(set(codes)))
                errors.add(mask, "GAIJI-UNRESOLVED", item.name, msgs)
            else:
                flag |= mask
        self.stats.flagged_rows += int(flag.sum())
        return flag
