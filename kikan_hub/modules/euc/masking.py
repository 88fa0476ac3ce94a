"""Masking rules per role (data: masking.yaml next to this file, or a file the caller names)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from kikan_hub.layouts.isl import Table

RULES_FILE = Path(__file__).with_name("masking.yaml")
METHODS = ("none", "partial", "full")


class MaskingError(ValueError):
    pass


@dataclass(frozen=True)
class MaskingRules:
    roles: dict[str, dict[str, str]]
    categories: dict[str, dict]
    mask_char: str
    full_mask: str

    def category_of(self, table: Table, column: str) -> str | None:
        item_id = re.sub(r"_(literal|unknown)$", "", column)
        try:
            item = table.item(item_id)
        except KeyError:
            return None
        for name, spec in self.categories.items():
            if spec.get("personal") and item.personal == spec["personal"]:
                return name
            if item_id in (spec.get("items") or []):
                return name
        return None

    def plan(self, role: str, table: Table, columns: list[str]) -> dict[str, str]:
        """column → method (only the masked columns)."""
        if role not in self.roles:
            raise MaskingError(f"役割 {role!r} はマスキング規則にありません ({', '.join(self.roles)})")
        rules = self.roles[role] or {}
        out = {}
        for c in columns:
            cat = self.category_of(table, c)
            method = rules.get(cat, "none") if cat else "none"
            if method not in METHODS:
                raise MaskingError(f"役割 {role}: 不明なマスク方法 {method!r}")
            if method != "none":
                out[c] = method
        return out

    def apply(self, method: str, value):
        if value is None or value == "":
            return value
        if method == "full":
            return self.full_mask
        if method == "partial":
            parts = re.split(r"([\s\u3000]+)", str(value))
            return "".join(p if (not p or p.isspace()) else _first_unit(p) + self.mask_char * max(1, _n_units(p) - 1)
                           for p in parts)
        return value


def _units(s: str) -> list[str]:
    out: list[str] = []
    for ch in s:
        if out and (0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _first_unit(s: str) -> str:
    return _units(s)[0]


def _n_units(s: str) -> int:
    return len(_units(s))


@lru_cache(maxsize=8)
def load_rules(path: str | None = None) -> MaskingRules:
    p = Path(path) if path else RULES_FILE
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    return MaskingRules(roles={str(k): dict(v or {}) for k, v in data["roles"].items()},
                        categories=data["categories"], mask_char=data.get("mask_char", "＊"),
                        full_mask=data.get("full_mask", "＊＊＊＊"))
