"""Duplicate keys inside an extract (rule DUP-KEY): found while the rows stream, before they reach the
store, so the load never fails on a key the gate could have seen.

Vendors' re-extracts overlap: the same 宛名番号＋履歴番号 twice. The first row (in file order) is kept;
each later row with the same primary key is quarantined, its message naming the byte offset (and
record no.) of the row it collides with and whether the two are identical (同一内容) or conflicting
(内容が異なる: the record bytes differ). Keys are kept as two independent hashes per row (about 30
bytes a row with the offset), not as values; a shared first hash alone never makes a duplicate.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from kikan_hub.layouts.isl import Table


def _empty(dtype) -> np.ndarray:
    return np.zeros(0, dtype)


@dataclass
class _Seen:
    """Kept rows' key hashes, sorted by h1, with their content hash and where they were read."""
    h1: np.ndarray = field(default_factory=lambda: _empty(np.uint64))
    h2: np.ndarray = field(default_factory=lambda: _empty(np.uint32))
    content: np.ndarray = field(default_factory=lambda: _empty(np.uint32))
    offset: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    record_no: np.ndarray = field(default_factory=lambda: _empty(np.uint32))
    file: np.ndarray = field(default_factory=lambda: _empty(np.uint16))

    def add(self, h1, h2, content, offset, record_no, file) -> None:
        """Merge a batch in: sort the (small) batch, insert it at its places (one copy per array, no full sort)."""
        order = np.argsort(h1, kind="stable")
        at = np.searchsorted(self.h1, h1[order], side="right")
        for name, new in (("h1", h1), ("h2", h2), ("content", content), ("offset", offset),
                          ("record_no", record_no), ("file", file)):
            cur = getattr(self, name)
            setattr(self, name, np.insert(cur, at, new[order].astype(cur.dtype)))


@dataclass
class DuplicateFinding:
    mask: np.ndarray            # rows (of the batch checked) that repeat an earlier key
    messages: np.ndarray        # object array, None where not a duplicate
    field: str                  # the key items, for the quarantine's field column


class KeyIndex:
    """The primary keys already staged, per canonical table, across every file of the run."""

    def __init__(self) -> None:
        self.seen: dict[str, _Seen] = {}
        self.files: list[str] = []
        self.counts: dict[str, Counter] = {}

    def _file_no(self, file_id: str) -> int:
        if file_id not in self.files:
            self.files.append(file_id)
        return self.files.index(file_id)

    def check(self, table: Table, data: dict[str, pa.Array], offsets: pa.Array, record_nos: pa.Array,
              file_id: str, raw: pa.Array) -> DuplicateFinding:
        """``data``: the rows about to be staged (typed canonical columns), ``raw`` their records' bytes;
        returns the repeats among them. Identical means the same record bytes as the row kept."""
        n = len(offsets)
        keys = list(table.primary_key)
        label = "+".join(f"{table.item(k).name}({k})" for k in keys)
        dup = np.zeros(n, bool)
        messages = np.full(n, None, object)
        if not keys or n == 0:
            return DuplicateFinding(dup, messages, label)
        key_df = pl.from_arrow(pa.table({k: data[k] for k in keys}))
        h1 = key_df.hash_rows(seed=0).to_numpy()
        h2 = key_df.hash_rows(seed=1).to_numpy().astype(np.uint32)
        content = pl.Series(raw).hash(seed=2).to_numpy().astype(np.uint32)  # one column: cheap, and exact
        off = np.asarray(offsets.to_numpy(zero_copy_only=False), np.int64)
        rno = np.asarray(record_nos.to_numpy(zero_copy_only=False), np.int64)
        seen = self.seen.setdefault(table.id, _Seen())
        # within the batch: the first row of each key is kept (a first hash shared by two keys is not a repeat)
        _, first, inverse = np.unique(h1, return_index=True, return_inverse=True)
        firsts = first[inverse.reshape(-1)]
        dup = (firsts != np.arange(n)) & (h2[firsts] == h2)
        earlier = np.full(n, -1, np.int64)   # a repeat of a row of an earlier batch: its index in `seen`
        if len(seen.h1):
            # Sorted needles walk the (millions of) kept hashes in order: one search, cache-friendly;
            # only a first-hash hit (few rows) looks for the end of its run.
            order = np.argsort(h1, kind="stable")
            lo = np.empty(n, np.int64)
            lo[order] = np.searchsorted(seen.h1, h1[order], side="left")
            hit = seen.h1[np.minimum(lo, len(seen.h1) - 1)] == h1
            for i in np.flatnonzero(hit):
                hi = int(np.searchsorted(seen.h1, h1[i], side="right"))
                match = lo[i] + np.flatnonzero(seen.h2[lo[i]:hi] == h2[i])
                if len(match):
                    dup[i], earlier[i] = True, match[0]
        if dup.any():
            counts = self.counts.setdefault(table.id, Counter())
            for i in np.flatnonzero(dup):
                if earlier[i] >= 0:
                    j = earlier[i]
                    same = bool(seen.content[j] == content[i])
                    place = (self.files[int(seen.file[j])], int(seen.offset[j]), int(seen.record_no[j]))
                else:
                    j = int(firsts[i])
                    same = bool(content[j] == content[i])
                    place = (file_id, int(off[j]), int(rno[j]))
                kv = ", ".join("" if v is None else str(v) for v in key_df.row(int(i)))
                kind = "同一内容の重複 (identical duplicate)" if same else "内容が異なる重複 (conflicting duplicate)"
                messages[i] = (f"キー ({kv}) が {place[0]} の byte offset {place[1]} (レコード {place[2]}) の行と"
                               f"重複しています: {kind}。先の行をロードし、この行は隔離します")
                counts["identical" if same else "conflicting"] += 1
        new = np.flatnonzero(~dup)
        if len(new):
            seen.add(h1[new], h2[new], content[new], off[new], rno[new],
                     np.full(len(new), self._file_no(file_id), np.uint16))
        return DuplicateFinding(dup, messages, label)

    def summary(self) -> dict[str, dict[str, int]]:
        """Per table: repeats quarantined, identical and conflicting."""
        return {t: {"identical": c["identical"], "conflicting": c["conflicting"]} for t, c in sorted(self.counts.items())}
