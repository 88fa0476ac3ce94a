"""The mapping file (YAML): how each legacy record type becomes rows of a canonical table."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kikan_hub.layouts.errors import LayoutError

COLUMN_KEYS = {"from", "const", "code_map", "date", "unknown_from", "kana", "trim"}
DATE_FORMATS = {"western", "era_code", "era_letter"}


@dataclass(frozen=True)
class ColumnSpec:
    target: str
    source: str | None = None
    const: Any = None
    code_map: dict[str, str] | None = None
    code_map_name: str | None = None
    date: str | None = None
    unknown_from: str | None = None
    kana: str | None = None


@dataclass(frozen=True)
class TargetSpec:
    table: str
    file: str
    record_type: str
    columns: tuple[ColumnSpec, ...]


@dataclass(frozen=True)
class MappingSpec:
    path: Path
    targets: tuple[TargetSpec, ...]
    code_maps: dict[str, dict[str, str]] = field(default_factory=dict)

    def targets_for(self, file_id: str, record_type: str) -> list[TargetSpec]:
        return [t for t in self.targets if t.file == file_id and t.record_type == record_type]


def _shape(path: Path, value: Any, kind: type, where: str, expected: str) -> None:
    """A YAML shape the loader cannot use is a usage error naming where, not an AttributeError."""
    if not isinstance(value, kind):
        got = type(value).__name__ if value is not None else "nothing"
        raise LayoutError(path, f"{where}: expected {expected}, got {got} {value!r:.60}")


def load_mapping(path: Path) -> MappingSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LayoutError(path, f"マッピングファイルを開けません: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LayoutError(path, f"YAML として読めません (line {mark.line + 1 if mark else '?'}): {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise LayoutError(path, "a mapping needs a list of targets: [{table, source: {file, record_type}, columns}]")
    code_maps = {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in (data.get("code_maps") or {}).items()}
    targets = []
    for i, t in enumerate(data["targets"], 1):
        _shape(path, t, dict, f"targets[{i}]", "a mapping {table, source: {file, record_type}, columns}")
        src = t.get("source") or {}
        _shape(path, src, dict, f"targets[{i}].source", "a mapping {file, record_type}")
        if not t.get("table") or not src.get("file") or not src.get("record_type"):
            raise LayoutError(path, f"target {i}: needs table and source: {{file, record_type}}")
        _shape(path, t.get("columns") or {}, dict, f"targets[{i}] ({t['table']}).columns",
               "a mapping of column name → {from: FIELD, …} or FIELD")
        cols = []
        for name, c in (t.get("columns") or {}).items():
            if isinstance(c, str):
                c = {"from": c}
            _shape(path, c, dict, f"target {t['table']}, column {name}", "a field name or {from: FIELD, …}")
            unknown = set(c) - COLUMN_KEYS
            if unknown:
                raise LayoutError(path, f"target {t['table']}, column {name}: unknown keys {sorted(unknown)}")
            cm = c.get("code_map")
            cm_name = None
            if isinstance(cm, str):
                if cm not in code_maps:
                    raise LayoutError(path, f"target {t['table']}, column {name}: no code_maps entry {cm!r}")
                cm_name, cm = cm, code_maps[cm]
            elif isinstance(cm, dict):
                cm = {str(a): str(b) for a, b in cm.items()}
            if c.get("date") and c["date"] not in DATE_FORMATS:
                raise LayoutError(path, f"target {t['table']}, column {name}: date must be one of {sorted(DATE_FORMATS)}")
            if "from" not in c and "const" not in c:
                raise LayoutError(path, f"target {t['table']}, column {name}: needs from or const")
            cols.append(ColumnSpec(target=str(name), source=c.get("from"), const=c.get("const"), code_map=cm,
                                   code_map_name=cm_name, date=c.get("date"), unknown_from=c.get("unknown_from"),
                                   kana=c.get("kana")))
        targets.append(TargetSpec(table=str(t["table"]), file=str(src["file"]), record_type=str(src["record_type"]),
                                  columns=tuple(cols)))
    return MappingSpec(path=path, targets=tuple(targets), code_maps=code_maps)
