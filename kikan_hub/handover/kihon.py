"""デジタル庁 基本データリスト-style CSV for 住民基本台帳 (UTF-8, header row of the list's item names).

The item-name mapping is data: ``layouts/intermediate_standard/export/kihon_data_list_juki.yaml``
(which says item by item what follows public sources and what is assumed). This format is
for handing data to a standard-conforming system; it is not the hub's lossless round-trip
format (no lineage, null and empty text both written as an empty field) — use
``--format csv`` for that. The manifest still carries counts and SHA-256 per file.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import yaml
from sqlalchemy import Engine

from kikan_hub.handover.charpolicy import CharPolicy
from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.export import _FileWriter, stream_rows
from kikan_hub.handover.manifest import CHUNK_RECORDS, FORMAT_ID, write_manifest
from kikan_hub.handover.render import _date, _decimal
from kikan_hub.handover.spec import file_columns, norm_encoding
from kikan_hub.layouts.isl import DEFINITIONS_DIR, get_table

MAPPING = DEFINITIONS_DIR / "export" / "kihon_data_list_juki.yaml"


def load_mapping(path: Path = MAPPING) -> dict:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    for f in data["files"]:
        cols = {c.name for c in get_table(f["table"]).columns}
        missing = [c["column"] for c in f["columns"] if c["column"] not in cols]
        if missing:
            raise HandoverError(f"{path}: {f['table']} に列 {missing} がありません")
    return data


def _cell(col, v, policy: CharPolicy, problems: list, where: str) -> str:
    if v is None:
        return ""
    if col.type == "text":
        s = v if isinstance(v, str) else str(v)
        if s.isascii():
            return s
        b, folds, bad = policy.convert(s)
        if bad:
            problems.append(f"{where} 項目 {col.name}: " + ", ".join(c.describe() for c in bad))
        if folds:
            raise HandoverError("基本データリスト形式では縮退を使いません (--fold none)")
        return b.decode("utf-8")
    if col.type == "date":
        return _date(v).isoformat()
    if col.type == "flag":
        return "1" if v else "0"
    if col.type == "decimal":
        return format(_decimal(v, col.scale), "f")
    return str(v)


def export_kihon_data_list(engine: Engine, out_dir: Path, encoding: str = "utf-8", fold: str = "none") -> dict:
    if norm_encoding(encoding) != "utf-8":
        raise HandoverError("基本データリスト形式は UTF-8 で出力します (--encoding utf-8)")
    if fold.strip().lower() != "none":
        raise HandoverError("基本データリスト形式は縮退しません (--fold none): 文字は UTF-8 でそのまま出力します")
    mapping = load_mapping()
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise HandoverError(f"出力先 {out_dir} は空ではありません (上書きしません: 空のディレクトリを指定してください)")
    out_dir.mkdir(parents=True, exist_ok=True)
    policy = CharPolicy("utf-8", "none")
    started = dt.datetime.now(dt.timezone.utc)
    files = []
    runs: set[str] = set()
    problems: list[str] = []
    for spec in mapping["files"]:
        table = get_table(spec["table"])
        all_cols = {c.id: c for c in file_columns(table)}
        cols = [all_cols[c["column"]] for c in spec["columns"]] + [all_cols["_run_id"]]
        path = out_dir / spec["file"]
        w = _FileWriter(path)
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\r\n")
        wr.writerow([c["name"] for c in spec["columns"]])
        w.write_raw(buf.getvalue().encode("utf-8"))
        n, chunk, first = 0, [], 1
        for part in stream_rows(engine, table, cols):
            for row in part:
                n += 1
                if row[-1]:
                    runs.add(row[-1])
                buf.seek(0)
                buf.truncate()
                wr.writerow([_cell(c, v, policy, problems, f"{spec['file']} レコード{n}") for c, v in zip(cols[:-1], row)])
                chunk.append(buf.getvalue().encode("utf-8"))
                if len(chunk) >= CHUNK_RECORDS:
                    w.write_chunk(first, chunk)
                    chunk, first = [], n + 1
        if chunk:
            w.write_chunk(first, chunk)
        w.close()
        files.append({"path": path.name, "table": table.id, "table_name": table.name, "gyomu_id": table.gyomu_id,
                      "records": n, "bytes": w.bytes, "sha256": w.sha.hexdigest(), "encoding": "utf-8",
                      "format": "kihon-data-list", "header_rows": 1, "record_terminator": "crlf",
                      "columns": [{"id": c["column"], "name": c["name"], "type": all_cols[c["column"]].type,
                                   "assumed": bool(c.get("assumed", False))} for c in spec["columns"]],
                      "primary_key": list(table.primary_key), "order": "primary key", "chunks": w.chunks})
    if problems:
        for f in files:
            (out_dir / f["path"]).unlink(missing_ok=True)
        raise HandoverError(f"{len(problems):,} 件の値を出力できませんでした", problems[:50])
    manifest = {
        "format": FORMAT_ID,
        "title": "デジタル庁 基本データリスト形式 CSV (住民基本台帳) — kikan-hub",
        "layout": {"name": "基本データリスト (住民基本台帳) 項目対応 — kikan-hub", "mapping": MAPPING.name,
                   "version": mapping.get("version"), "provenance": mapping.get("provenance"),
                   "sha256": hashlib.sha256(MAPPING.read_bytes()).hexdigest()},
        "exported_at": started.isoformat(timespec="seconds"),
        "store": engine.url.render_as_string(hide_password=True),
        "file_format": "kihon-data-list", "encoding": "utf-8",
        "character_policy": policy.describe(),
        "lineage": {"included": False, "note": "基本データリスト形式には系統情報列を含めない (assumed)"},
        "source_run_ids": sorted(runs), "files": files, "folds": None,
        "totals": {"files": len(files), "records": sum(f["records"] for f in files)},
    }
    write_manifest(out_dir, manifest)
    return manifest
