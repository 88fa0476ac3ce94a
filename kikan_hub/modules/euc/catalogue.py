"""The EUC catalogue: what a clerk can extract, derived from the loaded ISL definitions.

Every canonical table of every 業務 the hub has — shipped, or from a folder on
KIKAN_DEFINITIONS_PATH — with its extractable columns (the ids an extraction definition's
``items``, ``filters`` and ``sort`` name), their データ項目名称, types, code tables and
``personal`` marks (what masking reads). Nothing here lists a 業務 or a table by hand.
"""
from __future__ import annotations

from kikan_hub.layouts.isl import Table, all_tables, load_definitions
from kikan_hub.modules import shien
from kikan_hub.modules.euc.definition import ExtractionDefinition


def _headers(table: Table) -> dict[str, str]:
    """Column id → the header an extraction writes for it (header: name), the same words as the CSV."""
    cols = [c.name for c in table.columns if c.role != "lineage"]
    d = ExtractionDefinition(name="catalogue", table=table.id, items=cols)
    return dict(zip(cols, d.headers()))


def catalogue(gyomu: str | None = None) -> list[dict]:
    """One entry per table, in definition order; ``gyomu`` (id or name) keeps one 業務."""
    names = {d.gyomu_id: d.gyomu for d in load_definitions().values()}
    out = []
    for t in all_tables().values():
        if gyomu and gyomu not in (t.gyomu_id, names.get(t.gyomu_id)):
            continue
        headers = _headers(t)
        out.append({
            "table": t.id, "name": t.name, "gyomu_id": t.gyomu_id, "gyomu": names.get(t.gyomu_id, t.gyomu_id),
            "description": t.description, "primary_key": list(t.primary_key),
            "history": "rireki_no" in t.primary_key,          # as_of (時点) works on history tables
            "scope": shien.SCOPE if t.id in shien.SHIEN_TABLES else None,   # needed beyond the role
            "items": [{"id": c.name, "name": headers[c.name], "type": c.type, "item": c.item.id,
                       "code": c.item.code if c.role == "value" else None, "personal": c.item.personal}
                      for c in t.columns if c.role != "lineage"],
        })
    return out
