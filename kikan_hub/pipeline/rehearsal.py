"""A migration rehearsal: read → map → resolve characters → check → gate → load.

Each stage works on Arrow batches. Canonical rows are staged to Parquet (for the gate) and
streamed to the bulk-load child as they are made, quarantined records written to Parquet,
so memory stays bounded and the inserts run beside the reading. The load is one
transaction that replaces this source's earlier load and is committed only after the gate
has passed the whole run, so a run either lands whole or not at all.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kikan_hub.adapters.reader import HeaderMismatch, read_file
from kikan_hub.adapters.trailer import reconcile_trailer, sum_values
from kikan_hub.layouts.isl import all_tables
from kikan_hub.layouts.types import arrow_type
from kikan_hub.mapping.engine import map_batch
from kikan_hub.mapping.row_errors import RowErrors
from kikan_hub.pipeline.accounting import (RuleKey, gyomu_accounting, record_gyomu, records_by_gyomu, rule_division,
                                           rule_parts, rule_totals, table_accounting)
from kikan_hub.pipeline.characters import CharacterStage
from kikan_hub.pipeline.duplicates import KeyIndex
from kikan_hub.faults import checkpoint
from kikan_hub.pipeline.memory import release_free_memory
from kikan_hub.pipeline.run_id import compute_run_id
from kikan_hub.pipeline.errors import ConfigError, RunOutputError
from kikan_hub.pipeline.manifest import Manifest, ManifestFile
from kikan_hub.pipeline.private import private_dir, private_file
from kikan_hub.store.loader import LoadSession, record_attempt, source_deletes
from kikan_hub.validation.catalogue import LEVEL_ORDER, full_catalogue, gate_rules as all_gate_rules, level_for
from kikan_hub.validation.overrides import applied, apply_override, apply_overrides
from kikan_hub.validation.record_checks import is_record_rule, run_record_checks

QUARANTINE_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("file_id", pa.string()), ("source_file", pa.string()),
    ("source_sha256", pa.string()), ("record_no", pa.int64()), ("offset", pa.int64()),
    ("record_type", pa.string()), ("raw", pa.binary()), ("rule_ids", pa.string()),
    ("field", pa.string()), ("message", pa.string()),
])

Progress = Callable[[str, int, int], None]  # (file id, bytes done, bytes total)


@dataclass
class Counts:
    """read = staged + quarantined, always; staged rows are loaded only when the gate passes the run."""
    read: int = 0
    staged: int = 0
    quarantined: int = 0

    def as_dict(self, loaded: bool) -> dict:
        return {"read": self.read, "staged": self.staged, "loaded": self.staged if loaded else 0,
                "quarantined": self.quarantined}


@dataclass
class RunResult:
    exit_code: int
    run_id: str
    run_dir: Path
    summary: dict
    store_url: str


@dataclass
class _FileState:
    counts: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    control_rows: list[dict] = field(default_factory=list)
    data_values: dict[str, list] = field(default_factory=lambda: defaultdict(list))


def _lineage(n: int, run_id: str, source_key: str, sha: str, offsets: pa.Array, record_nos: pa.Array,
             flags: np.ndarray) -> dict[str, pa.Array]:
    return {
        "_run_id": pa.repeat(pa.scalar(run_id, pa.string()), n),
        "_source_file": pa.repeat(pa.scalar(source_key, pa.string()), n),
        "_source_sha256": pa.repeat(pa.scalar(sha, pa.string()), n),
        "_source_offset": offsets,
        "_record_no": record_nos,
        "_flags": (pa.array(np.where(flags, "gaiji-unresolved", None), pa.string()) if flags.any()
                   else pa.nulls(n, pa.string())),
    }


class _Writers:
    """Parquet writers opened on first use: staging per table, quarantine per file."""

    def __init__(self, run_dir: Path, load: LoadSession) -> None:
        self.run_dir = run_dir
        self.load = load  # every staged table also streams to the store's open transaction
        self.staging: dict[str, pq.ParquetWriter] = {}
        self.quarantine: dict[str, pq.ParquetWriter] = {}
        self.paths: dict[str, Path] = {}
        self.quarantine_paths: dict[str, Path] = {}
        self.rows: dict[str, int] = defaultdict(int)   # staged rows per canonical table

    def stage(self, table_id: str, tbl: pa.Table) -> None:
        if table_id not in self.staging:
            path = private_file(private_dir(self.run_dir / "staging") / f"{table_id}.parquet")
            self.staging[table_id] = pq.ParquetWriter(path, tbl.schema)
            self.paths[table_id] = path
        self.staging[table_id].write_table(tbl)
        self.rows[table_id] += tbl.num_rows
        self.load.ingest(table_id, tbl)

    def quarantine_rows(self, file_id: str, tbl: pa.Table) -> None:
        if file_id not in self.quarantine:
            path = private_file(private_dir(self.run_dir / "quarantine") / f"{file_id}.parquet")
            self.quarantine[file_id] = pq.ParquetWriter(path, QUARANTINE_SCHEMA)
            self.quarantine_paths[file_id] = path
        self.quarantine[file_id].write_table(tbl)

    def close(self) -> None:
        """Close every writer even when one fails (disk full): no writer is left to fail again in __del__."""
        first: BaseException | None = None
        for w in list(self.staging.values()) + list(self.quarantine.values()):
            try:
                w.close()
            except Exception as exc:  # noqa: BLE001 — re-raised below, after the others are closed
                first = first or exc
        self.staging.clear()
        self.quarantine.clear()
        if first is not None:
            raise first


def _quarantine_table(run_id: str, f: ManifestFile, rtype: str, batch: pa.RecordBatch, mask: np.ndarray,
                      errors: RowErrors) -> pa.Table:
    idx = np.flatnonzero(mask)
    take = pa.array(idx, pa.int64())
    n = len(idx)
    return pa.table({
        "run_id": pa.array([run_id] * n, pa.string()),
        "file_id": pa.array([f.id] * n, pa.string()),
        "source_file": pa.array([str(f.path)] * n, pa.string()),
        "source_sha256": pa.array([f.sha256] * n, pa.string()),
        "record_no": batch.column("_record_no").take(take).cast(pa.int64()),
        "offset": batch.column("_offset").take(take).cast(pa.int64()),
        "record_type": pa.array([rtype] * n, pa.string()),
        "raw": batch.column("_raw").take(take).cast(pa.binary()),
        "rule_ids": pa.array(errors.rules[idx].tolist(), pa.string()),
        "field": pa.array(errors.fields[idx].tolist(), pa.string()),
        "message": pa.array(errors.messages[idx].tolist(), pa.string()),
    }, schema=QUARANTINE_SCHEMA)


def _reader_errors(batch: pa.RecordBatch) -> RowErrors:
    """The reader's findings (READ-*) as the first failures of each row."""
    errors = RowErrors(batch.num_rows)
    errors.seed(batch.column("_error_rule"), batch.column("_error_field"), batch.column("_error_message"))
    return errors


