"""The resolve stage: vendor characters (private-use code points after decoding) → Unicode
through the gaiji register. Values without private-use characters never leave Arrow."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from kikan_hub.gaiji.register import GaijiRegister
from kikan_hub.layouts.isl import Table
from kikan_hub.mapping.row_errors import RowErrors


@dataclass
class CharacterStats:
    unresolved: Counter = field(default_factory=Counter)   # (source_code, field) → occurrences
    resolved: Counter = field(default_factory=Counter)     # (source_code, field) → occurrences
    flagged_rows: int = 0
    occurrences: list = field(default_factory=list)         # every unresolved occurrence (exact counts)
    outside_jisx0213: dict = field(default_factory=dict)    # resolved register text → source code

    def as_dict(self) -> dict:
        return {
            "unresolved": [{"code": c, "field": f, "count": n} for (c, f), n in sorted(self.unresolved.items())],
            "resolved": [{"code": c, "field": f, "count": n} for (c, f), n in sorted(self.resolved.items())],
            "flagged_rows": self.flagged_rows,
            "outside_jisx0213": [{"code": c, "text": t} for t, c in sorted(self.outside_jisx0213.items())],
        }


class CharacterStage:
    def __init__(self, register: "Path | GaijiRegister | None", policy: str, mj_index: Path | None = None) -> None:
        """``register``: a path or the register as the preflight prepared it (pua derived);
        ``mj_index``: needed only when a row names an MJ character without ucs."""
        from kikan_hub.gaiji.resolve import Resolver

        self.resolver = Resolver.from_register(register, mj_index) if register else Resolver.empty()
        self.policy = policy
        self.stats = CharacterStats()
        self._seen_codes: set[str] = set()
        self._vendor_codes: dict[tuple[str, str], str] = {}

    def apply(self, columns: dict[str, pa.Array], table: Table, errors: RowErrors,
              record_nos: pa.Array | None = None, file_id: str = "", encoding: str | None = None) -> np.ndarray:
        """Resolve in place; returns a mask of rows to flag (policy 'flag') with unresolved characters.

        ``encoding``: the file's; an unregistered character is named by its vendor code in it (F050),
        the code the vendor's own documents use, not by the private-use code point it decodes to."""
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
                self._note_repertoire(code)
            if not unresolved:
                continue
            mask = np.zeros(n, dtype=bool)
            codes_by_row: dict[int, list[str]] = {}
            rows = sorted({u.row_index for u in unresolved})  # only these rows leave Arrow
            raw_values = dict(zip(rows, values.take(pa.array(rows, pa.int64())).to_pylist()))
            refs = dict(zip(rows, record_nos.take(pa.array(rows, pa.int64())).to_pylist())) if record_nos is not None else {}
            for row, char, code in unresolved:
                code = self.vendor_code(char, code, encoding)
                self.stats.occurrences.append({"source_code": code, "char": char, "field": item.name,
                                               "record_ref": f"{file_id}:{refs[row]}" if refs else row,
                                               "value": raw_values[row]})
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

    def vendor_code(self, char: str, code: str, encoding: str | None) -> str:
        """The register's source code when it has one, else the character's bytes in the file's encoding."""
        if not code.startswith("U+") or not encoding:
            return code
        key = (char, encoding)
        if key not in self._vendor_codes:
            from kikan_hub.adapters.codecs import CodecError, get_codec

            try:
                self._vendor_codes[key] = get_codec(encoding).encode(char).hex().upper()
            except (CodecError, UnicodeError, ValueError):
                self._vendor_codes[key] = code
        return self._vendor_codes[key]

    def _note_repertoire(self, code: str) -> None:
        """Remember registered characters a JIS X 0213 receiver could not take (for the fidelity report)."""
        if code in self._seen_codes:
            return
        self._seen_codes.add(code)
        from kikan_hub.gaiji.fold import in_target

        for ch, src in self.resolver.codes.items():
            if src == code and ch in self.resolver.table:
                text = self.resolver.table[ch]
                if not in_target(text, "jisx0213"):
                    self.stats.outside_jisx0213[text] = code

    def write_report(self, out_dir: Path, run_id: str) -> dict[str, Path]:
        from kikan_hub.gaiji.report import build_fidelity_report, write_report

        report = build_fidelity_report(self.stats.occurrences, (), run_id=run_id)
        report["JIS X 0213 外の文字"] = [{"移行元コード": c, "文字": t, "符号位置": " ".join(f"U+{ord(x):04X}" for x in t)}
                                     for t, c in sorted(self.stats.outside_jisx0213.items())]
        return write_report(report, out_dir)
