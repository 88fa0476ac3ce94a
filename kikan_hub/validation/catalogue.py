"""The rule catalogue (data files in rules/) and the threshold logic of a gate.

Two kinds of entries live in ``rules/*.yaml``:

* ``rules:`` — one rule each (id, Japanese title, 業務, responsible division, severity,
  description, thresholds and, for gate rules, the ``check`` that implements it as data:
  ``{kind: <registered check>, table: <canonical table>, ...parameters}``).
* ``templates:`` — rules generated from the ISL layout definitions, one per canonical table
  (``ISL-CODE.juki_jumin`` …). Their title, division and thresholds come from the template and
  the ``divisions:`` map (業務 → responsible division).

``load_catalogue()`` keeps its old meaning (the hand-written rules, keyed by id) and
``level_for()`` is unchanged; ``full_catalogue()`` adds the generated rules.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kikan_hub.layouts import strict_yaml
from kikan_hub.layouts.definition_models import RuleCatalogueFile
from kikan_hub.layouts.definitions_path import ENV as DEFINITIONS_ENV, clash, extra_folders
from kikan_hub.layouts.isl import definition_folders

RULES_DIR = Path(__file__).parent / "rules"
LEVELS = ("ok", "warn", "error", "critical")
LEVEL_ORDER = {name: i for i, name in enumerate(LEVELS)}


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    division: str
    severity: str
    description: str
    thresholds: dict[str, float] = field(default_factory=dict)
    gyomu: str = ""                 # gyomu_id (juki, zei_kojin …); "" = rehearsal-wide (read/map stage)
    table: str = ""                 # canonical table the check runs on ("" = not a table check)
    unit: str = "件"                # what `failed` counts: 件 (rows), 人 (宛名), 世帯 (households)
    check: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    template: str = ""              # generated rules: the template id (ISL-CODE …)
    level_cap: str = ""             # a rehearsal's override of severity: no level above this one
    override: dict[str, Any] | None = field(default=None, hash=False, compare=False)  # see overrides.py


def _rule_from(rid: str, r: dict, template: str = "") -> Rule:
    return Rule(id=rid, title=r["title"], division=r.get("division", ""), severity=r.get("severity", "error"),
                description=r.get("description", ""), thresholds=dict(r.get("thresholds") or {}),
                gyomu=str(r.get("gyomu", "") or ""), table=str((r.get("check") or {}).get("table", r.get("table", "")) or ""),
                unit=str(r.get("unit", "件")), check=dict(r.get("check") or {}), template=template)


def rule_folders() -> tuple[Path, ...]:
    """The shipped rules/ and the rules/ of every folder on KIKAN_DEFINITIONS_PATH."""
    return (RULES_DIR, *(f / "rules" for f in extra_folders()))


def rule_files() -> tuple[tuple[Path, dict], ...]:
    return _rule_files(rule_folders())


@lru_cache(maxsize=4)
def _rule_files(folders: tuple[Path, ...]) -> tuple[tuple[Path, dict], ...]:
    files = tuple((p, _read_rule_file(p)) for folder in folders for p in sorted(folder.glob("*.yaml")))
    for section in ("rules", "templates", "divisions"):
        _merged(files, section)  # an id defined in two files is an error naming both
    return files


def _read_rule_file(path: Path) -> dict:
    """A rule catalogue file, its shape checked by the model (definition_models.RuleCatalogueFile)."""
    data = strict_yaml.read_yaml(path, what="ルールカタログ") or {}
    strict_yaml.validate(RuleCatalogueFile, data, path)
    return data


def _merged(files: tuple[tuple[Path, dict], ...], section: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    where: dict[str, Path] = {}
    for path, data in files:
        for key, value in (data.get(section) or {}).items():
            if key in where:
                raise clash({"rules": "rule", "templates": "rule template", "divisions": "division of 業務"}[section],
                            str(key), where[key], path)
            out[key], where[key] = value, path
    return out


def load_catalogue() -> dict[str, Rule]:
    return _catalogue(rule_folders())


@lru_cache(maxsize=4)
def _catalogue(folders: tuple[Path, ...]) -> dict[str, Rule]:
    return {rid: _rule_from(rid, r) for rid, r in _merged(_rule_files(folders), "rules").items()}


def templates() -> dict[str, dict]:
    return _merged(rule_files(), "templates")


# The 担当課 lookups are cached per KIKAN_DEFINITIONS_PATH value (the folders, and so the rule files and
# the 業務コード表, follow from it): a whole-city report asks ~20,000 times, and resolving the folders
# each time cost ~70 µs a call.

def divisions() -> dict[str, str]:
    """業務 id → responsible division (担当課) (do not change the dict: it is cached)."""
    return _divisions(os.environ.get(DEFINITIONS_ENV, ""))


@lru_cache(maxsize=8)
def _divisions(_definitions_path: str) -> dict[str, str]:
    return _merged(rule_files(), "divisions")


def division_for(gyomu_id: str) -> str:
    """The 業務's 担当課: the catalogue's ``divisions:``, else the 業務コード表 (codes/gyomu.yaml tantoka)."""
    named = divisions()
    if gyomu_id in named:
        return named[gyomu_id]
    listed = _all_tantoka().get(gyomu_id)   # a 業務 of two divisions: the first
    return listed[0] if listed else named.get("default", "情報企画課")


def divisions_for(gyomu_id: str) -> list[str]:
    """Every 担当課 of the 業務, first the one ``division_for`` gives: a 業務 two divisions share
    (表7: 健康管理 → 健康増進課, 母子保健課) is in both divisions' reports."""
    if gyomu_id in divisions():
        return [divisions()[gyomu_id]]
    first = division_for(gyomu_id)
    return [first] + [d for d in _all_tantoka().get(gyomu_id, []) if d != first]


