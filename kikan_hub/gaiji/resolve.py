"""Resolution: vendor character (a private-use code point after decoding) → MJ → Unicode.

* a register row whose ``ucs`` is filled resolves without the MJ index;
* a row with ``mj`` only needs the MJ index: 実装したUCS, otherwise the Moji_Joho IVS sequence;
* a row with ``gj`` (行政事務標準文字) resolves to its configured private-use code point.

Values without a character in U+E000–U+F8FF never leave Arrow; the others take a slow path
through ``str.translate``. Unresolved characters are reported and left in the value as they
were — never replaced.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import NamedTuple
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .codes import PUA_MAX, PUA_MIN, parse_sequence
from .errors import GaijiError
from .register import GaijiRegister, GaijiRow


class Unresolved(NamedTuple):
    row_index: int
    pua_char: str
    source_code: str


class Resolver:
    def __init__(self, table: Mapping[str, str], codes: Mapping[str, str], pending: Mapping[str, str] | None = None) -> None:
        """``table``: PUA char → replacement text; ``codes``: PUA char → source code (for reports);
        ``pending``: PUA char → why a register row does not resolve yet."""
        self.table = dict(table)
        self.codes = dict(codes)
        self.pending = dict(pending or {})
        self._translate = {ord(k): v for k, v in self.table.items()}
        self._keys = np.array(sorted(self._translate), dtype=np.int64)
        # Replacing key by key equals str.translate when every key is a private-use character
        # (the only ones looked for) and no replacement holds a key.
        # (Keys are single characters — ord() above — so look each replacement's characters up: linear in
        # the register, where testing every key against every replacement was quadratic.)
        keys = set(self.table)
        self._by_substring = (all(PUA_MIN <= k <= PUA_MAX for k in self._translate)
                              and not any(ch in keys for v in self.table.values() for ch in v))

    @classmethod
    def empty(cls) -> "Resolver":
        return cls({}, {})

    @classmethod
    def from_register(cls, path: str | Path | GaijiRegister, mj_index=None, *, source_system: str | None = None,
                      gj_code_points: Mapping[str, str] | None = None) -> "Resolver":
        """Build from a register (path or object). ``mj_index`` (an MJIndex or a path to one) is
        needed only for rows that name ``mj`` without ``ucs``; ``gj_code_points`` maps GJ ids to
        their configured private-use code point ('U+F0001')."""
        reg = path if isinstance(path, GaijiRegister) else GaijiRegister.load(path)
        rows = [r for r in reg.rows if r.pua and (source_system is None or r.source_system == source_system)]
        text_of = None
        if any(r.mj and not r.ucs for r in rows):
            if mj_index is None:
                missing = sorted(r.source_code for r in rows if r.mj and not r.ucs)
                raise GaijiError(f"register rows {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} name an MJ "
                                 "character without ucs: the MJ index is needed (kikan gaiji import-mj)")
            if isinstance(mj_index, (str, Path)):
                from .mj_index import MJIndex

                mj_index = MJIndex.open(mj_index)
            text_of = mj_index.text_map()
        gj = {k.upper(): parse_sequence(v) for k, v in (gj_code_points or {}).items()}
        table: dict[str, str] = {}
        codes: dict[str, str] = {}
        pending: dict[str, str] = {}
        owner: dict[str, GaijiRow] = {}
        for r in rows:
            ch = r.pua_char
            if ch in owner and owner[ch].key != r.key:
                o = owner[ch]
                raise GaijiError(f"{r.pua} is claimed by {o.source_system} {o.source_code} and {r.source_system} "
                                 f"{r.source_code}: choose a source_system")
            owner[ch] = r
            codes[ch] = r.source_code
            text = cls._text_for(r, text_of, gj)
            if isinstance(text, str):
                table[ch] = text
            else:
                pending[ch] = text[0]
        return cls(table, codes, pending)

    @staticmethod
    def _text_for(r: GaijiRow, text_of, gj) -> str | tuple[str]:
        if r.status != "同定済":
            return (f"状態 {r.status}",)
        if r.ucs:
            return r.ucs_text
        if r.mj:
            if r.mj not in text_of:
                return (f"{r.mj} はMJ索引にありません",)
            t = text_of[r.mj]
            return t if t else (f"{r.mj} に実装したUCSもIVSもありません",)
        if r.gj:
            if r.gj not in gj:
                return (f"{r.gj} の私用領域コードが設定されていません",)
            return gj[r.gj]
        return ("同定先なし",)

    # ------------------------------------------------------------------ engine
    def source_code(self, ch: str) -> str:
        return self.codes.get(ch) or f"U+{ord(ch):04X}"

    def resolve_text(self, value: str) -> tuple[str, list[str]]:
        """One string → (resolved, unresolved PUA characters in order)."""
        out = value.translate(self._translate)
        return out, [c for c in out if PUA_MIN <= ord(c) <= PUA_MAX]

    def resolve_array(self, arr: pa.Array | pa.ChunkedArray, *, with_hits: bool = False):
        """Resolve a string array. Returns ``(resolved, unresolved)`` where unresolved is a list of
        (row_index, pua_char, source_code) — one entry per occurrence; with ``with_hits=True``
        also a Counter of resolved source codes: ``(resolved, unresolved, hits)``."""
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            raise GaijiError(f"resolve_array needs a string array, got {arr.type}")
        unresolved: list[Unresolved] = []
        hits: Counter = Counter()
        rows, cps = _pua_occurrences(arr)
        if len(rows) == 0:
            return (arr, unresolved, hits) if with_hits else (arr, unresolved)
        known = np.isin(cps, self._keys)
        uniq, first, counts = np.unique(cps[known], return_index=True, return_counts=True)
        for k in np.argsort(first, kind="stable"):  # in order of first occurrence, as a scan would count
            hits[self.codes.get(chr(uniq[k]), f"U+{int(uniq[k]):04X}")] += int(counts[k])
        for row, cp in zip(rows[~known].tolist(), cps[~known].tolist()):
            unresolved.append(Unresolved(row, chr(cp), self.source_code(chr(cp))))
        resolved = self._translated(arr, rows, known, [chr(c) for c in uniq])
        return (resolved, unresolved, hits) if with_hits else (resolved, unresolved)

    def _translated(self, arr: pa.Array, rows: np.ndarray, known: np.ndarray, chars: list[str]) -> pa.Array:
        """``str.translate`` of the rows holding private-use characters (``rows``, per occurrence);
        ``chars``: the table's characters among them."""
        if not self._by_substring:  # only one simultaneous pass over each row is right
            fix = np.unique(rows)
            values = arr.take(pa.array(fix)).to_pylist()
            return _replace_rows(arr, fix, pa.array([v.translate(self._translate) for v in values], type=arr.type))
        if not chars:
            return arr
        fix = np.unique(rows[known])
        values = arr.take(pa.array(fix))
        for ch in chars:
            values = pc.replace_substring(values, ch, self.table[ch])
        return _replace_rows(arr, fix, values)


