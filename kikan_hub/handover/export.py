"""`kikan export isl`: stream canonical tables into 中間標準レイアウト files + manifest.json.

Memory is bounded: rows come from the store through a server-side cursor (PostgreSQL) /
a stepping cursor (SQLite) in ``yield_per`` partitions, are rendered and written one chunk
(CHUNK_RECORDS records) at a time. Only the per-chunk SHA-256 list and the fold records are
kept until the end (folds are written to folds.csv as they occur).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import Engine, select

from kikan_hub.handover.charpolicy import CharPolicy
from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.manifest import CHUNK_RECORDS, FOLDS_FILE, FOLDS_HEADER, FORMAT_ID, MANIFEST, write_manifest
from kikan_hub.handover.render import RowRenderer
from kikan_hub.handover.spec import ENCODINGS, FOLDS, FORMATS, FileColumn, file_columns, norm_encoding, record_length
from kikan_hub.layouts.isl import DEFINITIONS_DIR, Table, all_tables, load_definitions
from kikan_hub.store.schema import build_metadata

FETCH_ROWS = 5_000
Progress = Callable[[str, int], None]


@dataclass
class ExportOptions:
    fmt: str = "csv"
    encoding: str = "utf-8"
    fold: str = "none"
    gyomu: tuple[str, ...] = ()

    def checked(self) -> "ExportOptions":
        fmt = self.fmt.strip().lower()
        if fmt not in FORMATS:
            raise HandoverError(f"--format {self.fmt!r} は使えません: {', '.join(FORMATS)} (または kihon-data-list)")
        enc = norm_encoding(self.encoding)
        fold = self.fold.strip().lower().replace("-", "").replace("_", "")
        if fold not in FOLDS:
            raise HandoverError(f"--fold {self.fold!r} は使えません: {', '.join(FOLDS)}")
        return ExportOptions(fmt, enc, fold, tuple(self.gyomu))


def select_tables(gyomu: Iterable[str]) -> list[Table]:
    tables = all_tables()
    wanted = [g.strip() for g in gyomu if g and g.strip()]
    if not wanted:
        return list(tables.values())
    known = sorted({t.gyomu_id for t in tables.values()})
    names = {d.gyomu: d.gyomu_id for d in load_definitions().values()}
    ids = set()
    for g in wanted:
        gid = names.get(g, g)
        if gid not in known:
            raise HandoverError(f"--gyomu {g!r} はありません: {', '.join(known)}")
        ids.add(gid)
    return [t for t in tables.values() if t.gyomu_id in ids]


def layout_info(tables: list[Table]) -> dict:
    out = {}
    for d in load_definitions().values():
        if any(t.gyomu_id == d.gyomu_id and t.id in {x.id for x in d.tables} for t in tables):
            # keyed by 業務 id: an extra folder's file may share a file name with a shipped one
            out[d.gyomu_id] = {"gyomu": d.gyomu, "gyomu_id": d.gyomu_id, "version": d.version,
                               "definition": d.path.name, "shipped": d.path.parent == DEFINITIONS_DIR,
                               "sha256": hashlib.sha256(d.path.read_bytes()).hexdigest(),
                               "tables": [t.id for t in d.tables]}
    return out


def gyomu_totals(files: list[dict], layouts: dict) -> dict:
    """Per 業務: its name, how many tables (files) and records the handover holds — an empty 業務 is
    there with 0 records, so the receiver can tell "empty" from "missing"."""
    out: dict[str, dict] = {}
    for f in files:
        g = out.setdefault(f["gyomu_id"], {"gyomu": (layouts.get(f["gyomu_id"]) or {}).get("gyomu", f["gyomu_id"]),
                                           "tables": 0, "records": 0})
        g["tables"] += 1
        g["records"] += f["records"]
    return dict(sorted(out.items()))


def stream_rows(engine: Engine, table: Table, cols: list[FileColumn], fetch: int = FETCH_ROWS):
    """Rows of one canonical table in primary-key order, in partitions of ``fetch`` rows."""
    sql = build_metadata().tables[table.id]
    stmt = select(*[sql.c[c.id] for c in cols]).order_by(*[sql.c[k] for k in table.primary_key])
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=fetch).execute(stmt)
        for part in result.partitions():
            yield part


class _FileWriter:
    """Writes a file chunk by chunk, keeping the whole-file and per-chunk SHA-256."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh = path.open("wb")
        self.sha = hashlib.sha256()
        self.bytes = 0
        self.chunks: list[dict] = []

    def write_raw(self, b: bytes) -> None:
        self.fh.write(b)
        self.sha.update(b)
        self.bytes += len(b)

    def write_chunk(self, first_record: int, records: list[bytes]) -> None:
        data = b"".join(records)
        self.chunks.append({"first_record": first_record, "records": len(records), "offset": self.bytes,
                            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        self.write_raw(data)

    def close(self) -> None:
        self.fh.close()


def _ucs(s: str | None) -> str:
    return "" if s is None else " ".join(f"U+{ord(c):04X}" for c in s)


def export_isl(engine: Engine, out_dir: Path, options: ExportOptions, progress: Progress | None = None,
               fetch: int = FETCH_ROWS) -> dict:
    """Export the selected canonical tables; returns the manifest (also written as manifest.json)."""
    opts = options.checked()
    tables = select_tables(opts.gyomu)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise HandoverError(f"出力先 {out_dir} は空ではありません (上書きしません: 空のディレクトリを指定してください)")
    out_dir.mkdir(parents=True, exist_ok=True)
    policy = CharPolicy(opts.encoding, opts.fold)
    ext = "csv" if opts.fmt == "csv" else "dat"
    started = dt.datetime.now(dt.timezone.utc)
    created: list[Path] = []
    files: list[dict] = []
    all_runs: set[str] = set()
    fold_totals: dict[str, int] = {}
    problems: list[str] = []
    problem_count = 0
    bad_chars: dict[str, int] = {}
    folds_path = out_dir / FOLDS_FILE
    created.append(folds_path)
    fold_fh = folds_path.open("w", encoding="utf-8", newline="")
    fold_csv = csv.writer(fold_fh, lineterminator="\r\n")
    fold_csv.writerow(FOLDS_HEADER)
    n_folds = 0
    try:
        for table in tables:
            cols = file_columns(table, opts.encoding)
            ids = [c.id for c in cols]
            renderer = RowRenderer(cols, opts.fmt, policy, [ids.index(k) for k in table.primary_key])
            run_idx = ids.index("_run_id")
            path = out_dir / f"{table.id}.{ext}"
            created.append(path)
            w = _FileWriter(path)
            runs: set[str] = set()
            table_folds: dict[str, int] = {}
            if opts.fmt == "csv":
                w.write_raw(renderer.header())
            rec_no = 0
            chunk: list[bytes] = []
            chunk_first = 1
            for part in stream_rows(engine, table, cols, fetch):
                for row in part:
                    rec_no += 1
                    rec = renderer.render(row, rec_no)
                    if renderer.problem_count == 0:
                        chunk.append(rec)
                    r = row[run_idx]
                    if r is not None:
                        runs.add(r)
                    if len(chunk) >= CHUNK_RECORDS:
                        w.write_chunk(chunk_first, chunk)
                        chunk, chunk_first = [], rec_no + 1
                if renderer.folds:
                    for rno, key, col, f in renderer.folds:
                        fold_csv.writerow([path.name, table.id, rno, key, col.id, col.name, f.position, f.from_,
                                           _ucs(f.from_), f.to, _ucs(f.to), f.category])
                        table_folds[f.category] = table_folds.get(f.category, 0) + 1
                        n_folds += 1
                    renderer.folds.clear()
                if progress:
                    progress(table.id, rec_no)
            if chunk and renderer.problem_count == 0:
                w.write_chunk(chunk_first, chunk)
            w.close()
            if renderer.problem_count:
                problem_count += renderer.problem_count
                problems.extend(p.describe(table.id) for p in renderer.problems)
                for k, v in renderer.bad_chars.items():
                    bad_chars[k] = bad_chars.get(k, 0) + v
                continue
            all_runs |= runs
            for k, v in table_folds.items():
                fold_totals[k] = fold_totals.get(k, 0) + v
            files.append({
                "path": path.name, "table": table.id, "table_name": table.name, "gyomu_id": table.gyomu_id,
                "records": rec_no, "bytes": w.bytes, "sha256": w.sha.hexdigest(), "encoding": opts.encoding,
                "format": opts.fmt, "header_rows": 1 if opts.fmt == "csv" else 0, "record_terminator": "crlf",
                "record_length": record_length(cols) if opts.fmt == "fixed" else None,
                "primary_key": list(table.primary_key), "order": "primary key",
                "columns": [c.as_dict() if opts.fmt == "fixed" else
                            {k: v for k, v in c.as_dict().items() if k not in ("width", "start")} for c in cols],
                "source_run_ids": sorted(runs), "folds": dict(sorted(table_folds.items())),
                "chunks": w.chunks,
            })
        fold_fh.close()
        if problem_count:
            shown = problems[:50]
            more = problem_count - len(shown)
            chars = "".join(f"\n  文字 {k} — {v:,} 箇所" for k, v in sorted(bad_chars.items(), key=lambda kv: -kv[1]))
            raise HandoverError(
                f"{problem_count:,} 件の値を出力できませんでした。引継ぎファイルは作成していません"
                f" (encoding {opts.encoding}, fold {opts.fold}, format {opts.fmt})"
                + (f"\n出力できない文字 ({len(bad_chars)} 種):{chars}\n値ごと (先頭 {len(shown)} 件):" if bad_chars else ""),
                shown + ([f"… ほか {more:,} 件"] if more > 0 else []))
        from kikan_hub.handover.manifest import sha256_file
        fsha, fbytes = sha256_file(folds_path)
        manifest = {
            "format": FORMAT_ID,
            "title": "中間標準レイアウト 引継ぎファイル (kikan-hub)",
            "layout": {"name": "中間標準レイアウト (kikan-hub definitions)", "definitions": layout_info(tables)},
            "exported_at": started.isoformat(timespec="seconds"),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "store": engine.url.render_as_string(hide_password=True),
            "file_format": opts.fmt,
            "encoding": opts.encoding,
            "character_policy": policy.describe(),
            "lineage": {"included": True, "columns": [c for c, _ in _lineage_cols()],
                        "note": "lineage columns are exported so that a re-import keeps them (content hash with lineage)"},
            "source_run_ids": sorted(all_runs),
            "files": files,
            "folds": {"file": FOLDS_FILE, "records": n_folds, "sha256": fsha, "bytes": fbytes,
                      "by_category": dict(sorted(fold_totals.items()))},
            "gyomu": gyomu_totals(files, layout_info(tables)),
            "totals": {"files": len(files), "records": sum(f["records"] for f in files)},
        }
        write_manifest(out_dir, manifest)
        return manifest
    except BaseException:
        if not fold_fh.closed:
            fold_fh.close()
        for p in created + [out_dir / MANIFEST]:
            p.unlink(missing_ok=True)
        raise


def _lineage_cols():
    from kikan_hub.layouts.isl import LINEAGE_COLUMNS
    return LINEAGE_COLUMNS


__all__ = ["ExportOptions", "export_isl", "select_tables", "stream_rows", "ENCODINGS", "FORMATS", "FOLDS"]