def _all_tantoka() -> dict[str, list[str]]:
    """gyomu_id → its 担当課 from the 業務コード表 of the definitions in use (KIKAN_DEFINITIONS_PATH included)."""
    return _tantoka_of(os.environ.get(DEFINITIONS_ENV, ""))


@lru_cache(maxsize=8)
def _tantoka_of(_definitions_path: str) -> dict[str, list[str]]:
    from kikan_hub.layouts.isl import code_table_path, load_code_table

    path = code_table_path("gyomu")
    if not path.is_file():      # no 業務コード表 among the definitions: the catalogue's default applies
        return {}
    extra = load_code_table("gyomu", str(path.parent)).extra   # a malformed table is an error, not a default
    ids, tantoka = extra.get("gyomu_id") or {}, extra.get("tantoka") or {}
    return {str(gid): [str(x) for x in (tantoka.get(code) if isinstance(tantoka.get(code), list) else [tantoka.get(code)])
                       if x] for code, gid in ids.items()}


def generated_rules() -> dict[str, Rule]:
    """Rules derived from the ISL layout definitions: one per template and table that has such items."""
    from kikan_hub.layouts.isl import all_tables

    covered = {c for r in load_catalogue().values() for c in (r.check.get("covers") or [])}
    out: dict[str, Rule] = {}
    for tid, table in all_tables().items():
        for tmpl_id, tmpl in templates().items():
            kind = tmpl["check"]["kind"]
            items = [it.id for it in table.items if _template_applies(kind, it) and (kind != "isl_code" or f"{tid}.{it.id}" not in covered)]
            if not items:
                continue
            rid = f"{tmpl_id}.{tid}"
            data = dict(tmpl)
            data["title"] = tmpl["title"].format(table=table.name, table_id=tid)
            data["description"] = tmpl.get("description", "").format(table=table.name, table_id=tid)
            data["gyomu"] = table.gyomu_id
            data["division"] = tmpl.get("division") or division_for(table.gyomu_id)
            data["check"] = {**tmpl["check"], "table": tid, "items": items}
            out[rid] = _rule_from(rid, data, template=tmpl_id)
    # Hand-written rule families that run once per table (check.per_table).
    for rid, rule in load_catalogue().items():
        for tid in _per_table(rule, all_tables()):
            table = all_tables().get(tid)
            if table is None:
                continue
            check = {k: v for k, v in rule.check.items() if k != "per_table"}
            check["table"] = tid
            check["columns"] = per_table_columns(rule.check, table)
            data = {"title": f"{rule.title}（{table.name}）", "description": rule.description,
                    "severity": rule.severity, "thresholds": rule.thresholds, "gyomu": table.gyomu_id,
                    "division": division_for(table.gyomu_id), "unit": rule.unit, "check": check}
            out[f"{rid}.{tid}"] = _rule_from(f"{rid}.{tid}", data, template=rid)
    return out


