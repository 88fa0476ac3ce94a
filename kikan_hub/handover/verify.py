"""`kikan verify-export`: prove a handover directory re-imports to the store's canonical content.

1. Files against the manifest: each present, its byte count and SHA-256. A changed file is
   located: the first chunk (CHUNK_RECORDS records) whose SHA-256 differs, then the record and
   item, by rendering that chunk again from the store and comparing byte by byte.
2. Record counts re-read from each file against the manifest (a wrong count names the record).
3. Re-import into a scratch store (a temporary SQLite unless given) and compare per table the
   row count and ``table_content_hash`` (lineage included) with the source store. For a folded
   export the expected hash is that of the source rows with the recorded folds applied, so
   every difference must be one of the recorded folds.
"""
from __future__ import annotations

import csv
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from kikan_hub.gaiji.fold import FoldRecord
from kikan_hub.handover.charpolicy import CharPolicy, apply_folds
from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.export import stream_rows
from kikan_hub.handover.importer import import_isl, integrity_problems
from kikan_hub.handover.manifest import read_manifest, sha256_file
from kikan_hub.handover.reader import columns_of, iter_fixed_records
from kikan_hub.handover.render import RowRenderer
from kikan_hub.handover.spec import file_columns
from kikan_hub.layouts.isl import all_tables
from kikan_hub.store.content import _norm, table_content_hash
from kikan_hub.store.engine import open_engine


@dataclass
class TableCheck:
    table: str
    file: str
    manifest_records: int
    source_records: int | None = None
    reimport_records: int | None = None
    expected_sha256: str | None = None
    reimport_sha256: str | None = None
    folds: int = 0

    @property
    def ok(self) -> bool:
        return (self.source_records == self.reimport_records == self.manifest_records
                and self.expected_sha256 is not None and self.expected_sha256 == self.reimport_sha256)


@dataclass
class VerifyReport:
    directory: Path
    problems: list[str] = field(default_factory=list)
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(t.ok for t in self.tables)


# -- locating a change ------------------------------------------------------------------------
def _renderer(manifest: dict, entry: dict):
    table = all_tables()[entry["table"]]
    cols = file_columns(table, entry.get("encoding", "utf-8"))
    ids = [c.id for c in cols]
    fold = (manifest.get("character_policy") or {}).get("fold", "none")
    r = RowRenderer(cols, entry.get("format", manifest.get("file_format", "csv")),
                    CharPolicy(entry.get("encoding", "utf-8"), fold), [ids.index(k) for k in table.primary_key])
    return table, cols, r


def locate_change(directory: Path, manifest: dict, entry: dict, engine: Engine | None) -> str:
    path = directory / entry["path"]
    data_len = path.stat().st_size
    with path.open("rb") as fh:
        chunks = entry.get("chunks") or []
        first_off = chunks[0]["offset"] if chunks else entry["bytes"]
        head = fh.read(first_off)
        bad = None
        for ch in chunks:
            fh.seek(ch["offset"])
            if hashlib.sha256(fh.read(ch["bytes"])).hexdigest() != ch["sha256"]:
                bad = ch
                break
    if engine is None:
        return "" if bad is None else f" — レコード{bad['first_record']}〜{bad['first_record'] + bad['records'] - 1} の範囲"
    table, cols, renderer = _renderer(manifest, entry)
    if entry.get("header_rows") and head != renderer.header():
        return " — 見出し行 (1行目) が変わっています"
    if bad is None:
        if data_len > entry["bytes"]:
            return f" — 最終レコード{entry['records']} の後ろにデータが追加されています"
        return ""
    first, last = bad["first_record"], bad["first_record"] + bad["records"] - 1
    with path.open("rb") as fh:
        fh.seek(bad["offset"])
        actual = fh.read(bad["bytes"] + 4096)
    pos = 0
    rec_no = 0
    for part in stream_rows(engine, table, cols):
        for row in part:
            rec_no += 1
            if rec_no < first:
                continue
            if rec_no > last:
                break
            spans: list = []
            exp = renderer.render(row, rec_no, spans)
            got = actual[pos:pos + len(exp)]
            if got != exp:
                i = next((k for k in range(min(len(got), len(exp))) if got[k] != exp[k]), min(len(got), len(exp)))
                col = next((c for c, (s, e) in zip(cols, spans) if s <= i < e + 1), None)
                where = f" 項目 {col.name}({col.id})" if col else ""
                return (f" — レコード{rec_no} ({renderer.key(row)}){where} のバイト {i + 1} が違います"
                        f" (ファイル中の位置 {bad['offset'] + pos + i:,})")
            pos += len(exp)
        if rec_no > last:
            break
    return f" — レコード{first}〜{last} の範囲 (ストアの内容から再現できません: ストアが出力後に変わった可能性)"


def count_records(directory: Path, entry: dict) -> int:
    path = directory / entry["path"]
    if entry.get("format") == "fixed":
        return sum(arr.shape[0] for _, arr in iter_fixed_records(path, int(entry["record_length"])))
    import pyarrow as pa
    import pyarrow.csv as pacsv

    enc = entry.get("encoding", "utf-8")
    kihon = entry.get("format") == "kihon-data-list"
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding="utf8" if enc == "utf-8" else enc),
                                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                                convert_options=pacsv.ConvertOptions(
                                    column_types={(c.name if kihon else c.header): pa.string()
                                                  for c in columns_of(entry)}))
        return sum(b.num_rows for b in reader)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise HandoverError(f"{entry['path']}: CSV として読めません: {exc}") from None


