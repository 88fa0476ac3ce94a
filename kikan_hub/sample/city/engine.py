"""The definition-driven row engine: for one ISL table and its profile, choose the subjects (people,
households, rows or household members of an earlier table), then build each row item by item — the
profile's `values:` first (city/expr.py), then a valid value from the item's definition (type, 桁数, code
table, check digit, required flag) for every other item. Nothing here knows a 業務."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import numpy as np

from kikan_hub.layouts.isl import Item, Table, load_code_table
from kikan_hub.sample.city.expr import Scope, evaluate
from kikan_hub.sample.city.population import Person, Population
from kikan_hub.sample.city.profile import Subjects, TableProfile
from kikan_hub.validation.check_digits import m11_check_digit, m11_check_digits

PERSON_KEY, MEMBER_KEY, DEFECT_KEY, RAW_KEY = "_person", "_member", "_defect", "_raw"
DATE_SPAN_DAYS = 5 * 365                       # default dates: the last five years before the as-of date


@dataclass
class TableRows:
    table: Table
    rows: list[dict]                           # item id → value, plus the _keys above
    dropped_duplicates: int = 0
    dropped_incomplete: int = 0


def codes_of(item: Item) -> list[str]:
    return _codes(item.code, item.length)


@lru_cache(maxsize=None)
def _codes(code_id: str, length: int) -> list[str]:
    return sorted(c for c in load_code_table(code_id).codes if len(c) <= length)


def _age_ok(p: Person, rng: tuple[int | None, int | None] | None, on: dt.date) -> bool:
    if rng is None:
        return True
    age = p.age_on(on)
    if age is None:
        return False
    lo, hi = rng
    return (lo is None or age >= lo) and (hi is None or age <= hi)


def _status_ok(p: Person, status: str) -> bool:
    if status == "jutogai":
        return p.jutogai
    if p.jutogai:
        return False
    return status == "any" or (status == "resident") == p.resident


def select_subjects(s: Subjects, pop: Population, done: dict[str, TableRows], as_of: dt.date,
                    rnd: random.Random) -> list[tuple[Person, Person | None, dict | None]]:
    """(person, member, parent row) per subject, in a deterministic order."""
    on = s.at or as_of
    out: list[tuple[Person, Person | None, dict | None]] = []
    if s.unit == "person":
        for p in pop.people:
            if not _status_ok(p, s.status) or not _age_ok(p, s.age, on):
                continue
            if s.sex is not None and p.seibetsu != s.sex:
                continue
            if s.japanese is not None and p.japanese != s.japanese:
                continue
            if s.head is not None and (pop.head_of(p) is p) != s.head:
                continue
            if rnd.random() < s.share:
                out.append((p, None, None))
    elif s.unit == "household":
        mon = s.member_at or as_of
        for setai in sorted(pop.households):
            members = pop.households[setai]
            head = members[0]
            if s.member_age is not None and not any(_age_ok(m, s.member_age, mon) for m in members):
                continue
            if not _age_ok(head, s.age, on):
                continue
            if rnd.random() < s.share:
                out.append((head, None, None))
    else:
        parents = done[s.of].rows
        for row in parents:
            if row.get(DEFECT_KEY):
                continue                        # a planted row (quarantined, or a rule's exception) has no children
            p = row[PERSON_KEY]
            if s.unit == "rows_of":
                if rnd.random() < s.share:
                    out.append((p, row.get(MEMBER_KEY), row))
                continue
            mon = s.member_at or as_of
            for m in pop.households.get(p.setai_no, []):   # the member is the row's person (the head too)
                if not _age_ok(m, s.member_age or s.age, mon):
                    continue
                if rnd.random() < s.share:
                    out.append((m, m, row))
    if s.limit is not None:
        out = out[: s.limit]
    return out


@lru_cache(maxsize=64)
def _m11_block(n_data: int, block: int) -> tuple[int, ...]:
    """Check digits of the numbers block*4096 … block*4096+4095 (numbered serials: one vectorised call per block)."""
    return tuple(int(d) for d in m11_check_digits(np.arange(block * 4096, block * 4096 + 4096), n_data))


def m11_number(n: int, length: int) -> str:
    return f"{n:0{length - 1}d}{_m11_block(length - 1, n // 4096)[n % 4096]}"


def _digits(rnd: random.Random, n: int) -> str:
    return "".join(str(rnd.randrange(10)) for _ in range(n))


def _other_person(pop: Population, rnd: random.Random) -> Person:
    while True:
        p = pop.people[rnd.randrange(len(pop.people))]
        if not p.jutogai:
            return p


def default_value(item: Item, table: Table, scope: Scope, serial: dict[str, int]) -> object:
    """A valid value from the definition alone (the profile did not say)."""
    rnd, p, iid = scope.rnd, scope.person, item.id
    in_pk = iid in table.primary_key
    if item.type == "digits":
        if iid.endswith("atena_no"):
            if iid == "atena_no":
                return p.atena_no
            return scope.pop.head_of(p).atena_no
        if iid.endswith("setai_no"):
            return p.setai_no or None
        if item.check == "mynumber":
            return p.kojin_bango
        if iid == "yubin_no":
            return p.yubin_no
        if iid.endswith("_ym") and item.length == 6:
            d = scope.as_of - dt.timedelta(days=rnd.randint(1, DATE_SPAN_DAYS))
            return f"{d.year:04d}{d.month:02d}"
        if in_pk or item.length >= 8:       # numbers such as 給付番号: unique in the table
            n = serial.get(iid, 1)
            serial[iid] = n + 1
            if item.check == "m11":
                return m11_number(n, item.length)
            return f"{n:0{item.length}d}"[-item.length:]
        v = _digits(rnd, item.length)
        if item.check == "m11":
            v = v[:-1] + str(m11_check_digit(v[:-1]))
        return v
    if item.type == "integer":
        if in_pk and ("rireki" in iid or "renban" in iid or iid.endswith("_no") or "kaisu" in iid):
            return scope.seq
        if "nendo" in iid:
            return scope.as_of.year - 1
        return rnd.randint(0, min(10 ** item.length - 1, 9))
    if item.type == "decimal":
        top = 10 ** (item.length - item.scale) - 1
        whole = rnd.randint(1, max(1, min(top, 300_000)))
        if item.scale:
            return Decimal(whole) + Decimal(rnd.randrange(10 ** item.scale)).scaleb(-item.scale)
        return whole
    if item.type == "flag":
        return rnd.random() < 0.2
    if item.type == "code":
        if iid == "seibetsu" and p.seibetsu:
            return p.seibetsu
        if iid == "zokugara" and p.zokugara and item.code == "zokugara":
            return p.zokugara
        codes = codes_of(item)
        return codes[rnd.randrange(len(codes))]
    if item.type in ("date", "wareki_date"):
        if item.personal == "birth" or iid.endswith("birth_date"):
            return p.birth_date
        return scope.as_of - dt.timedelta(days=rnd.randint(1, DATE_SPAN_DAYS))
    if item.type == "kana":
        if item.personal == "name" or "shimei" in iid or "meigi" in iid:
            return (p.shimei_kana or "")[: item.length] or None
        return "カキクケコサシスセソ"[: item.length]
    # text
    if item.personal == "name":
        who = p if iid in ("shimei", "meigi_kanji") else _other_person(scope.pop, rnd)
        return fit(who.shimei, item.length)
    if item.personal == "address":
        return fit(p.jusho or _other_person(scope.pop, rnd).jusho, item.length)
    if item.personal == "address_detail":
        return fit(p.katagaki, item.length) if p.katagaki else None
    if item.personal == "identifier" or in_pk:   # 証・手帳の番号など: 表の中で一意の番号
        n = serial.get(iid, 1)
        serial[iid] = n + 1
        return f"{n:0{min(item.length, 10)}d}"[-item.length:]
    if item.personal == "contact":
        return f"0{rnd.randint(10, 99)}-{rnd.randint(100, 999)}-{rnd.randint(1000, 9999)}"[: item.length]
    if item.length <= 6:
        return str(rnd.randint(1, 10 ** min(item.length, 3) - 1))
    return fit(item.name.split(" ")[0] + "の記載", item.length)


def fit(text: str | None, length: int) -> str | None:
    """`text` cut to `length` characters as ISL-LENGTH-CHARS counts them (a variation selector belongs
    to the character before it)."""
    if text is None:
        return None
    out, n = [], 0
    for ch in text:
        if 0xE0100 <= ord(ch) <= 0xE01EF or 0xFE00 <= ord(ch) <= 0xFE0F:
            if out:
                out.append(ch)
            continue
        if n == length:
            break
        out.append(ch)
        n += 1
    return "".join(out)


def _conform(v, it: Item):
    """A value from an expression as the item's Python type, fitting its 桁数."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        if it.type == "digits":
            return f"{v:0{it.length}d}"
        if it.type in ("text", "code"):
            return str(v)
        return v
    if isinstance(v, str):
        if it.type in ("text", "kana"):
            return fit(v, it.length) or None
        if it.type in ("date", "wareki_date"):
            return dt.date.fromisoformat(v)
    return v


