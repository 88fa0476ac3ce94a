"""Roster rule files (one YAML per roster in rules/, lookup tables in tables/) → typed models.

A city edits the data, not the engine: the ages, windows, code values, legal basis and the
address → 投票区 / 通学区域 tables. ``KIKAN_ROSTER_RULES`` (a folder with rules/ and tables/)
overrides the shipped files of the same name, so a city keeps its own copies outside the package.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
AUDIT_NAME = "名簿:{name}"        # the name a roster run carries in the EUC audit and listing
KINDS = {"resident", "shubetsu", "age_at_least", "recorded_months", "school_age", "age_reached_in_window",
         "qualification_on_date", "living_alone", "any_of"}
_TOP = {"name", "title", "division", "legal_basis", "unknown_birth", "criteria", "after_removal", "lookups",
        "columns", "grade_names"}


class RosterError(ValueError):
    """A roster request or rule file a user can correct (exit 2 / HTTP 422)."""


@dataclass(frozen=True)
class Lookup:
    table: str
    columns: tuple[str, ...]
    rows: dict[str, tuple[str, ...]]          # 住所コード prefix → values


@dataclass(frozen=True)
class RosterRule:
    name: str
    title: str
    division: str
    legal_basis: tuple[str, ...]
    unknown_birth: dict
    criteria: tuple[dict, ...]
    after_removal: dict | None
    lookups: tuple[Lookup, ...]
    columns: tuple[str, ...]
    grade_names: dict[int, str] = field(default_factory=dict)
    path: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "division": self.division,
                "legal_basis": list(self.legal_basis), "unknown_birth": self.unknown_birth,
                "criteria": list(self.criteria), "after_removal": self.after_removal,
                "lookups": [{"table": lk.table, "columns": list(lk.columns)} for lk in self.lookups],
                "columns": list(self.columns)}


def _dirs(sub: str) -> list[Path]:
    extra = os.environ.get("KIKAN_ROSTER_RULES")
    return ([Path(extra) / sub] if extra else []) + [HERE / sub]


def _find(sub: str, name: str) -> Path:
    for d in _dirs(sub):
        if (d / name).is_file():
            return d / name
    raise RosterError(f"{sub}/{name} がありません ({', '.join(str(d) for d in _dirs(sub))})")


def roster_names() -> list[str]:
    return sorted({p.stem for d in _dirs("rules") if d.is_dir() for p in d.glob("*.yaml")})


def _lookup(spec: dict, where: str) -> Lookup:
    path = _find("tables", spec["table"])
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    if header[0] != "住所コード":
        raise RosterError(f"{path}: 1列目は 住所コード であること ({header[0]!r})")
    cols = tuple(spec["columns"])
    missing = [c for c in cols if c not in header]
    if missing:
        raise RosterError(f"{where}: {path.name} に列 {missing} がありません")
    idx = [header.index(c) for c in cols]
    out: dict[str, tuple[str, ...]] = {}
    for n, r in enumerate(body, 2):
        key = r[0].strip()
        if not key.isdigit():
            raise RosterError(f"{path}: {n} 行目 住所コード {key!r} が数字ではありません")
        if key in out:
            raise RosterError(f"{path}: {n} 行目 住所コード {key} が重複しています")
        out[key] = tuple(r[i].strip() for i in idx)
    return Lookup(spec["table"], cols, out)


def _check_kinds(criteria: list, where: str) -> None:
    """Every kind known, also inside ``any_of`` options (a typo is a clear error, not a KeyError later)."""
    for i, c in enumerate(criteria, 1):
        if not isinstance(c, dict) or c.get("kind") not in KINDS:
            kind = c.get("kind") if isinstance(c, dict) else c
            raise RosterError(f"{where} {i}: kind {kind!r} は {sorted(KINDS)} のいずれか")
        for j, opt in enumerate(c.get("of") or [], 1):
            if not isinstance(opt, dict) or ("source" in opt) == ("criteria" in opt):
                raise RosterError(f"{where} {i}: of {j}: source か criteria のどちらか一方を書くこと")
            _check_kinds(opt.get("criteria") or [], f"{where} {i}: of {j}: criteria")


@lru_cache(maxsize=32)
def _load(path: str) -> RosterRule:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RosterError(f"{p}: YAML として読めません: {exc}") from None
    unknown = set(data) - _TOP
    if unknown:
        raise RosterError(f"{p}: 不明なキー {sorted(unknown)} (使えるキー: {sorted(_TOP)})")
    _check_kinds(data.get("criteria") or [], f"{p}: criteria")
    return RosterRule(
        name=data["name"], title=data["title"], division=data.get("division", ""),
        legal_basis=tuple(data.get("legal_basis") or ()), unknown_birth=dict(data.get("unknown_birth") or {}),
        criteria=tuple(data["criteria"]), after_removal=data.get("after_removal"),
        lookups=tuple(_lookup(lk, str(p)) for lk in data.get("lookups") or ()),
        columns=tuple(data["columns"]), grade_names={int(k): v for k, v in (data.get("grade_names") or {}).items()},
        path=str(p))


def load_rule(name: str) -> RosterRule:
    if name not in roster_names():
        raise RosterError(f"名簿 {name!r} はありません (使える名簿: {', '.join(roster_names())})")
    return _load(str(_find("rules", f"{name}.yaml")))


def catalogue() -> list[dict[str, Any]]:
    """The rosters as named extracts (for the EUC listing): name, title, division, columns, legal basis."""
    return [{"name": AUDIT_NAME.format(name=n), "roster": n, **{k: v for k, v in load_rule(n).as_dict().items()
                                                               if k in ("title", "division", "columns", "legal_basis")}}
            for n in roster_names()]