def _account(run_id: str, f: ManifestFile, rtype: str, batch: pa.RecordBatch, bad: np.ndarray, errors: RowErrors,
             writers: _Writers, counts: Counts, rule_counts: dict[RuleKey, int], gyomu: str) -> None:
    """Quarantine the failed rows of a batch and count: read = loaded + quarantined, always.

    Each failure counts for its rule and for the 業務 the record belongs to (``gyomu``)."""
    if bad.any():
        writers.quarantine_rows(f.id, _quarantine_table(run_id, f, rtype, batch, bad, errors))
        for r in errors.rules[bad]:
            for rid in r.split(","):
                rule_counts[(rid, gyomu)] += 1
    counts.read += batch.num_rows
    counts.staged += int((~bad).sum())
    counts.quarantined += int(bad.sum())


def declared_check_digits(f: ManifestFile, rtype: str, target) -> dict[str, str]:
    """Item id → the check-digit scheme the legacy layout declares for the field it is mapped from."""
    rt = next((r for r in f.layout.record_types if r.name == rtype), None)
    if rt is None:
        return {}
    fields = {fl.name: fl.check_digit for fl in rt.fields if fl.check_digit}
    return {c.target: fields[c.source] for c in target.columns if c.source in fields}


def _process_data_batch(run_id: str, manifest: Manifest, f: ManifestFile, rtype: str, batch: pa.RecordBatch,
                        chars: CharacterStage, writers: _Writers, counts: Counts, rule_counts: dict[RuleKey, int],
                        gyomu: str, controls: dict | None = None, keys: KeyIndex | None = None) -> None:
    errors = _reader_errors(batch)
    reader_bad = errors.failed
    clean_idx = np.flatnonzero(~reader_bad)
    tables = all_tables()
    good_mask = ~reader_bad
    if len(clean_idx):
        # The mapping reads the fields, _record_no and _offset: the records' bytes are not copied.
        clean = batch.drop_columns(["_raw"])
        clean = clean if len(clean_idx) == batch.num_rows else clean.take(pa.array(clean_idx, pa.int64()))
        sub_errors = RowErrors(len(clean_idx))
        for target in manifest.mapping.targets_for(f.id, rtype):
            table = tables[target.table]
            mapped = map_batch(clean, target, table, f.layout.era_codes, sub_errors, controls)
            flags = chars.apply(mapped.columns, table, sub_errors, clean.column("_record_no"), f.id, f.encoding)
            for rid, k in run_record_checks(mapped.columns, table, sub_errors, declared_check_digits(f, rtype, target)).items():
                rule_counts[(rid, table.gyomu_id)] += k   # warnings: the rows load
            ok = ~sub_errors.failed
            if ok.any():
                every = bool(ok.all())  # the usual case: no copy of the batch
                sel = pa.array(np.flatnonzero(ok), pa.int64())
                pick = (lambda a: a) if every else (lambda a: a.take(sel))
                data = {c.name: pick(mapped.columns[c.name]).cast(arrow_type(c))
                        for c in table.columns if c.role != "lineage"}
                offsets = pick(clean.column("_offset")).cast(pa.int64())
                record_nos = pick(clean.column("_record_no")).cast(pa.int64())
                if keys is not None:  # DUP-KEY: a key already staged never reaches the store twice
                    raw = batch.column("_raw")
                    raw = raw if len(clean_idx) == batch.num_rows else raw.take(pa.array(clean_idx, pa.int64()))
                    dup = keys.check(table, data, offsets, record_nos, f.id, pick(raw))
                    if dup.mask.any():
                        rows = np.flatnonzero(ok)[dup.mask]
                        mask = np.zeros(sub_errors.n, bool)
                        mask[rows] = True
                        msgs = np.full(sub_errors.n, None, object)
                        msgs[rows] = dup.messages[dup.mask]
                        sub_errors.add(mask, "DUP-KEY", dup.field, msgs)
                        keep = pa.array(~dup.mask)
                        data = {k: v.filter(keep) for k, v in data.items()}
                        offsets, record_nos = offsets.filter(keep), record_nos.filter(keep)
                        ok = ~sub_errors.failed
                data.update(_lineage(int(ok.sum()), run_id, manifest.source_key(f.id), f.sha256,
                                     offsets, record_nos, flags[ok]))
                if ok.any():
                    writers.stage(table.id, pa.table(data))
        # Fold the clean rows' failures back into the batch-wide view (few rows: no loop over all).
        failed_j = np.flatnonzero(sub_errors.failed)
        at = clean_idx[failed_j]
        errors.rules[at] = sub_errors.rules[failed_j]
        errors.fields[at] = sub_errors.fields[failed_j]
        errors.messages[at] = sub_errors.messages[failed_j]
        good_mask = ~errors.failed
    _account(run_id, f, rtype, batch, ~good_mask, errors, writers, counts, rule_counts, gyomu)