def build_table(table: Table, tp: TableProfile, pop: Population, done: dict[str, TableRows], as_of: dt.date,
                rnd: random.Random, fill_decimals: bool = False) -> TableRows:
    items = {it.id: it for it in table.items}
    for name in list(tp.values) + tp.empty:
        if name not in items:
            raise ValueError(f"{table.id}: {name!r} is not an item of the table")
    valued = [(iid, expr, items[iid]) for iid, expr in tp.values.items()]
    defaults = [it for it in table.items if it.id not in tp.values]
    required = [it.id for it in table.items if it.required]
    empty, share = set(tp.empty), tp.optional_share
    serial: dict[str, int] = {}
    exprs_serial: dict[str, int] = {}
    rows: list[dict] = []
    incomplete = 0
    for person, member, parent in select_subjects(tp.subjects, pop, done, as_of, rnd):
        for seq in range(1, tp.rows[rnd.randrange(len(tp.rows))] + 1):
            scope = Scope(rnd=rnd, as_of=as_of, pop=pop, person=person, member=member, parent=parent, seq=seq,
                          serials=exprs_serial)
            row = scope.row
            # empty items are left out of the row (row.get gives None): memory grows with the values only
            for iid, expr, it in valued:
                v = _conform(evaluate(expr, scope, iid), it)
                if v is not None:
                    row[iid] = v
            for it in defaults:
                if it.required or (fill_decimals and it.type == "decimal") or (
                        it.id not in empty and rnd.random() < share):
                    v = default_value(it, table, scope, serial)
                    if v is not None:
                        row[it.id] = v
            if any(row.get(iid) is None for iid in required):
                incomplete += 1                    # e.g. a 生年月日 不詳 where the item is required
                continue
            row[PERSON_KEY], row[MEMBER_KEY] = person, member
            rows.append(row)
    # the primary key must be unique (the store's and DUP-KEY's rule): later repeats are dropped
    seen, kept = set(), []
    for row in rows:
        key = tuple(row.get(k) for k in table.primary_key)
        if key in seen:
            continue
        seen.add(key)
        kept.append(row)
    return TableRows(table, kept, len(rows) - len(kept), incomplete)
