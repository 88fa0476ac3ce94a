"""Planting the profile's defects: each planted row breaks exactly one rule, named in the ground truth.

Kinds: `unknown_code` (a value the vendor's code list and the standard's lack → MAP-CODE), `impossible_date`
(a day the calendar lacks, written in the vendor's date form → MAP-DATE), `check_digit` (a 世帯番号-like
number whose M11 check digit is wrong → ISL-M11.<table>, loaded with a warning: j130), `ghost_atena` (a
valid-looking 宛名番号 that neither 住民記録 nor 住登外 holds → XREF-ATENA-GYOMU.<table>), `set` (items set by
expressions so that a business rule fails, e.g. 資格取得日 before the 75th birthday → KOKI-AGE) and
`duplicate` (a second row of the same person with the given items, e.g. an overlapping 資格 → SHIKAKU-OVERLAP)."""
from __future__ import annotations

import datetime as dt
import random

from kikan_hub.layouts.isl import Table
from kikan_hub.sample.city.engine import (DEFECT_KEY, MEMBER_KEY, PERSON_KEY, RAW_KEY, TableRows, codes_of,
                                          m11_number)
from kikan_hub.sample.city.expr import Scope, evaluate
from kikan_hub.sample.city.population import Population
from kikan_hub.sample.city.profile import Defect, TableProfile, Vendor
from kikan_hub.validation.check_digits import m11_check_digit

GHOST_BASE = 700_000_000                   # 宛名番号 7000000000…: never issued by the sample (residents 0001…, 住登外 9…)
IMPOSSIBLE = {"era_code": "3640108", "western": "20230229", "slash": "2023/02/29"}   # 昭和64年1月8日, 2023-02-29


def _unknown_code(vendor: Vendor, table: Table, item_id: str) -> str:
    item = next(it for it in table.items if it.id == item_id)
    known = set(codes_of(item)) | set(vendor.code_maps.get(item.code or "", {}))
    for cand in ("Z" * item.length, "X" * item.length, "9" * item.length, "8" * item.length):
        if cand not in known:
            return cand
    raise ValueError(f"{table.id}.{item_id}: no unknown code value of length {item.length}")


def applicable(d: Defect, row: dict, table: Table) -> bool:
    if d.item is not None and d.kind in ("unknown_code", "impossible_date", "check_digit", "ghost_atena"):
        return row.get(d.item) is not None or d.kind in ("unknown_code", "impossible_date")
    return True


def rule_id(d: Defect, table: Table) -> str:
    return f"{d.rule}.{table.id}" if d.per_table else d.rule


def _apply(d: Defect, row: dict, table: Table, vendor: Vendor, pop: Population, as_of: dt.date,
           rnd: random.Random, ghost_counter: list[int]) -> dict | None:
    """Plant `d` on `row` (in place); returns the added row of a `duplicate`, else None."""
    mark = (d.class_, rule_id(d, table), d.expected)
    if d.kind in ("duplicate", "set"):
        scope = Scope(rnd=rnd, as_of=as_of, pop=pop, person=row[PERSON_KEY], member=row.get(MEMBER_KEY),
                      row=dict(row))
        target = dict(row) if d.kind == "duplicate" else row
        for iid, expr in d.set.items():
            target[iid] = evaluate(expr, scope, iid)
        target[DEFECT_KEY] = mark
        return target if d.kind == "duplicate" else None
    if d.kind == "unknown_code":
        row.setdefault(RAW_KEY, {})[d.item] = _unknown_code(vendor, table, d.item)
    elif d.kind == "impossible_date":
        row.setdefault(RAW_KEY, {})[d.item] = IMPOSSIBLE[vendor.date]
    elif d.kind == "check_digit":
        v = row[d.item]
        bumped = (int(v[-1]) + 1 + rnd.randrange(9)) % 10
        if bumped == m11_check_digit(v[:-1]):          # never lands on the right digit
            bumped = (bumped + 1) % 10
        row[d.item] = v[:-1] + str(bumped)
    elif d.kind == "ghost_atena":
        row[d.item] = m11_number(GHOST_BASE + ghost_counter[0], 10)
        ghost_counter[0] += 1
    row[DEFECT_KEY] = mark
    return None


def plant(tr: TableRows, tp: TableProfile, vendor: Vendor, pop: Population, as_of: dt.date, rate: float,
          rnd: random.Random, ghost_counter: list[int], force_one: bool) -> dict[str, int]:
    """Mark (and alter) rows in place; returns {rule: count}. `force_one`: when the rate drew none, plant the
    first class that applies on the middle row (then the next rows) so that the 業務 has at least one."""
    table, counts = tr.table, {}
    if not tp.defects or not tr.rows:
        return counts
    draws = [rnd.random() for _ in tr.rows]
    picks = [rnd.randrange(len(tp.defects)) for _ in tr.rows]
    chosen: dict[int, Defect] = {}
    for i, (x, k) in enumerate(zip(draws, picks)):
        if x < rate and applicable(tp.defects[k], tr.rows[i], table):
            chosen[i] = tp.defects[k]
    if force_one and not chosen:
        n = len(tr.rows)
        for i in [*range(n // 2, n), *range(n // 2)]:
            d = next((d for d in tp.defects if applicable(d, tr.rows[i], table)), None)
            if d is not None:
                chosen[i] = d
                break
    out: list[dict] = []
    for i, row in enumerate(tr.rows):
        out.append(row)
        d = chosen.get(i)
        if d is None:
            continue
        added = _apply(d, row, table, vendor, pop, as_of, rnd, ghost_counter)
        if added is not None:
            out.append(added)
        rid = rule_id(d, table)
        counts[rid] = counts.get(rid, 0) + 1
    tr.rows[:] = out
    return counts
