"""The rule catalogue (data files in rules/) and the threshold logic of a gate."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

RULES_DIR = Path(__file__).parent / "rules"
LEVELS = ("ok", "warn", "error", "critical")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    division: str
    severity: str
    description: str
    thresholds: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=1)
def load_catalogue() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for path in sorted(RULES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rid, r in (data.get("rules") or {}).items():
            rules[rid] = Rule(id=rid, title=r["title"], division=r.get("division", ""),
                              severity=r.get("severity", "error"), description=r.get("description", ""),
                              thresholds=dict(r.get("thresholds") or {}))
    return rules


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
    return level