def _per_table(rule: Rule, tables: dict) -> list[str]:
    """The tables a per-table family runs on: a list, or a selector ``{columns_ending: atena_no,
    gyomu_except: [...]}`` — every table of the other 業務 with such columns, except the tables
    another family of the same check kind already names (one rule id per fact)."""
    sel = rule.check.get("per_table") or []
    if isinstance(sel, list):
        return sel
    suffix = sel.get("columns_ending", "atena_no")
    named = {t for other in load_catalogue().values() if other.id != rule.id and other.check.get("kind") == rule.check.get("kind")
             and isinstance(other.check.get("per_table"), list) for t in other.check["per_table"]}
    out = []
    for tid, table in sorted(tables.items()):
        if table.gyomu_id in (sel.get("gyomu_except") or []) or tid in named:
            continue
        if any(it.id.endswith(suffix) for it in table.items):
            out.append(tid)
    return out


def per_table_columns(rule_check: dict, table) -> list[str]:
    """The columns a per-table family checks: its ``columns``, or every item ending in the selector's suffix."""
    sel = rule_check.get("per_table")
    if isinstance(sel, dict) and not rule_check.get("columns"):
        return [it.id for it in table.items if it.id.endswith(sel.get("columns_ending", "atena_no"))]
    return list(rule_check.get("columns") or ["atena_no"])


def _template_applies(kind: str, item) -> bool:
    if kind == "isl_required":
        return item.required
    if kind == "isl_required_when":
        return bool(item.required_when or item.required_except)
    if kind == "isl_type":
        return item.type in ("digits", "kana", "integer", "code", "flag", "decimal")
    if kind == "isl_chars":
        return item.type in ("text", "kana", "digits", "code")
    if kind == "isl_bytes":
        return item.type in ("text", "kana", "digits", "code")
    if kind == "isl_code":
        return bool(item.code)
    if kind == "isl_m11":
        return item.check == "m11"
    if kind == "isl_mynumber":
        return item.check == "mynumber"
    return False


def full_catalogue() -> dict[str, Rule]:
    """Hand-written rules and the rules generated from the layouts, keyed by id."""
    return _full_catalogue(rule_folders(), tuple(str(f) for f in definition_folders()))


@lru_cache(maxsize=4)
def _full_catalogue(rule_dirs: tuple[Path, ...], definition_dirs: tuple[str, ...]) -> dict[str, Rule]:
    return {**load_catalogue(), **generated_rules()}


def gate_rules(gyomu: str | None = None) -> list[Rule]:
    """The rules that run on canonical tables (those with a check), optionally for one 業務."""
    rules = [r for r in full_catalogue().values() if r.check.get("kind") and not r.check.get("per_table")]
    if gyomu:
        rules = [r for r in rules if gyomu in (r.gyomu, _gyomu_name(r.gyomu))]
    return sorted(rules, key=lambda r: (r.gyomu, r.table, r.id))


def _gyomu_name(gyomu_id: str) -> str:
    from kikan_hub.layouts.isl import load_definitions

    for d in load_definitions().values():
        if d.gyomu_id == gyomu_id:
            return d.gyomu
    return gyomu_id


def gyomu_name(gyomu_id: str) -> str:
    try:
        return _gyomu_name(gyomu_id) if gyomu_id else "移行リハーサル共通"
    except Exception:  # a layout problem must not hide a report
        return gyomu_id


def level_for(rule: Rule, failed: int, total: int) -> str:
    """Highest threshold reached: an int threshold is a count, a float below 1 a share of total."""
    level = "ok"
    for name in LEVELS[1:]:
        t = rule.thresholds.get(name)
        if t is None or failed == 0:
            continue
        reached = failed >= t if (isinstance(t, int) or t >= 1) else (total > 0 and failed / total >= t)
        if reached:
            level = name
    if rule.level_cap and LEVEL_ORDER[level] > LEVEL_ORDER[rule.level_cap]:
        level = rule.level_cap
    return level


def worst(levels) -> str:
    out = "ok"
    for lv in levels:
        if LEVEL_ORDER.get(lv, 2) > LEVEL_ORDER[out]:
            out = lv
    return out