def _process_control_batch(run_id: str, manifest: Manifest, f: ManifestFile, rtype: str, batch: pa.RecordBatch,
                           writers: _Writers, state: _FileState, counts: Counts, rule_counts: dict[RuleKey, int],
                           gyomu: str) -> None:
    errors = _reader_errors(batch)
    bad = errors.failed
    field_names = [c for c in batch.schema.names if not c.startswith("_")]
    rows = batch.to_pylist()
    for i, row in enumerate(rows):
        if bad[i]:
            continue
        fields = {k: (str(row[k]) if row[k] is not None and not isinstance(row[k], (int, str)) else row[k])
                  for k in field_names}
        state.control_rows.append({
            "source_key": manifest.source_key(f.id), "record_no": int(row["_record_no"]), "record_type": rtype,
            "source_offset": int(row["_offset"]), "source_sha256": f.sha256, "raw": bytes(row["_raw"]),
            "fields_json": json.dumps(fields, ensure_ascii=False, sort_keys=True), "_run_id": run_id,
            "_fields": fields,
        })
    _account(run_id, f, rtype, batch, bad, errors, writers, counts, rule_counts, gyomu)


def _control_values(manifest: Manifest, f: ManifestFile, batch_rows: int) -> dict[str, dict]:
    """The first header / trailer record's field values, when a mapping of this file takes one
    (``from_header`` / ``from_trailer``). A header ends the look-ahead at once; a trailer needs a
    read of the whole file before the data (only then)."""
    wanted = {role for t in manifest.mapping.targets if t.file == f.id for c in t.columns
              for role, src in (("header", c.from_header), ("trailer", c.from_trailer)) if src}
    if not wanted:
        return {}
    roles = f.role_of
    found: dict[str, dict] = {}
    reader = read_file(f.path, f.layout, encoding=f.encoding, batch_size=min(batch_rows, 4096), chunk_size=1 << 20)
    try:
        for rtype, batch in reader:
            role = roles.get(rtype)
            if role in wanted and role not in found and batch.num_rows:
                row = batch.slice(0, 1).to_pylist()[0]
                if row["_error_rule"]:
                    raise ConfigError(f.path, f"{role} record {row['_record_no']} (byte offset {row['_offset']}) "
                                              f"cannot be read: {row['_error_message']}")
                found[role] = {k: v for k, v in row.items() if not k.startswith("_")}
            if found.keys() >= wanted:
                break
    finally:
        reader.close()
    for role in sorted(wanted - found.keys()):
        raise ConfigError(f.path, f"the file has no {role} record, but the mapping takes values from it "
                                  f"(from_{role}); {'ヘッダ' if role == 'header' else 'トレーラ'}レコードがありません")
    return found


