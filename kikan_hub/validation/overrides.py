"""Rule overrides for one rehearsal (the manifest's ``rules:`` section).

A migration team may lower (or raise) a rule for a rehearsal — a vendor's extract that breaks a
business rule in 28 % of its households must still be rehearsed — but never silently: each
override names a rule of the catalogue, says what changes in the catalogue's own shape
(``thresholds`` and/or ``severity``) and *why* (``reason``, required). The overrides travel into
summary.json, the reports and the ledger.

    rules:
      JUKI-SETAINUSHI:
        thresholds: {warn: 1, error: 0.3}      # replaces the rule's thresholds (no critical: cannot reject)
        reason: 旧システムは世帯主変更の異動を持たない。第2回で再判定（情報政策課 2026-11-20）
      ISL-M11:
        severity: warn                          # the rule reports, but reaches no level above warn
        reason: 移行元の世帯番号は旧体系 (j130: 新規付番のみ M11)

An id may be a rule (``ISL-CODE.juki_jumin``) or a family (``ISL-CODE``, ``XREF-ATENA``): a family
override applies to every rule generated from it.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Any, Iterable

from kikan_hub.validation.catalogue import LEVELS, Rule, full_catalogue

OVERRIDE_KEYS = ("thresholds", "severity", "reason")
THRESHOLD_KEYS = LEVELS[1:]          # warn, error, critical


class OverrideError(ValueError):
    """An override that names no rule, has no reason, or is not in the catalogue's shape."""


@dataclass(frozen=True)
class RuleOverride:
    rule_id: str
    reason: str
    thresholds: dict[str, float] | None = None
    severity: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule_id": self.rule_id, "reason": self.reason}
        if self.thresholds is not None:
            out["thresholds"] = dict(self.thresholds)
        if self.severity is not None:
            out["severity"] = self.severity
        return out


def _families(catalogue: dict[str, Rule]) -> set[str]:
    return {r.template for r in catalogue.values() if r.template}


def parse_overrides(data: Any, catalogue: dict[str, Rule] | None = None) -> tuple[RuleOverride, ...]:
    """The manifest's ``rules:`` mapping → overrides; any problem is an :class:`OverrideError`."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise OverrideError("rules: must map rule ids to {thresholds, severity, reason}")
    catalogue = catalogue if catalogue is not None else full_catalogue()
    known = set(catalogue) | _families(catalogue)
    out = []
    for rid, o in data.items():
        rid = str(rid)
        where = f"rules: {rid}"
        if rid not in known:
            near = difflib.get_close_matches(rid, sorted(known), n=3)
            raise OverrideError(f"{where}: no such rule in the catalogue" + (f" (did you mean {', '.join(near)}?)" if near else ""))
        if not isinstance(o, dict):
            raise OverrideError(f"{where}: must be {{thresholds: {{warn, error, critical}}, severity, reason}}")
        unknown = sorted(str(k) for k in o if k not in OVERRIDE_KEYS)
        if unknown:
            raise OverrideError(f"{where}: unknown keys {unknown} — 使えるキー (allowed keys): {', '.join(OVERRIDE_KEYS)}")
        reason = o.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise OverrideError(f"{where}: reason is required — why this rehearsal judges the rule differently "
                                f"(変更の理由を書いてください)")
        if "thresholds" not in o and "severity" not in o:
            raise OverrideError(f"{where}: says neither thresholds nor severity: nothing to override")
        thresholds = None
        if "thresholds" in o:
            t = o["thresholds"]
            if not isinstance(t, dict):
                raise OverrideError(f"{where}: thresholds must be {{warn: N, error: N, critical: N}} like the catalogue's")
            bad = sorted(str(k) for k in t if k not in THRESHOLD_KEYS)
            if bad:
                raise OverrideError(f"{where}: thresholds: unknown keys {bad} — allowed keys: {', '.join(THRESHOLD_KEYS)}")
            for k, v in t.items():
                if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
                    raise OverrideError(f"{where}: thresholds.{k} must be a count (integer) or a share below 1, got {v!r}")
            thresholds = {k: v for k, v in t.items() if v is not None}
        severity = o.get("severity")
        if severity is not None and severity not in THRESHOLD_KEYS:
            raise OverrideError(f"{where}: severity must be one of {', '.join(THRESHOLD_KEYS)}, got {severity!r}")
        out.append(RuleOverride(rule_id=rid, reason=reason.strip(), thresholds=thresholds, severity=severity))
    return tuple(out)


def _override_for(rule: Rule, overrides: Iterable[RuleOverride]) -> RuleOverride | None:
    by_id = {o.rule_id: o for o in overrides}
    return by_id.get(rule.id) or (by_id.get(rule.template) if rule.template else None)


def apply_override(rule: Rule, overrides: Iterable[RuleOverride]) -> Rule:
    """The rule as this rehearsal judges it (the same object when nothing overrides it)."""
    o = _override_for(rule, overrides)
    if o is None:
        return rule
    changes: dict[str, Any] = {"override": o.as_dict() | {"before": {"thresholds": dict(rule.thresholds),
                                                                    "severity": rule.severity}}}
    if o.thresholds is not None:
        changes["thresholds"] = dict(o.thresholds)
    if o.severity is not None:
        changes["severity"] = o.severity
        changes["level_cap"] = o.severity
    return replace(rule, **changes)


def apply_overrides(rules: Iterable[Rule], overrides: Iterable[RuleOverride]) -> list[Rule]:
    overrides = tuple(overrides)
    return [apply_override(r, overrides) for r in rules] if overrides else list(rules)


def applied(overrides: Iterable[RuleOverride], catalogue: dict[str, Rule] | None = None) -> list[dict[str, Any]]:
    """Each override with the rules it reaches and their catalogue values before it (for outputs)."""
    catalogue = catalogue if catalogue is not None else full_catalogue()
    out = []
    for o in overrides:
        reached = sorted(rid for rid, r in catalogue.items() if rid == o.rule_id or r.template == o.rule_id)
        first = catalogue.get(o.rule_id) or (catalogue[reached[0]] if reached else None)
        out.append(o.as_dict() | {"title": first.title if first else o.rule_id, "applies_to": reached,
                                  "before": {"thresholds": dict(first.thresholds) if first else {},
                                             "severity": first.severity if first else ""}})
    return out
