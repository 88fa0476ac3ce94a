"""Ground truth of the city sample: per record of every vendor file (records_city.parquet), the clean
canonical rows per table (truth/gyomu/<table>.parquet, typed like the store) and the summary."""
from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from kikan_hub.layouts.isl import Table
from kikan_hub.layouts.types import arrow_type
from kikan_hub.sample.city.engine import DEFECT_KEY

RECORDS_SCHEMA = pa.schema([("file_id", pa.string()), ("gyomu_id", pa.string()), ("table_id", pa.string()),
                            ("record_no", pa.int64()), ("offset", pa.int64()), ("record_type", pa.string()),
                            ("key", pa.string()), ("expected", pa.string()), ("defect_class", pa.string()),
                            ("expected_rule", pa.string())])


def key_of(table: Table, row: dict) -> str:
    """宛名番号 when the table has one, else the primary key as written ('|'-joined)."""
    if "atena_no" in (it.id for it in table.items) and row.get("atena_no"):
        return str(row["atena_no"])
    return "|".join("" if row.get(k) is None else str(row.get(k)) for k in table.primary_key)


def clean_table(table: Table, rows: list[dict]) -> pa.Table:
    """Rows without a planted defect, every value column of the ISL table (a 和暦 item: its ISO date)."""
    cols = {}
    keep = [r for r in rows if not r.get(DEFECT_KEY)]
    for col in table.columns:
        if col.role != "value":
            continue
        it = col.item
        vals = [r.get(it.id) for r in keep]
        typ = arrow_type(col)
        if it.type == "decimal":
            vals = [None if v is None else Decimal(v) for v in vals]
        cols[it.id] = pa.array(vals, type=typ)
    return pa.table(cols)


def record_rows(file_id: str, gyomu_id: str, table: Table, records: list[dict], rows: list[dict]) -> dict[str, list]:
    out: dict[str, list] = {name: [] for name in RECORDS_SCHEMA.names}
    for rec in records:
        row = rows[rec["row"]] if rec["row"] is not None else None
        d = row.get(DEFECT_KEY) if row else None
        out["file_id"].append(file_id)
        out["gyomu_id"].append(gyomu_id)
        out["table_id"].append(table.id)
        out["record_no"].append(rec["record_no"])
        out["offset"].append(rec["offset"])
        out["record_type"].append(rec["record_type"])
        out["key"].append(key_of(table, row) if row else None)
        out["expected"].append(d[2] if d else "loaded")
        out["defect_class"].append(d[0] if d else None)
        out["expected_rule"].append(d[1] if d else None)
    return out
