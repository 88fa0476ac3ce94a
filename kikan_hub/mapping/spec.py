"""The mapping file (YAML): how each legacy record type becomes rows of a canonical table.

The file format is the model definition_models.MappingFile (``kikan schema mapping``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kikan_hub.layouts import strict_yaml
from kikan_hub.layouts.definition_models import MappingColumn, MappingFile
from kikan_hub.layouts.errors import LayoutError

COLUMN_KEYS = tuple(f.alias or name for name, f in MappingColumn.model_fields.items())
DATE_FORMATS = {"western", "era_code", "era_letter", "kanji"}   # or a token pattern (era_dates.compile_pattern)


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
    """A mapping file, validated against its model (definition_models.MappingFile)."""
    path = Path(path)
    model = strict_yaml.load(MappingFile, path, what="マッピングファイル")
    code_maps = {k: dict(v) for k, v in model.code_maps.items()}
    targets = []
    for i, t in enumerate(model.targets):
        cols = tuple(_column(path, f"targets[{i}]({t.table}).columns.{name}", name, c, code_maps)
                     for name, c in t.columns.items())
        targets.append(TargetSpec(table=t.table, file=t.source.file, record_type=t.source.record_type, columns=cols))
    return MappingSpec(path=path, targets=tuple(targets), code_maps=code_maps)


def _column(path: Path, where: str, name: str, c: MappingColumn, code_maps: dict[str, dict[str, str]]) -> ColumnSpec:
    cm, cm_name = c.code_map, None
    if isinstance(cm, str):  # the name of a code_maps entry (the model checked it exists)
        cm_name, cm = cm, code_maps[cm]
    if c.date is not None:
        _check_date_form(path, where, c.date)
    return ColumnSpec(target=name, source=c.from_, const=c.const, code_map=dict(cm) if cm is not None else None,
                      code_map_name=cm_name, date=c.date, unknown_from=c.unknown_from, kana=c.kana,
                      from_header=c.from_header, from_trailer=c.from_trailer)


def _check_date_form(path: Path, where: str, form: str) -> None:
    from kikan_hub.mapping.era_dates import compile_pattern

    try:  # the era codes are the layout's: here only the pattern's shape is checked
        compile_pattern(form, (("0", "明治"),))
    except ValueError as exc:
        raise LayoutError(path, f"{where}.date: {exc}; named forms: {', '.join(sorted(DATE_FORMATS))}") from None
