"""Which 業務 a record belongs to, and the rehearsal's accounting per canonical table and per 業務.

Nothing here names a 業務: a file's record type belongs to the 業務 of the ISL tables the mapping
sends it to (the loaded definitions, shipped or from KIKAN_DEFINITIONS_PATH), and its 担当課 is the
``divisions:`` entry of the rule catalogues. A record type mapped to tables of two 業務 (or to none,
in a file that feeds several) belongs to the rehearsal as a whole ("").
"""
from __future__ import annotations

from collections import defaultdict

from kikan_hub.layouts.isl import Table
from kikan_hub.pipeline.manifest import Manifest
from kikan_hub.validation.catalogue import division_for, divisions_for, gyomu_name

RuleKey = tuple[str, str]   # (rule id, gyomu_id or "")
# (file id, record type, gyomu_id, is a data record type, read, staged, quarantined)
RecordCounts = tuple[str, str, str, bool, int, int, int]


def record_gyomu(manifest: Manifest, tables: dict[str, Table]) -> dict[tuple[str, str], str]:
    """(file id, record type) → gyomu_id, for every record type of every file of the manifest."""
    by_type: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_file: dict[str, set[str]] = defaultdict(set)
    for t in manifest.mapping.targets:
        table = tables.get(t.table)
        if table is not None:
            by_type[(t.file, t.record_type)].add(table.gyomu_id)
            by_file[t.file].add(table.gyomu_id)
    out: dict[tuple[str, str], str] = {}
    for f in manifest.files:
        whole = by_file.get(f.id, set())
        for rt in f.layout.record_types:
            ids = by_type.get((f.id, rt.name)) or whole
            out[(f.id, rt.name)] = next(iter(ids)) if len(ids) == 1 else ""
        out[(f.id, "")] = next(iter(whole)) if len(whole) == 1 else ""   # file-level findings (trailer)
    return out


def rule_totals(counts: dict[RuleKey, int]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for (rid, _), n in counts.items():
        out[rid] += n
    return out


def rule_parts(counts: dict[RuleKey, int], rule_id: str) -> dict[str, int]:
    """gyomu_id → failures of one rule (only the 業務 it was found in)."""
    return {g: n for (rid, g), n in sorted(counts.items()) if rid == rule_id and g}


def rule_division(catalogue_division: str, parts: dict[str, int]) -> str:
    """A rule's own division when the catalogue gives one; else that of the 業務 whose records it stopped."""
    if catalogue_division:
        return catalogue_division
    divisions = sorted({division_for(g) for g in parts})
    return divisions[0] if len(divisions) == 1 else (division_for("default") if not divisions else "")


def table_accounting(tables: dict[str, Table], staged_rows: dict[str, int], loaded: bool) -> dict[str, dict]:
    return {tid: {"gyomu_id": tables[tid].gyomu_id, "gyomu": gyomu_name(tables[tid].gyomu_id), "staged": n,
                  "loaded": n if loaded else 0}
            for tid, n in sorted(staged_rows.items())}


def gyomu_accounting(table_rows: dict[str, dict], quarantined: dict[str, int]) -> dict[str, dict]:
    """Per 業務: its tables' staged / loaded rows and the records of its files quarantined."""
    out: dict[str, dict] = {}
    for g in sorted({t["gyomu_id"] for t in table_rows.values()} | {g for g in quarantined if g}):
        mine = {tid: t for tid, t in table_rows.items() if t["gyomu_id"] == g}
        out[g] = {"gyomu": gyomu_name(g), "division": division_for(g), "tables": sorted(mine),
                  "staged": sum(t["staged"] for t in mine.values()), "loaded": sum(t["loaded"] for t in mine.values()),
                  "quarantined": quarantined.get(g, 0)}
    return out


def records_by_gyomu(rows: list[RecordCounts], loaded: bool) -> dict[str, dict]:
    """Per 業務: the records of its files, exactly: read = staged + quarantined, and loaded = staged
    only when the run was loaded (a rejected run loads 0). Summed over the 業務 these are the run's
    totals (header / trailer records count like the per-file accounting counts them; ``data_records_*``
    leaves them out, as a vendor's record count of its data does). Records of a record type sent to
    tables of two 業務 are under "" (移行リハーサル共通)."""
    out: dict[str, dict] = {}
    for fid, _rt, g, is_data, read, staged, quarantined in rows:
        e = out.get(g)
        if e is None:
            ds = divisions_for(g) if g else [division_for("default")]
            e = out[g] = {"gyomu": gyomu_name(g), "division": ds[0], "divisions": ds, "files": [],
                          "records_read": 0, "records_staged": 0, "records_loaded": 0, "records_quarantined": 0,
                          "control_records": 0, "data_records_loaded": 0, "data_records_quarantined": 0}
        if fid not in e["files"]:
            e["files"].append(fid)
        e["records_read"] += read
        e["records_staged"] += staged
        e["records_loaded"] += staged if loaded else 0
        e["records_quarantined"] += quarantined
        if is_data:
            e["data_records_loaded"] += staged if loaded else 0
            e["data_records_quarantined"] += quarantined
        else:
            e["control_records"] += read
    return dict(sorted(out.items()))
