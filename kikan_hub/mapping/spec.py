"""The mapping file (YAML): how each legacy record type becomes rows of a canonical table."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kikan_hub.layouts.errors import LayoutError

COLUMN_KEYS = ("from", "const", "from_header", "from_trailer", "code_map", "date", "unknown_from", "kana")
SOURCE_KEYS = ("from", "const", "from_header", "from_trailer")   # exactly one of them per column
TOP_KEYS = ("targets", "code_maps")
TARGET_KEYS = ("table", "source", "columns")
TARGET_SOURCE_KEYS = ("file", "record_type")
DATE_FORMATS = {"western", "era_code", "era_letter", "kanji"}   # or a token pattern (era_dates.compile_pattern)
KANA_FORMS = ("fullwidth",)


def _unknown(data: dict, allowed: tuple[str, ...], path: Path, where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise LayoutError(path, f"{where}: unknown keys {unknown} — 使えるキー (allowed keys): {', '.join(allowed)}")


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
    from_header: str | None = None     # a field of the file's header record: one value for every row
    from_trailer: str | None = None    # a field of the file's trailer record

    @property
    def is_constant(self) -> bool:
        """One value for every row (a constant or a header/trailer value), typed like any other."""
        return self.source is None


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
    _unknown(data, TOP_KEYS, path, "mapping")
    code_maps = {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in (data.get("code_maps") or {}).items()}
    targets = []
    for i, t in enumerate(data["targets"], 1):
        if not isinstance(t, dict):
            raise LayoutError(path, f"target {i}: must be a mapping {{table, source: {{file, record_type}}, columns}}")
        _unknown(t, TARGET_KEYS, path, f"target {i}")
        src = t.get("source") or {}
        if not isinstance(src, dict):
            raise LayoutError(path, f"target {i}: source must be {{file, record_type}}")
        _unknown(src, TARGET_SOURCE_KEYS, path, f"target {i}, source")
        if not t.get("table") or not src.get("file") or not src.get("record_type"):
            raise LayoutError(path, f"target {i}: needs table and source: {{file, record_type}}")
        cols = []
        columns = t.get("columns") or {}
        if not isinstance(columns, dict):
            raise LayoutError(path, f"target {t['table']}: columns must map canonical items to {{from: field, …}}")
        for name, c in columns.items():
            cols.append(_column(path, str(t["table"]), str(name), c, code_maps))
        targets.append(TargetSpec(table=str(t["table"]), file=str(src["file"]), record_type=str(src["record_type"]),
                                  columns=tuple(cols)))
    return MappingSpec(path=path, targets=tuple(targets), code_maps=code_maps)


def _column(path: Path, table: str, name: str, c: Any, code_maps: dict[str, dict[str, str]]) -> ColumnSpec:
    where = f"target {table}, column {name}"
    if isinstance(c, str):
        c = {"from": c}
    if not isinstance(c, dict):
        raise LayoutError(path, f"{where}: must be {{from: field}} or {{const: value}} (keys: {', '.join(COLUMN_KEYS)})")
    _unknown(c, COLUMN_KEYS, path, where)
    given = [k for k in SOURCE_KEYS if k in c]
    if len(given) != 1:
        raise LayoutError(path, f"{where}: needs exactly one of {', '.join(SOURCE_KEYS)}"
                                + (f" (got {', '.join(given)})" if given else ""))
    cm = c.get("code_map")
    cm_name = None
    if isinstance(cm, str):
        if cm not in code_maps:
            raise LayoutError(path, f"{where}: no code_maps entry {cm!r}")
        cm_name, cm = cm, code_maps[cm]
    elif isinstance(cm, dict):
        cm = {str(a): str(b) for a, b in cm.items()}
    elif cm is not None:
        raise LayoutError(path, f"{where}: code_map must be a mapping or the name of a code_maps entry")
    if c.get("date") is not None:
        _check_date_form(path, where, c["date"])
    if c.get("kana") is not None and c["kana"] not in KANA_FORMS:
        raise LayoutError(path, f"{where}: kana must be one of {', '.join(KANA_FORMS)}")
    if "const" in c and c["const"] is None:
        raise LayoutError(path, f"{where}: const needs a value (leave the column out for an empty item)")
    if "const" in c and isinstance(c["const"], (dict, list)):
        raise LayoutError(path, f"{where}: const must be one value (text, number or true/false)")
    for k in ("from", "from_header", "from_trailer", "unknown_from"):
        if k in c and not isinstance(c[k], str):
            raise LayoutError(path, f"{where}: {k} must name a field of the layout, got {c[k]!r}")
    return ColumnSpec(target=name, source=c.get("from"), const=c.get("const"), code_map=cm, code_map_name=cm_name,
                      date=c.get("date"), unknown_from=c.get("unknown_from"), kana=c.get("kana"),
                      from_header=c.get("from_header"), from_trailer=c.get("from_trailer"))


def _check_date_form(path: Path, where: str, form: Any) -> None:
    from kikan_hub.mapping.era_dates import compile_pattern

    if not isinstance(form, str) or not form:
        raise LayoutError(path, f"{where}: date must name a form ({', '.join(sorted(DATE_FORMATS))}) or be a pattern "
                                f"such as GYY.MM.DD or YYYY/MM/DD")
    try:  # the era codes are the layout's: here only the pattern's shape is checked
        compile_pattern(form, (("0", "明治"),))
    except ValueError as exc:
        raise LayoutError(path, f"{where}: {exc}; named forms: {', '.join(sorted(DATE_FORMATS))}") from None
