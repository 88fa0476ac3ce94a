"""`kikan import isl`: load a handover directory into a fresh store.

Read per manifest → check each file's bytes and SHA-256 → parse back to typed Arrow → stage
Parquet → ``store.loader.load_run`` (one transaction). Lineage columns are loaded as exported,
so the rows keep their original ``_run_id`` / ``_source_*``; the import itself is one ledger
row (run id ``H`` + the manifest's SHA-256 prefix).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select

from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.manifest import MANIFEST, read_manifest, sha256_file
from kikan_hub.handover.reader import read_file
from kikan_hub.handover.spec import arrow_schema, file_columns
from kikan_hub.layouts.isl import all_tables
from kikan_hub.store.loader import StagedRun, load_run
from kikan_hub.store.migrate import upgrade
from kikan_hub.store.schema import build_metadata


def integrity_problems(directory: Path, manifest: dict) -> list[str]:
    """Missing files, wrong size, wrong SHA-256 (file level; verify locates the record)."""
    out = []
    entries = list(manifest.get("files", []))
    if manifest.get("folds"):
        entries.append({"path": manifest["folds"]["file"], "bytes": manifest["folds"]["bytes"],
                        "sha256": manifest["folds"]["sha256"]})
    for f in entries:
        p = directory / f["path"]
        if not p.is_file():
            out.append(f"{f['path']}: ファイルがありません (missing file)")
            continue
        sha, n = sha256_file(p)
        if n != f["bytes"]:
            out.append(f"{f['path']}: {n:,} バイトです (manifest は {f['bytes']:,} バイト)")
        elif sha != f["sha256"]:
            out.append(f"{f['path']}: SHA-256 が manifest と一致しません (file changed)")
    return out


def check_compatible(manifest: dict) -> None:
    if manifest.get("file_format") not in ("csv", "fixed"):
        raise HandoverError(f"file_format {manifest.get('file_format')!r} は取り込めません (csv / fixed のみ)")
    tables = all_tables()
    for f in manifest["files"]:
        t = tables.get(f["table"])
        if t is None:
            raise HandoverError(f"{f['path']}: テーブル {f['table']} はこのハブの ISL 定義にありません")
        want = [c.id for c in file_columns(t, f.get("encoding", "utf-8"))]
        have = [c["id"] for c in f["columns"]]
        if want != have:
            missing = [c for c in want if c not in have]
            extra = [c for c in have if c not in want]
            raise HandoverError(f"{f['path']}: 項目が ISL 定義 {f['table']} と一致しません"
                                f" (ない項目 {missing}, 余分な項目 {extra})")


def stage(directory: Path, manifest: dict, work: Path) -> tuple[dict[str, Path], dict[str, int]]:
    """Parse every file into a staged Parquet; check the record count against the manifest."""
    staged: dict[str, Path] = {}
    counts: dict[str, int] = {}
    tables = all_tables()
    for f in manifest["files"]:
        cols = file_columns(tables[f["table"]], f.get("encoding", "utf-8"))
        path = work / f"{f['table']}.parquet"
        n = 0
        with pq.ParquetWriter(path, arrow_schema(cols)) as w:
            for batch in read_file(directory, f):
                w.write_batch(batch)
                n += batch.num_rows
        if n != f["records"]:
            if n > f["records"]:
                raise HandoverError(f"{f['path']}: レコード件数 {n:,} が manifest の {f['records']:,} と一致しません"
                                    f" — レコード{f['records'] + 1} 以降は manifest にありません")
            raise HandoverError(f"{f['path']}: レコード件数 {n:,} が manifest の {f['records']:,} と一致しません"
                                f" — レコード{n + 1} がファイルにありません")
        staged[f["table"]] = path
        counts[f["table"]] = n
    return staged, counts


def import_isl(directory: Path, engine: Engine, work_dir: Path | None = None) -> dict:
    directory = Path(directory)
    manifest = read_manifest(directory)
    problems = integrity_problems(directory, manifest)
    if problems:
        raise HandoverError("引継ぎファイルが manifest と一致しません。取り込みません"
                            " (kikan verify-export で場所を確かめてください)", problems)
    check_compatible(manifest)
    upgrade(engine)
    md = build_metadata()
    with engine.connect() as conn:
        busy = [f"{f['table']} ({n:,} 行)" for f in manifest["files"]
                if (n := conn.execute(select(func.count()).select_from(md.tables[f["table"]])).scalar())]
    if busy:
        raise HandoverError("取り込み先のストアは空ではありません (import isl は新しいストアに取り込みます)", busy)
    started = dt.datetime.now(dt.timezone.utc)
    msha = hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
    run_id = "H" + msha[:15]
    with tempfile.TemporaryDirectory(prefix="kikan-import-", dir=work_dir) as tmp:
        tables, counts = stage(directory, manifest, Path(tmp))
        total = sum(counts.values())
        summary = {"run_id": run_id, "kind": "handover-import", "directory": str(directory),
                   "manifest_sha256": msha, "exported_at": manifest.get("exported_at"),
                   "source_run_ids": manifest.get("source_run_ids", []), "tables": counts,
                   "character_policy": manifest.get("character_policy")}
        ledger = {"run_id": run_id, "source_system": f"handover {manifest.get('exported_at', '')}",
                  "manifest_path": str(directory / MANIFEST), "manifest_sha256": msha, "started_at": started,
                  "records_read": total, "records_loaded": total, "records_quarantined": 0, "status": "loaded"}
        load_run(engine, StagedRun(run_id=run_id, source_keys=[], tables=tables, target_tables=sorted(tables)),
                 ledger, summary)
    return {"run_id": run_id, "tables": counts, "records": total}
