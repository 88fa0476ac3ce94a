"""Rosters the divisions produce from 住民記録 as of a date (選挙人名簿, 学齢簿, 敬老寿賀, 成人の祝賀式).

One small engine (engine.py) and one rule file per roster (rules/*.yaml) with its parameters,
ages, windows and legal basis; lookup tables (tables/*.csv) a city edits. See docs/modules.md.
"""
from kikan_hub.modules.rosters.engine import DISPLAYED, LISTED, OUT, RosterResult, compute, compute_all
from kikan_hub.modules.rosters.rules import RosterError, RosterRule, catalogue, load_rule, roster_names

__all__ = ["DISPLAYED", "LISTED", "OUT", "RosterError", "RosterResult", "RosterRule", "catalogue", "compute", "compute_all", "load_rule",
           "roster_names"]
