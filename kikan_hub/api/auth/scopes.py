"""The scope model: ``<業務>:<resource>:<operation>``, one grant per 業務, resource and operation.

Names come from data (scopes.yaml) and from the ISL registry: every table has a read scope
derived from its id, and every 業務 has a separate ``<業務>:kojin_bango:read`` grant that alone
lets a 個人番号 (an item marked ``personal: kojin_bango``) leave the hub. A new restricted resource
(e.g. ``juki:shien_sochi:read`` for 支援措置 records) is one more scope string checked where the
data is read; nothing here needs to change.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

SCOPE_RE = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:(read|write|\*)$")
DATA = Path(__file__).with_name("scopes.yaml")


class ScopeError(ValueError):
    pass


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def is_scope(s: str) -> bool:
    return bool(SCOPE_RE.match(s))


def allows(granted: frozenset[str] | set[str], needed: str) -> bool:
    """Exact grant, or ``<業務>:<resource>:*``. Malformed ``needed`` is a programming error."""
    if not SCOPE_RE.match(needed):
        raise ScopeError(f"not a scope: {needed!r}")
    g, r, _ = needed.split(":")
    return needed in granted or f"{g}:{r}:*" in granted


def gyomu_name(gyomu_id: str) -> str:
    return _data()["gyomu_names"].get(gyomu_id, gyomu_id)


def kojin_bango_scope(gyomu: str) -> str:
    """The 個人番号 grant of a 業務 (public name or ISL gyomu_id)."""
    return f"{gyomu_name(gyomu)}:{_data()['kojin_bango_resource']}:read"


def table_scope(table_id: str, operation: str = "read") -> str:
    from kikan_hub.layouts.isl import all_tables
    t = all_tables().get(table_id)
    if t is None:
        raise ScopeError(f"unknown table {table_id!r}")
    resource = table_id[len(t.gyomu_id) + 1:] if table_id.startswith(t.gyomu_id + "_") else table_id
    return f"{gyomu_name(t.gyomu_id)}:{resource}:{operation}"


@functools.lru_cache(maxsize=None)
def mynumber_columns(table_id: str | None = None) -> frozenset[str]:
    """Columns that need the kojin_bango grant: items whose ``personal:`` kind layouts/personal.yaml
    lists under ``api`` (個人番号), of one table or of every table."""
    from kikan_hub.validation.masking import load_policy, personal_columns
    return personal_columns(tuple(load_policy().api), table_id)
