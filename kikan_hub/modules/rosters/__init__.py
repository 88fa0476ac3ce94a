"""Rosters the divisions produce as of a date: from 住民記録 (選挙人名簿, 学齢簿, 敬老寿賀, 成人の祝賀式) and
from the other 業務 (国保・後期・介護 資格, 避難行動要支援者; sources.py).

One small engine (engine.py) and one rule file per roster (rules/*.yaml) with its parameters,
ages, windows and legal basis; lookup tables (tables/*.csv) a city edits. See docs/modules.md.
"""
from kikan_hub.modules.rosters.engine import DISPLAYED, LISTED, OUT, RosterResult, compute, compute_all
from kikan_hub.modules.rosters.rules import RosterError, RosterRule, catalogue, load_rule, roster_names

__all__ = ["DISPLAYED", "LISTED", "OUT", "RosterError", "RosterResult", "RosterRule", "catalogue", "compute", "compute_all", "load_rule",
           "roster_names"]
