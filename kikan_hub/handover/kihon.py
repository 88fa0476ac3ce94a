"""デジタル庁 基本データリスト-style CSV per 業務 (UTF-8, a header row of the list's item names).

One file per canonical table of the chosen 業務 (``--gyomu``; default every 業務 the hub has,
shipped or from KIKAN_DEFINITIONS_PATH). A 業務 may write its own item-name table —
``export/kihon_data_list_<gyomu_id>.yaml`` beside its ISL definition (住民記録:
``layouts/intermediate_standard/export/kihon_data_list_juki.yaml``, which says item by item
what follows public sources and what is assumed) — and then its files, their names and columns
are that table's. Every other table is written with the names of its ISL definition: the
データ項目名称 of each item, ``〇〇_和暦表記`` / ``〇〇_不詳`` … for what a 和暦 item derives
(marked assumed), in definition order, file ``<業務名>_<テーブル名>.csv``.

This format is for handing data to a standard-conforming system; it is not the hub's lossless
round-trip format (no lineage, null and empty text both written as an empty field) — use
``--format csv`` for that. The manifest still carries counts and SHA-256 per file.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import Engine

from kikan_hub.handover.charpolicy import CharPolicy
from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.export import _FileWriter, layout_info, select_tables, stream_rows
from kikan_hub.handover.manifest import CHUNK_RECORDS, FORMAT_ID, write_manifest
from kikan_hub.handover.render import _date, _decimal
from kikan_hub.handover.spec import file_columns, norm_encoding
from kikan_hub.layouts.definitions_path import extra_folders
from kikan_hub.layouts.isl import DEFINITIONS_DIR, Column, Table, all_tables, load_definitions

MAPPING = DEFINITIONS_DIR / "export" / "kihon_data_list_juki.yaml"
MAPPING_GLOB = "kihon_data_list_*.yaml"
# What a derived column of a 和暦 item is called in the list (the juki table's words: 〇〇_和暦表記, 〇〇_不詳).
ROLE_NAMES = {"literal": "_和暦表記", "unknown": "_不詳", "wareki": "_和暦", "unknown_day": "_日不詳",
              "non_calendar": "_暦にない日"}


@dataclass
class FileSpec:
    """One CSV of the list: which table, which columns under which names, and where the names come from."""
    file: str
    table: Table
    columns: list[dict]              # {column, name, assumed}
    source: dict = field(default_factory=dict)   # the item-name table (path, version, sha256) or {"derived": …}


def export_dirs() -> list[Path]:
    """Where item-name tables may be: the shipped definitions' export/ and each KIKAN_DEFINITIONS_PATH folder's."""
    return [DEFINITIONS_DIR / "export", *(f / "export" for f in extra_folders())]


def load_mapping(path: Path = MAPPING) -> dict:
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise HandoverError(f"{path}: 基本データリストの項目対応表を読めません: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise HandoverError(f"{path}: 基本データリストの項目対応表には files: [{{file, table, columns}}] が要ります")
    tables = all_tables()
    for f in data["files"]:
        if f.get("table") not in tables:
            raise HandoverError(f"{path}: テーブル {f.get('table')!r} は ISL 定義にありません")
        cols = {c.name for c in tables[f["table"]].columns}
        missing = [c["column"] for c in f["columns"] if c["column"] not in cols]
        if missing:
            raise HandoverError(f"{path}: {f['table']} に列 {missing} がありません")
    return data


def written_specs() -> dict[str, FileSpec]:
    """table id → the file an item-name table (data) writes for it."""
    out: dict[str, FileSpec] = {}
    tables = all_tables()
    for d in export_dirs():
        for path in sorted(d.glob(MAPPING_GLOB)) if d.is_dir() else []:
            data = load_mapping(path)
            source = {"mapping": path.name, "gyomu_id": data.get("gyomu_id"), "version": data.get("version"),
                      "provenance": data.get("provenance"), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
            for f in data["files"]:
                out[f["table"]] = FileSpec(f["file"], tables[f["table"]], list(f["columns"]), source)
    return out


def _derived_name(col: Column) -> str:
    return col.item.name + ROLE_NAMES.get(col.role, "") if col.role != "value" else col.item.name


def derived_spec(table: Table) -> FileSpec:
    """The file of a table no item-name table covers: its definition's item names, in definition order."""
    gyomu = next((d.gyomu for d in load_definitions().values() if d.gyomu_id == table.gyomu_id), table.gyomu_id)
    cols = [{"column": c.name, "name": _derived_name(c), "assumed": c.role != "value"}
            for c in table.columns if c.role != "lineage"]
    names = [c["name"] for c in cols]
    for c in cols:   # two items of one name (a definition may say 住所 twice): keep the header unambiguous
        if names.count(c["name"]) > 1:
            c["name"] = f"{c['name']}({c['column']})"
    return FileSpec(f"{gyomu}_{table.name}.csv", table, cols, {"derived": "ISL definition item names (データ項目名称)"})


