"""The small expression language of the city profiles' `values:` (what an item's value is, derived from
the person, the parent row or the row itself). Each expression is a scalar (a constant) or a mapping with
one operator key:

| operator | value |
|---|---|
| `const: v` | v |
| `person: f` | the subject person's field (atena_no, setai_no, shimei, shimei_kana, birth_date, seibetsu, zokugara, jusho, katagaki, yubin_no, jumin_date, kojin_bango, removed_date) |
| `head: f` | the same field of the person's 世帯主 |
| `member: f` | the household member of a members_of row (児童) |
| `parent: item` | the parent row's item (rows_of / members_of) |
| `row: item` | an item already set on this row (values are evaluated in the order written) |
| `choice: [v, …]` | one of the values, equal weights (repeat a value to weight it) |
| `seq: true` | 1, 2, … within the subject (履歴番号・連番) |
| `serial: n` | a number unique in the table, from n |
| `birthday: n` | the person's n-th birthday (`{birthday: n, of: member}` for the member) |
| `date: [a, b]` | a uniform day between two date expressions (ISO strings, `as_of`, or expressions) |
| `max: [..]`, `min: [..]` | of dates or numbers (nulls ignored) |
| `plus_days: [d, n]`, `plus_years: [d, n]` | date arithmetic |
| `ym: d` | YYYYMM of a date; `year: d` its year; `nendo: d` its 年度 (April–March) |
| `range: [a, b]` | integer uniform (both ends), `step: s` optional |
| `part: [x, lo, hi]` | x × uniform(lo, hi), rounded to an integer (収納 ≤ 調定) |
| `sum: [..]` | sum of numbers |
| `age_on: d` | the person's full years on d |
| `other: {status: s, field: f}` | the field of another person drawn at random (status `removed`: a former resident) |
| `band: [x, [[upper, v], …], default]` | the v of the first band with x ≤ upper (学年 6 まで小学校 …) |
| `maybe: p, then: e` | e with probability p, else null |
| `blank: true` | null (empty) |
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from kikan_hub.sample.city.population import Person, Population


class ExprError(ValueError):
    pass


@dataclass
class Scope:
    rnd: random.Random
    as_of: dt.date
    pop: Population
    person: Person
    member: Person | None = None
    parent: dict | None = None
    row: dict = field(default_factory=dict)
    seq: int = 1
    serials: dict[str, int] = field(default_factory=dict)   # per item: the next serial


def _as_date(v: Any, scope: Scope) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        if v == "as_of":
            return scope.as_of
        return dt.date.fromisoformat(v)
    return _as_date(evaluate(v, scope), scope)


def _person_field(p: Person | None, name: str) -> Any:
    if p is None:
        return None
    if not hasattr(p, name):
        raise ExprError(f"person field {name!r} does not exist")
    return getattr(p, name)


def _other(scope: Scope, status: str) -> Person:
    """A person other than the subject, drawn with the scope's generator (deterministic)."""
    cands = scope.pop.by_status(status)
    if not cands:
        raise ExprError(f"no person with status {status!r} to draw from")
    while True:
        p = cands[scope.rnd.randrange(len(cands))]
        if p is not scope.person or len(cands) == 1:
            return p


def evaluate(expr: Any, scope: Scope, item: str = "") -> Any:
    if not isinstance(expr, dict):
        return expr
    if "maybe" in expr:
        return evaluate(expr.get("then"), scope, item) if scope.rnd.random() < float(expr["maybe"]) else None
    if len(expr) != 1 and not ({"birthday", "of"} >= set(expr) or {"range", "step"} >= set(expr)
                               or {"serial", "width"} >= set(expr)):
        raise ExprError(f"{item}: one operator per expression, got {sorted(expr)}")
    op, arg = next(iter(expr.items()))
    r = scope.rnd
    if op == "const":
        return arg
    if op == "blank":
        return None
    if op == "person":
        return _person_field(scope.person, arg)
    if op == "head":
        return _person_field(scope.pop.head_of(scope.person), arg)
    if op == "member":
        return _person_field(scope.member, arg)
    if op == "other":
        return _person_field(_other(scope, arg.get("status", "resident")), arg["field"])
    if op == "parent":
        return (scope.parent or {}).get(arg)
    if op == "row":
        return scope.row.get(arg)
    if op == "choice":
        return evaluate(arg[r.randrange(len(arg))], scope, item)
    if op == "seq":
        return scope.seq
    if op == "serial":
        n = scope.serials.get(item, int(arg))
        scope.serials[item] = n + 1
        return n
    if op == "birthday":
        who = scope.member if expr.get("of") == "member" else scope.person
        return who.birthday(int(arg)) if who else None
    if op == "date":
        a, b = _as_date(arg[0], scope), _as_date(arg[1], scope)
        if a is None or b is None:
            return None
        if b < a:
            return a
        return a + dt.timedelta(days=r.randint(0, (b - a).days))
    if op in ("max", "min"):
        vals = [evaluate(x, scope, item) if isinstance(x, dict) else
                (_as_date(x, scope) if isinstance(x, str) else x) for x in arg]
        vals = [v for v in vals if v is not None]
        return (max if op == "max" else min)(vals) if vals else None
    if op in ("plus_days", "plus_years"):
        d = _as_date(arg[0], scope)
        if d is None:
            return None
        n = int(arg[1])
        if op == "plus_days":
            return d + dt.timedelta(days=n)
        try:
            return d.replace(year=d.year + n)
        except ValueError:
            return dt.date(d.year + n, 3, 1)
    if op in ("ym", "year", "nendo"):
        d = _as_date(arg, scope)
        if d is None:
            return None
        if op == "ym":
            return f"{d.year:04d}{d.month:02d}"
        return d.year if op == "year" else (d.year if d.month >= 4 else d.year - 1)
    if op == "range":
        step = int(expr.get("step", 1))
        return r.randrange(int(arg[0]), int(arg[1]) + 1, step)
    if op == "part":
        x = evaluate(arg[0], scope, item)
        return None if x is None else int(round(int(x) * r.uniform(float(arg[1]), float(arg[2]))))
    if op == "sum":
        vals = [evaluate(x, scope, item) for x in arg]
        return sum(int(v) for v in vals if v is not None)
    if op == "band":
        x = evaluate(arg[0], scope, item)
        if x is None:
            return None
        for upper, value in arg[1]:
            if x <= upper:
                return evaluate(value, scope, item)
        return evaluate(arg[2], scope, item) if len(arg) > 2 else None
    if op == "age_on":
        d = _as_date(arg, scope)
        return scope.person.age_on(d) if d else None
    raise ExprError(f"{item}: unknown operator {op!r}")