def batch_rows_default() -> int:
    """Rows per Arrow batch (read and bulk load); KIKAN_BATCH_ROWS overrides (tests, memory tuning)."""
    try:
        return max(1, int(os.environ.get("KIKAN_BATCH_ROWS") or 65536))
    except ValueError:
        return 65536


BATCH_BYTES = 16 << 20   # raw bytes of a fixed-width file per batch (see file_batch_rows)


def file_batch_rows(f: ManifestFile, batch_rows: int) -> int:
    """Rows per batch for one file: ``batch_rows``, fewer for wide fixed-width records. A batch's
    decoded columns grow with the record's width (住民記録: 640 bytes, ~60 fields), and the widest
    file sets the run's peak memory; capping the raw bytes of a batch keeps that peak flat in the
    record width (whole city of 20,000 residents: 628 → ~500 MiB), with at least 4,096 rows a batch."""
    if f.layout.format != "fixed" or not f.layout.record_length:
        return batch_rows
    stride = f.layout.record_length + {"crlf": 2, "lf": 1}.get(f.layout.terminator, 0)
    return max(1, min(batch_rows, max(4096, BATCH_BYTES // stride)))


def rehearse(manifest: Manifest, store_url: str, run_dir: Path | None = None,
             progress: Progress | None = None, batch_rows: int | None = None) -> RunResult:
    from kikan_hub.store.engine import open_engine
    from kikan_hub.store.migrate import upgrade

    batch_rows = batch_rows or batch_rows_default()

    started = dt.datetime.now(dt.timezone.utc)
    run_id = compute_run_id(manifest)
    run_dir = Path(run_dir) if run_dir else Path("var") / "runs" / f"{started:%Y%m%dT%H%M%S}_{run_id}"
    private_dir(run_dir)  # personal data inside: owner-only (issue 15)
    for sub in ("staging", "quarantine"):
        for old in (run_dir / sub).glob("*.parquet") if (run_dir / sub).exists() else []:
            old.unlink()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    engine = open_engine(store_url)
    upgrade(engine)
    timings["prepare_store"] = time.perf_counter() - t0
    checkpoint("prepare:after_upgrade")

    chars = CharacterStage(manifest.register or manifest.register_path, manifest.unresolved_gaiji,
                           manifest.mj_index_path)
    source_keys = [manifest.source_key(f.id) for f in manifest.files]
    load = LoadSession(engine, run_id, source_deletes(source_keys, [t.table for t in manifest.mapping.targets]),
                       batch_rows)
    try:
        result = _rehearse_with(manifest, store_url, engine, load, run_id, run_dir, started, timings, chars, progress,
                                batch_rows)
    finally:
        load.abort()  # a no-op after commit; otherwise the transaction is rolled back
    return result


def _rehearse_with(manifest: Manifest, store_url: str, engine, load: LoadSession, run_id: str, run_dir: Path, started: dt.datetime,
                   timings: dict, chars: CharacterStage, progress: Progress | None, batch_rows: int) -> RunResult:
    writers = _Writers(run_dir, load)
    keys = KeyIndex()
    rule_counts: dict[RuleKey, int] = defaultdict(int)   # (rule id, 業務) → failures
    tables = all_tables()
    gyomu_of = record_gyomu(manifest, tables)
    states: dict[str, _FileState] = {}
    controls: list[dict] = []
    t0 = time.perf_counter()
    try:
        try:
            for f in manifest.files:
                state = states[f.id] = _FileState()
                roles = f.role_of
                header_values = _control_values(manifest, f, batch_rows)
                done = 0
                for i, (rtype, batch) in enumerate(read_file(f.path, f.layout, encoding=f.encoding,
                                                             batch_size=file_batch_rows(f, batch_rows)), 1):
                    if i % 8 == 0:
                        release_free_memory()  # memory stays flat in the input size
                    role = roles.get(rtype, "data")
                    counts = state.counts[rtype]
                    gyomu = gyomu_of.get((f.id, rtype), gyomu_of[(f.id, "")])
                    if role == "data" and rtype in roles:
                        _process_data_batch(run_id, manifest, f, rtype, batch, chars, writers, counts, rule_counts,
                                            gyomu, header_values, keys)
                        _collect_control_values(f, rtype, batch, state)
                    else:
                        _process_control_batch(run_id, manifest, f, rtype, batch, writers, state, counts, rule_counts,
                                               gyomu)
                    if progress and batch.num_rows:
                        done = max(done, int(batch.column("_offset")[batch.num_rows - 1].as_py()))
                        progress(f.id, done, f.size)
                    checkpoint("read:batch")
                if progress:
                    progress(f.id, f.size, f.size)
                checkpoint("read:after_file")
        finally:
            writers.close()
    except HeaderMismatch as exc:  # the file changed since the preflight read its first line
        raise ConfigError(None, str(exc)) from None
    except OSError as exc:
        if exc.filename:  # an input file: the CLI names it
            raise
        # Staging / quarantine writes (Arrow reports ENOSPC without a file name): name the run directory.
        raise OSError(exc.errno, f"作業ファイルを書けません: {exc.strerror or exc}", str(run_dir)) from None
    checkpoint("stage:closed")
    for table_id in sorted(writers.paths):
        load.end_table(table_id)
    timings["read_map_check"] = time.perf_counter() - t0

    # Trailer reconciliation: counts and hash totals the old system wrote against what was read.
    control_results = []
    for f in manifest.files:
        state = states[f.id]
        for res in reconcile_trailer(f.layout, [r["_fields"] | {"_record_type": r["record_type"]} for r in state.control_rows],
                                     {k: v for k, v in state.data_values.items()},
                                     {rt: c.read for rt, c in state.counts.items()}):
            res = dict(res)
            res["file_id"] = f.id
            control_results.append(res)
            if not res.get("ok", True):
                rule = "CTL-COUNT" if res.get("kind") == "count" else "CTL-HASH"
                rule_counts[(rule, gyomu_of[(f.id, "")])] += 1
        for r in state.control_rows:
            controls.append({k: v for k, v in r.items() if k != "_fields"})

    totals = Counts()
    for f in manifest.files:
        for c in states[f.id].counts.values():
            totals.read += c.read
            totals.staged += c.staged
            totals.quarantined += c.quarantined

    catalogue = full_catalogue()   # read/map rules and the item rules judged per record (stage: record)
    overrides = manifest.rule_overrides
    gate_rules = []
    outcome = "ok"
    for rid, count in sorted(rule_totals(rule_counts).items()):
        rule = apply_override(catalogue[rid], overrides) if rid in catalogue else None
        level = level_for(rule, count, totals.read) if rule else "error"
        parts = rule_parts(rule_counts, rid)
        gate_rules.append({"rule_id": rid, "title": rule.title if rule else rid,
                           "division": rule_division(rule.division if rule else "", parts), "failed": count,
                           "level": level, "by_gyomu": parts,
                           **({"override": rule.override["reason"]} if rule and rule.override else {})})
        if LEVEL_ORDER[level] > LEVEL_ORDER[outcome]:
            outcome = level

    summary = {
        "run_id": run_id,
        "manifest": str(manifest.path),
        "source_system": manifest.source_system,
        "started_at": started.isoformat(),
        "store": engine.url.render_as_string(hide_password=True),
        "run_dir": str(run_dir),
        "records_read": totals.read,
        "records_staged": totals.staged,
        "records_loaded": 0,  # set once the gate has decided (below)
        "records_quarantined": totals.quarantined,
        "inputs": [{"id": f.id, "path": str(f.path), "sha256": f.sha256, "bytes": f.size, "encoding": f.encoding,
                    "layout": str(f.layout_path)} for f in manifest.files],
        "files": {},
        "control": control_results,
        "characters": chars.stats.as_dict(),
        # records_outcome: the level the record rules reached; outcome: the run's, with the
        # business rules' (validation) folded in below; decided_by: the rules at that level.
        "gate": {"outcome": outcome, "records_outcome": outcome, "validation_outcome": None,
                 "decided_by": [r["rule_id"] for r in gate_rules if r["level"] == outcome and outcome != "ok"],
                 "rules": gate_rules},
        "rule_overrides": applied(overrides),
        "duplicate_keys": keys.summary(),
        "quarantine": {fid: str(p) for fid, p in writers.quarantine_paths.items()},
        "timings": timings,
    }

    # The business-rule gate (validation catalogue) judges the staged canonical rows before
    # anything is loaded: a critical rule rejects the run like a critical record rule does.
    t0 = time.perf_counter()
    from kikan_hub.validation.engine import validate_tables

    # Rules judged per record above (stage: record) are not judged a second time on the staged rows.
    validation = (validate_tables(dict(writers.paths), rules=apply_overrides(
                      [r for r in all_gate_rules() if not is_record_rule(r)], overrides))
                  if writers.paths else None)
    timings["validate"] = time.perf_counter() - t0
    if validation is not None:
        summary["validation"] = {"outcome": validation.outcome,
                                 "rules": [{"rule_id": r.id, "title": r.title, "division": r.division,
                                            "failed": r.failed, "total": r.total, "level": r.level,
                                            **({"override": r.rule.override["reason"]} if r.rule.override else {})}
                                           for r in validation.rules if r.failed or r.level != "ok" or r.rule.override]}
        gate = summary["gate"]
        gate["validation_outcome"] = validation.outcome
        if LEVEL_ORDER.get(validation.outcome, 0) > LEVEL_ORDER[outcome]:
            outcome = gate["outcome"] = validation.outcome
            gate["decided_by"] = []
        if outcome != "ok":
            gate["decided_by"] += [r["rule_id"] for r in summary["validation"]["rules"] if r["level"] == outcome]
    status = "rejected" if outcome == "critical" else "loaded"
    # One truth for every output: a rejected run loads nothing; what it made is "staged".
    summary["records_loaded"] = totals.staged if status == "loaded" else 0
    summary["files"] = {f.id: {rt: c.as_dict(status == "loaded") for rt, c in sorted(states[f.id].counts.items())}
                        for f in manifest.files}
    # The same accounting per canonical table and per 業務 (derived from the loaded definitions).
    quarantined_by_gyomu: dict[str, int] = defaultdict(int)
    for f in manifest.files:
        for rt, c in states[f.id].counts.items():
            quarantined_by_gyomu[gyomu_of.get((f.id, rt), gyomu_of[(f.id, "")])] += c.quarantined
    summary["tables"] = table_accounting(tables, writers.rows, status == "loaded")
    summary["gyomu"] = gyomu_accounting(summary["tables"], quarantined_by_gyomu)
    # Records (not rows) per 業務: what each 担当課 reconciles its own files against.
    summary["by_gyomu"] = records_by_gyomu(
        [(f.id, rt, gyomu_of.get((f.id, rt), gyomu_of[(f.id, "")]), f.role_of.get(rt) == "data",
          c.read, c.staged, c.quarantined) for f in manifest.files for rt, c in sorted(states[f.id].counts.items())],
        status == "loaded")
    summary["status"] = status
    t0 = time.perf_counter()
    ledger = {"run_id": run_id, "source_system": manifest.source_system, "manifest_path": str(manifest.path),
              "manifest_sha256": manifest.sha256, "started_at": started, "records_read": totals.read,
              "records_loaded": summary["records_loaded"],
              "records_quarantined": totals.quarantined, "status": status}
    checkpoint("load:before")
    load_facts: dict = {}
    if status == "loaded":
        load_facts = load.commit(ledger, summary, controls)
    else:
        load.abort()
        record_attempt(engine, ledger, summary)
    checkpoint("load:returned")
    timings["load"] = time.perf_counter() - t0  # the tail after the gate: the inserts ran beside the read
    if load_facts.get("load_busy_s") is not None:
        timings["load_child_busy"] = load_facts.pop("load_busy_s")
    from kikan_hub.store.bulk_job import peak_rss_mib

    summary["memory"] = {"rehearsal_peak_rss_mib": round(peak_rss_mib(), 1), **load_facts}
    try:
        _write_outputs(run_dir, run_id, summary, chars, validation, timings,
                       _quarantine_files(manifest, writers.quarantine_paths))
    except OSError as exc:
        done = ("ストアへのロードは完了しています (the store WAS loaded)" if status == "loaded"
                else "ストアは変更されていません (the store was left as it was)")
        raise RunOutputError(run_dir, f"レポート・summary.json を書けませんでした: {exc.strerror or exc} — {done}; "
                                      f"run {run_id}. 空きを作って同じ入力で再実行すると同じ結果になります") from None
    engine.dispose()
    return RunResult(exit_code=0 if status == "loaded" else 1, run_id=run_id, run_dir=run_dir, summary=summary,
                     store_url=store_url)


def _quarantine_files(manifest: Manifest, paths: dict[str, Path]) -> list:
    """What report.xlsx needs to show each file's quarantined records as a clerk reads them."""
    from kikan_hub.validation.quarantine_sheet import QuarantineFile

    tables = all_tables()
    out = []
    for f in manifest.files:
        if f.id not in paths:
            continue
        mapped = {}
        for t in manifest.mapping.targets:
            if t.file == f.id:
                for c in t.columns:
                    if c.source:
                        mapped.setdefault((t.record_type, c.source), (tables[t.table], c.target))
        out.append(QuarantineFile(f.id, paths[f.id], f.layout, f.encoding, mapped))
    return out


def _write_outputs(run_dir: Path, run_id: str, summary: dict, chars: CharacterStage, validation,
                   timings: dict, quarantine: list | None = None) -> None:
    summary["reports"] = {"gaiji_fidelity": {k: str(v) for k, v in chars.write_report(run_dir / "report", run_id).items()}}
    if validation is not None:
        from kikan_hub.validation.engine import quarantine_counts
        from kikan_hub.validation.reports import write_reports

        t0 = time.perf_counter()
        summary["quarantine_counts"] = quarantine_counts(run_dir)
        written = write_reports(run_dir, validation, summary, quarantine=quarantine)
        summary["reports"]["validation"] = jsonable(written)
        timings["reports"] = time.perf_counter() - t0
    summary["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    checkpoint("summary:before_write")
    tmp = run_dir / "summary.json.tmp"
    # JSON all the way down: paths become strings, anything else unknown is a bug, not a repr
    tmp.write_text(json.dumps(jsonable(summary), ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, run_dir / "summary.json")


def jsonable(value):
    """Plain JSON types only: dicts, lists, str, numbers, bool, None (paths and dates as text)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (Path, dt.date, dt.datetime)):
        return str(value) if isinstance(value, Path) else value.isoformat()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, decimal.Decimal):  # hash totals: exact, as the trailer wrote them
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(f"summary value of type {type(value).__name__} is not JSON: {value!r}")


def _collect_control_values(f: ManifestFile, rtype: str, batch: pa.RecordBatch, state: _FileState) -> None:
    """Keep the data-field values trailers total over (hash totals).

    A record the reader could not parse (wrong length, bad bytes elsewhere) still carries the
    field in its raw bytes when the record is long enough: take it from there, so the hash
    total reconciles over every record the old system wrote, not only the clean ones.
    """
    for rt in f.layout.record_types:
        of = rt.control.hash_total_of if rt.control else None
        if not of or of not in batch.schema.names:
            continue
        col = batch.column(of)
        missing = np.flatnonzero(pc.is_null(col).to_numpy(zero_copy_only=False))
        if len(missing) and f.layout.format == "fixed":
            fld = next((x for x in f.layout.record_type(rtype).fields if x.name == of), None)
            if fld is not None:
                values = col.to_pylist()
                raws = batch.column("_raw")
                for i in missing:
                    raw = raws[int(i)].as_py()
                    piece = raw[fld.start - 1: fld.start - 1 + fld.length]
                    if len(piece) == fld.length and piece.isdigit():
                        values[i] = piece.decode("ascii")
                col = pa.array(values, col.type)
        # Fold into a running total (one value) instead of keeping every batch's column:
        # holding them grew memory with the input size (~14 bytes per record for a 10-digit key).
        total = sum_values([col, *state.data_values[of]])
        state.data_values[of] = [pa.array([total], pa.decimal128(38, max(0, -total.as_tuple().exponent)))]