# -- folds ------------------------------------------------------------------------------------
def load_folds(directory: Path, manifest: dict) -> dict[str, dict[int, dict[str, list[FoldRecord]]]]:
    """table → record_no → column → folds (in file order)."""
    out: dict = {}
    info = manifest.get("folds") or {}
    if not info.get("records"):
        return out
    with (directory / info["file"]).open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            rec = FoldRecord(int(r["position"]), r["from"], r["to"], r["category"])
            out.setdefault(r["table"], {}).setdefault(int(r["record_no"]), {}).setdefault(r["column"], []).append(rec)
    return out


def folded_hash(engine: Engine, table_id: str, folds: dict[int, dict[str, list[FoldRecord]]]) -> tuple[int, str]:
    """table_content_hash (lineage included) of the source rows with the recorded folds applied."""
    table = all_tables()[table_id]
    cols = file_columns(table)
    ids = [c.id for c in cols]
    h = hashlib.sha256()
    n = 0
    for part in stream_rows(engine, table, cols):
        for row in part:
            n += 1
            f = folds.get(n)
            if f:
                row = list(row)
                for col, recs in f.items():
                    i = ids.index(col)
                    try:
                        row[i] = apply_folds(row[i], recs)
                    except (ValueError, TypeError) as exc:
                        raise HandoverError(f"{table_id} レコード{n} 項目 {col}: 記録された縮退がストアの値と合いません ({exc})") from None
            h.update("\x1f".join(_norm(v) for v in row).encode("utf-8"))
            h.update(b"\x1e")
    return n, h.hexdigest()


# -- the whole verification -------------------------------------------------------------------
def verify_export(directory: Path, engine: Engine, scratch_url: str | None = None) -> VerifyReport:
    directory = Path(directory)
    manifest = read_manifest(directory)
    rep = VerifyReport(directory)
    # 1. files: presence, size, SHA-256; locate a change
    file_problems = integrity_problems(directory, manifest)
    for p in file_problems:
        name = p.split(":", 1)[0]
        entry = next((f for f in manifest["files"] if f["path"] == name), None)
        detail = ""
        if entry is not None and (directory / name).is_file():
            try:
                roundtrip = manifest.get("file_format") in ("csv", "fixed")
                detail = locate_change(directory, manifest, entry, engine if roundtrip else None)
            except HandoverError as exc:
                detail = f" — {exc.message}"
        rep.problems.append(p + detail)
    bad_files = {p.split(":", 1)[0] for p in file_problems}
    # 2. record counts re-read from the files
    for f in manifest["files"]:
        if f["path"] in bad_files:
            continue
        try:
            n = count_records(directory, f)
        except HandoverError as exc:
            rep.problems.append(exc.message)
            continue
        chunk_total = sum(c["records"] for c in f.get("chunks", []))
        if n != f["records"]:
            rec = f"レコード{f['records'] + 1} 以降は manifest にありません" if n > f["records"] else f"レコード{n + 1} がファイルにありません"
            rep.problems.append(f"{f['path']}: manifest のレコード件数 {f['records']:,} がファイルの {n:,} 件と一致しません — {rec}")
        elif chunk_total != n:
            rep.problems.append(f"{f['path']}: manifest の chunks の件数合計 {chunk_total:,} がファイルの {n:,} 件と一致しません")
    total = sum(f["records"] for f in manifest["files"])
    if (manifest.get("totals") or {}).get("records", total) != total:
        rep.problems.append(f"manifest.json: totals.records {manifest['totals']['records']:,} が files の合計 {total:,} と一致しません")
    if rep.problems or manifest.get("file_format") not in ("csv", "fixed"):
        return rep   # 基本データリスト形式: files and counts only (it is not a round-trip format)
    # 3. re-import into a scratch store and compare content hashes
    folds = load_folds(directory, manifest)
    with tempfile.TemporaryDirectory(prefix="kikan-verify-") as tmp:
        scratch = open_engine(scratch_url or f"sqlite:///{Path(tmp) / 'reimport.db'}")
        try:
            import_isl(directory, scratch, work_dir=Path(tmp))
            for f in manifest["files"]:
                t = f["table"]
                tf = folds.get(t, {})
                chk = TableCheck(t, f["path"], f["records"], folds=sum(len(v) for r in tf.values() for v in r.values()))
                if tf:
                    chk.source_records, chk.expected_sha256 = folded_hash(engine, t, tf)
                else:
                    chk.source_records, chk.expected_sha256 = table_content_hash(engine, t, include_lineage=True)
                chk.reimport_records, chk.reimport_sha256 = table_content_hash(scratch, t, include_lineage=True)
                rep.tables.append(chk)
                if not chk.ok:
                    rep.problems.append(
                        f"{f['path']}: 再取込みの内容がストアと一致しません (件数 ストア {chk.source_records:,} / "
                        f"manifest {chk.manifest_records:,} / 再取込み {chk.reimport_records:,}; "
                        f"ハッシュ {chk.expected_sha256[:12]}… / {chk.reimport_sha256[:12]}…)")
        finally:
            scratch.dispose()
    return rep


__all__ = ["verify_export", "VerifyReport", "TableCheck", "sha256_file"]
