"""Write the 税 extract as the fictional vendor delivers it: one CP932 CSV per table (header row, CRLF,
dates YYYYMMDD, 建築年月日 as era code + YYMMDD), the legacy layout of each file, the mapping to the
canonical tables and a rehearsal manifest; and the ground truth (rows that must load, planted defects).

The vendor's 税 files mirror the ISL items one column per item (an assumption of the sample: the
real vendor layout would be mapped the same way), so the layouts are derived from the definitions.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from kikan_hub.layouts.isl import Table, get_table
from kikan_hub.layouts.types import arrow_type
from kikan_hub.sample.cp932w import encode as cp932_encode

ERA_CODES = {"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}


def _file_id(table_id: str) -> str:
    return table_id.upper()


def _field(it, column: int) -> dict:
    f = {"name": it.id, "label": it.name, "column": column}
    if it.type == "digits":
        f["type"] = "digits"
    elif it.type == "integer":
        f.update(type="integer", sign="leading")
    elif it.type in ("date", "wareki_date"):
        f.update(type="date", date_format="western" if it.type == "date" else "era_code")
    else:                   # text, kana, code, flag (1/0) and decimal ("123.45"): the mapping casts them
        f["type"] = "text"
    return f


def layout_for(table: Table) -> dict:
    return {"layout": f"KASO-{_file_id(table.id)}", "description": f"架空システム 税 {table.name} (CSV)",
            "format": "delimited", "encoding": "cp932", "terminator": "crlf", "delimiter": ",", "quote": '"',
            "header": [it.id for it in table.items], "era_codes": ERA_CODES,   # the CSV's first line, checked
            "record_types": [{"name": "data", "code": "D", "role": "data",
                              "fields": [_field(it, i) for i, it in enumerate(table.items, 1)]}]}


def _cell(it, v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, dt.date):
        return v.strftime("%Y%m%d")
    return str(v)


def _column_text(it, vals: list) -> list[str]:
    """One column's cells as _cell writes them, with a fast path per column type (the city's tax rows
    run to millions of cells)."""
    kinds = {type(v) for v in vals}
    kinds.discard(type(None))
    if kinds <= {str}:
        return ["" if v is None else v for v in vals]
    if kinds <= {int}:
        return ["" if v is None else str(v) for v in vals]
    if kinds <= {dt.date}:
        return ["" if v is None else f"{v.year:04d}{v.month:02d}{v.day:02d}" for v in vals]
    return [_cell(it, v) for v in vals]


def _csv_bytes(table: Table, rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow([it.id for it in table.items])
    columns = [_column_text(it, [r.get(it.id) for r in rows]) for it in table.items]
    w.writerows(zip(*columns))
    return cp932_encode(buf.getvalue())


def _truth(table: Table, rows: list[dict]) -> pa.Table:
    cols = {}
    for col in table.columns:
        if col.role != "value":
            continue
        it = col.item
        vals = [r.get(it.id) for r in rows]
        if it.type == "wareki_date":
            typ = pa.string()                # the literal as written; the ISO date comes from the mapping
        else:
            typ = arrow_type(col)
            if it.type == "decimal":
                vals = [None if v is None else Decimal(str(v)) for v in vals]
        cols[it.id] = pa.array(vals, type=typ)
    return pa.table(cols)


def write_extract(out_dir: Path, rows: dict[str, list[dict]], planted: list[dict]) -> dict:
    zdir, tdir = out_dir / "zei", out_dir / "truth" / "zei"
    zdir.mkdir(parents=True, exist_ok=True)
    tdir.mkdir(parents=True, exist_ok=True)
    files, targets, summary = [], [], {}
    for table_id in sorted(rows):
        table = get_table(table_id)
        fid = _file_id(table_id)
        layout_name = f"layout_{table_id}.yaml"
        (zdir / layout_name).write_text(yaml.safe_dump(layout_for(table), allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")
        data = _csv_bytes(table, rows[table_id])
        (zdir / f"{fid}.CSV").write_bytes(data)
        files.append({"id": fid, "path": f"{fid}.CSV", "layout": layout_name, "encoding": "cp932"})
        cols = {}
        for it in table.items:
            spec = {"from": it.id}
            if it.type in ("date", "wareki_date"):
                spec["date"] = "western" if it.type == "date" else "era_code"
            cols[it.id] = spec
        targets.append({"table": table_id, "source": {"file": fid, "record_type": "data"}, "columns": cols})
        pq.write_table(_truth(table, rows[table_id]), tdir / f"{table_id}.parquet")
        summary[table_id] = {"rows": len(rows[table_id]), "sha256": hashlib.sha256(data).hexdigest()}
    (zdir / "mapping.yaml").write_text(yaml.safe_dump({"targets": targets}, allow_unicode=True, sort_keys=False),
                                       encoding="utf-8")
    (zdir / "manifest.yaml").write_text(yaml.safe_dump({
        "name": "サンプル移行リハーサル (税)", "source_system": "架空システム 税 (架空)", "mapping": "mapping.yaml",
        "unresolved_gaiji": "quarantine", "files": files}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tdir / "defects.json").write_text(json.dumps(planted, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    return {"tables": summary, "defects": len(planted), "manifest": "zei/manifest.yaml"}
