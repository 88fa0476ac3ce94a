"""Masking of personal data — the one engine every surface uses (reports, EUC, rosters, API, logs).

Which items are personal is said once, by the ISL item attribute ``personal:`` (kojin_bango,
identifier, name, address, address_detail, birth, contact). How each surface shows a kind is
data: layouts/personal.yaml (``report``, ``euc_roles``, ``api``, ``logs``). No item id is
listed in code, so a new 業務's definition is masked as soon as it marks its items.

Report defaults (on by default; the Parquet under report/failures/ keeps rows in full for the
migration team): 個人番号 and other identifiers never shown (（非表示）); names to the first
character of each part (山田　太郎 → 山＊　太＊); addresses cut to the 町字
(架空市桜町1丁目2番3号 → 架空市桜町1丁目…); 方書 and contacts hidden.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from kikan_hub.layouts.isl import Table, all_tables

POLICY_FILE = Path(__file__).parents[1] / "layouts" / "personal.yaml"
METHODS = ("none", "hidden", "full", "partial", "machiaza")
REPORT = "report"                      # the surface of the validation reports and quarantine sheets
_SPLIT = re.compile(r"([\s\u3000]+)")
_MACHIAZA = re.compile(r"^([^0-9０-９]*(?:[0-9０-９]+丁目)?)")
_DERIVED = re.compile(r"_(literal|unknown|wareki|unknown_day|non_calendar)$")


class MaskingError(ValueError):
    pass


@dataclass(frozen=True)
class PersonalPolicy:
    kinds: dict[str, str]                      # kind → Japanese description
    surfaces: dict[str, dict[str, str]]        # "report" and each EUC role → {kind: method}
    roles: tuple[str, ...]                     # the EUC roles (a subset of surfaces)
    api: dict[str, dict]                       # kind → {scope: resource} (removed without that scope)
    logs: tuple[str, ...]                      # kinds scrubbed from log lines
    mask_char: str
    full_mask: str
    hidden: str

    def plan(self, surface: str, table: Table | None, columns: list[str]) -> dict[str, str]:
        """column → method for the columns the surface masks (a role or ``report``)."""
        if surface not in self.surfaces:
            raise MaskingError(f"役割 {surface!r} はマスキング規則にありません ({', '.join(self.roles)})")
        rules = self.surfaces[surface]
        out = {}
        for c in columns:
            kind = kind_of(c, table)
            method = rules.get(kind, "none") if kind else "none"
            if method != "none":
                out[c] = method
        return out

    def role_plan(self, role: str, table: Table | None, columns: list[str]) -> dict[str, str]:
        """The EUC / roster plan of a role (``report`` is not a role a caller may ask for)."""
        if role not in self.roles:
            raise MaskingError(f"役割 {role!r} はマスキング規則にありません ({', '.join(self.roles)})")
        return self.plan(role, table, columns)

    def apply(self, method: str, value):
        if value is None or value == "" or method == "none":
            return value
        if method == "hidden":
            return self.hidden
        if method == "full":
            return self.full_mask
        text = str(value)
        if method == "partial":
            return "".join(p if (not p or _SPLIT.fullmatch(p)) else _units(p)[0] + self.mask_char * max(1, len(_units(p)) - 1)
                           for p in _SPLIT.split(text))
        if method == "machiaza":
            m = _MACHIAZA.match(text)
            head = m.group(1) if m else ""
            return head + "…" if head != text else text
        raise MaskingError(f"不明なマスク方法 {method!r} ({', '.join(METHODS)})")


def _units(s: str) -> list[str]:
    """Characters with their variation selectors (IVS / SVS belong to the character before)."""
    out: list[str] = []
    for ch in s:
        if out and (0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _check(path: Path, where: str, methods: dict, kinds: dict) -> dict[str, str]:
    for kind, method in (methods or {}).items():
        if kind not in kinds:
            raise MaskingError(f"{path.name}: {where}: 不明な種類 {kind!r} ({', '.join(kinds)})")
        if method not in METHODS:
            raise MaskingError(f"{path.name}: {where}.{kind}: 不明なマスク方法 {method!r} ({', '.join(METHODS)})")
    return dict(methods or {})


@lru_cache(maxsize=8)
def load_policy(path: str | None = None) -> PersonalPolicy:
    p = Path(path) if path else POLICY_FILE
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    kinds = dict(data["kinds"])
    roles = {str(r): _check(p, f"euc_roles.{r}", m, kinds) for r, m in (data.get("euc_roles") or {}).items()}
    surfaces = {REPORT: _check(p, "report", data.get("report"), kinds), **roles}
    for kind in [*(data.get("api") or {}), *(data.get("logs") or [])]:
        if kind not in kinds:
            raise MaskingError(f"{p.name}: api/logs: 不明な種類 {kind!r} ({', '.join(kinds)})")
    return PersonalPolicy(kinds=kinds, surfaces=surfaces, roles=tuple(roles), api=dict(data.get("api") or {}),
                          logs=tuple(data.get("logs") or ()), mask_char=data.get("mask_char", "＊"),
                          full_mask=data.get("full_mask", "＊＊＊＊"), hidden=data.get("hidden", "（非表示）"))


HIDDEN = load_policy().hidden


def kind_of(column: str, table: Table | None) -> str | None:
    """The ``personal:`` kind of the item a column carries (wareki columns: their item's)."""
    if table is None:
        return None
    for item_id in (column, _DERIVED.sub("", column)):
        try:
            return table.item(item_id).personal
        except KeyError:
            continue
    return None


def personal_columns(kinds: str | tuple[str, ...], table_id: str | None = None) -> frozenset[str]:
    """Physical column names whose item has one of `kinds` (of one table, or of every table)."""
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    tables = all_tables()
    chosen = [tables[table_id]] if table_id else tables.values()
    return frozenset(c.name for t in chosen for c in t.columns if c.item is not None and c.item.personal in kinds)


def mask_name(value: str) -> str:
    return load_policy().apply("partial", value)


def mask_address(value: str) -> str:
    return load_policy().apply("machiaza", value)


def mask_value(column: str, value, table: Table | None = None, enabled: bool = True):
    """A value as a report shows it (the ``report`` surface of the policy)."""
    if value is None or not enabled:
        return value
    policy = load_policy()
    kind = kind_of(column, table)
    method = policy.surfaces[REPORT].get(kind, "none") if kind else "none"
    if method in ("hidden", "full"):
        return policy.apply(method, value)
    return policy.apply(method, value) if isinstance(value, str) else value