def _replace_rows(arr: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(arr, pa.array(mask), values)


def _pua_occurrences(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(row, code point) of every U+E000–U+F8FF character, in order, read off the UTF-8 bytes:
    lead byte EE, or EF followed by 80–A3. Null rows have none."""
    n = len(arr)
    _, obuf, dbuf = arr.buffers()
    if n == 0 or dbuf is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    odt = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(obuf, dtype=odt)[arr.offset:arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(dbuf, dtype=np.uint8)[:offsets[-1]]
    lo = int(offsets[0])
    pos = np.flatnonzero(data[lo:] >= 0xEE) + lo  # candidates; 4-byte leads F0–F4 drop out below
    if len(pos) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lead = data[pos]
    b1 = data[np.minimum(pos + 1, len(data) - 1)]
    pos = pos[(lead == 0xEE) | ((lead == 0xEF) & (b1 < 0xA4))]
    rows = np.searchsorted(offsets, pos, side="right") - 1
    if arr.null_count:
        keep = arr.is_valid().to_numpy(zero_copy_only=False)[rows]
        pos, rows = pos[keep], rows[keep]
    cps = ((data[pos].astype(np.int64) & 0x0F) << 12) | ((data[pos + 1].astype(np.int64) & 0x3F) << 6) \
        | (data[pos + 2].astype(np.int64) & 0x3F)
    return rows, cps
