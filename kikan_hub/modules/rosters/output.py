"""Write a roster: masked per the EUC roles (layouts/personal.yaml euc_roles, read by validation/masking.py), through the EUC writers (CSV with
CP932 folds recorded in OUT.folds.csv, Excel, Parquet), audited in the EUC audit table as
``名簿:<name>`` so a roster run is listed with the extractions (``kikan euc list --audit``)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kikan_hub.layouts.isl import get_table
from kikan_hub.modules.euc import extract as euc_extract
from kikan_hub.modules.juki import JUMIN
from kikan_hub.modules.rosters.engine import RosterResult
from kikan_hub.modules.rosters.rules import AUDIT_NAME
from kikan_hub.validation.masking import PersonalPolicy, load_policy



def mask(result: RosterResult, role: str, rules: PersonalPolicy | None = None) -> tuple[pa.Table, dict[str, str]]:
    """The roster with every column the role may not see masked (same rules as EUC)."""
    rules = rules or load_policy()
    tbl = result.table
    plan = rules.role_plan(role, get_table(JUMIN), [c for c in tbl.column_names])
    for col, method in plan.items():
        values = tbl[col].to_pylist()
        masked = pa.array([rules.apply(method, v) for v in values], pa.string())
        tbl = tbl.set_column(tbl.column_names.index(col), col, masked)
    return tbl, plan


@dataclass
class _Shape:
    """What the EUC writers need of a definition: item ids and their headers."""
    items: list[str]
    header_names: list[str]

    def headers(self) -> list[str]:
        return self.header_names


def _rows(tbl: pa.Table):
    cols = [tbl[c].to_pylist() for c in tbl.column_names]
    return zip(*cols)


def definition_json(result: RosterResult, listed_only: bool) -> str:
    return json.dumps({"roster": result.rule.as_dict(), "as_of": result.as_of.isoformat(), "listed_only": listed_only},
                      ensure_ascii=False, sort_keys=True)


def write(engine, result: RosterResult, out: Path, who: str, role: str = "閲覧", fmt: str | None = None,
          encoding: str = "utf-8", fold_policy: str = "mj", listed_only: bool = True) -> dict:
    """Write the roster file; every run (failed ones too) leaves an audit row. Returns a summary."""
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    out = Path(out)
    fmt = fmt or euc_extract._fmt_from_suffix(out)
    djson = definition_json(result, listed_only)
    audit = dict(started_at=started, who=who, role=role, definition_name=AUDIT_NAME.format(name=result.rule.name),
                 definition_version=None, definition_sha256=hashlib.sha256(djson.encode()).hexdigest(),
                 definition_json=djson, output_format=fmt, encoding=encoding if fmt == "csv" else None,
                 fold_policy=fold_policy if fmt == "csv" else None, output_path=str(out))
    folds = euc_extract._FoldLog(out.with_name(out.name + ".folds.csv"))
    try:
        euc_extract.check_output_options(fmt, encoding, fold_policy)
        tbl = result.listed() if listed_only else result.table
        shown = RosterResult(result.rule, result.as_of, tbl, result.headers)
        tbl, plan = mask(shown, role)
        shape = _Shape(tbl.column_names, result.headers)
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            n = euc_extract._write_csv(_rows(tbl), shape, out, encoding, fold_policy, folds)
        elif fmt == "xlsx":
            n = euc_extract._write_xlsx(_rows(tbl), shape, out)
        else:
            pq.write_table(tbl.rename_columns(result.headers), str(out))
            n = tbl.num_rows
        aid, sha, folds_path, _ = euc_extract.audit_success(engine, audit, out, folds, t0, n)
        return {"audit_id": aid, "roster": result.rule.name, "as_of": result.as_of.isoformat(), "rows": n,
                "folds": folds.count, "output": str(out), "sha256": sha, "masked_columns": plan,
                "folds_path": str(folds_path) if folds_path else None}
    except Exception as exc:
        euc_extract.audit_failure(engine, audit, out, folds, t0, exc)
        raise