def file_specs(gyomu: tuple[str, ...] = ()) -> list[FileSpec]:
    """The files of the chosen 業務, in definition order: written item-name tables first where there is one."""
    written = written_specs()
    out = [written.get(t.id) or derived_spec(t) for t in select_tables(gyomu)]
    files = [s.file for s in out]
    dup = sorted({f for f in files if files.count(f) > 1})
    if dup:
        raise HandoverError(f"基本データリストのファイル名が重なります: {dup} (項目対応表の file を変えてください)")
    return out


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


def export_kihon_data_list(engine: Engine, out_dir: Path, encoding: str = "utf-8", fold: str = "none",
                           gyomu: tuple[str, ...] = ()) -> dict:
    if norm_encoding(encoding) != "utf-8":
        raise HandoverError("基本データリスト形式は UTF-8 で出力します (--encoding utf-8)")
    if fold.strip().lower() != "none":
        raise HandoverError("基本データリスト形式は縮退しません (--fold none): 文字は UTF-8 でそのまま出力します")
    specs = file_specs(tuple(gyomu))
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise HandoverError(f"出力先 {out_dir} は空ではありません (上書きしません: 空のディレクトリを指定してください)")
    out_dir.mkdir(parents=True, exist_ok=True)
    policy = CharPolicy("utf-8", "none")
    started = dt.datetime.now(dt.timezone.utc)
    files = []
    runs: set[str] = set()
    problems: list[str] = []
    for spec in specs:
        table = spec.table
        all_cols = {c.id: c for c in file_columns(table)}
        cols = [all_cols[c["column"]] for c in spec.columns] + [all_cols["_run_id"]]
        path = out_dir / spec.file
        w = _FileWriter(path)
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\r\n")
        wr.writerow([c["name"] for c in spec.columns])
        w.write_raw(buf.getvalue().encode("utf-8"))
        n, chunk, first = 0, [], 1
        for part in stream_rows(engine, table, cols):
            for row in part:
                n += 1
                if row[-1]:
                    runs.add(row[-1])
                buf.seek(0)
                buf.truncate()
                wr.writerow([_cell(c, v, policy, problems, f"{spec.file} レコード{n}") for c, v in zip(cols[:-1], row)])
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
                                   "assumed": bool(c.get("assumed", False))} for c in spec.columns],
                      "item_names": spec.source,
                      "primary_key": list(table.primary_key), "order": "primary key", "chunks": w.chunks})
    if problems:
        for f in files:
            (out_dir / f["path"]).unlink(missing_ok=True)
        raise HandoverError(f"{len(problems):,} 件の値を出力できませんでした", problems[:50])
    mappings = {s.source["mapping"]: s.source for s in specs if "mapping" in s.source}
    manifest = {
        "format": FORMAT_ID,
        "title": "デジタル庁 基本データリスト形式 CSV — kikan-hub",
        "layout": {"name": "基本データリスト 項目対応 — kikan-hub", "mappings": list(mappings.values()),
                   "definitions": layout_info([s.table for s in specs])},
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
