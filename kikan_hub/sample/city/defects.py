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
from kikan_hub.sample.city.engine import DEFECT_KEY, MEMBER_KEY, PERSON_KEY, RAW_KEY, TableRows, codes_of
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


def plant(tr: TableRows, tp: TableProfile, vendor: Vendor, pop: Population, as_of: dt.date, rate: float,
          rnd: random.Random, ghost_counter: list[int], force_one: bool) -> dict[str, int]:
    """Mark (and alter) rows in place; returns {rule: count}. `force_one`: plant at least one defect
    (the first row where a class applies) when the rate drew none."""
    table, counts = tr.table, {}
    if not tp.defects or not tr.rows:
        return counts
    out: list[dict] = []
    planted = 0
    draws = [rnd.random() for _ in tr.rows]
    picks = [rnd.randrange(len(tp.defects)) for _ in tr.rows]
    if force_one and not any(x < rate for x in draws):
        draws[len(draws) // 2] = -1.0
    for row, x, k in zip(tr.rows, draws, picks):
        out.append(row)
        if x >= rate:
            continue
        d = tp.defects[k]
        if not applicable(d, row, table):
            continue
        rid = rule_id(d, table)
        mark = (d.class_, rid, d.expected)
        if d.kind == "duplicate":
            scope = Scope(rnd=rnd, as_of=as_of, pop=pop, person=row[PERSON_KEY], member=row.get(MEMBER_KEY),
                          row=dict(row))
            dup = dict(row)
            for iid, expr in d.set.items():
                dup[iid] = evaluate(expr, scope, iid)
            dup[DEFECT_KEY] = mark
            out.append(dup)
        else:
            if d.kind == "set":
                scope = Scope(rnd=rnd, as_of=as_of, pop=pop, person=row[PERSON_KEY], member=row.get(MEMBER_KEY),
                              row=dict(row))
                for iid, expr in d.set.items():
                    row[iid] = evaluate(expr, scope, iid)
            elif d.kind == "unknown_code":
                row.setdefault(RAW_KEY, {})[d.item] = _unknown_code(vendor, table, d.item)
            elif d.kind == "impossible_date":
                row.setdefault(RAW_KEY, {})[d.item] = IMPOSSIBLE[vendor.date]
            elif d.kind == "check_digit":
                v = row[d.item]
                row[d.item] = v[:-1] + str((int(v[-1]) + 1 + rnd.randrange(9)) % 10)
                if int(row[d.item][-1]) == m11_check_digit(v[:-1]):     # never lands on the right digit
                    row[d.item] = v[:-1] + str((int(row[d.item][-1]) + 1) % 10)
            elif d.kind == "ghost_atena":
                n = GHOST_BASE + ghost_counter[0]
                ghost_counter[0] += 1
                row[d.item] = f"{n:09d}{m11_check_digit(n, 9)}"
            row[DEFECT_KEY] = mark
        counts[rid] = counts.get(rid, 0) + 1
        planted += 1
    tr.rows[:] = out
    return counts
