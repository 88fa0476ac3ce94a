"""Legacy layouts as data: load and validate a legacy file layout (YAML) into frozen dataclasses.

The file format is the model definition_models.LegacyLayoutFile (``kikan schema legacy-layout``),
described for people in ``docs/onboarding.md``. Every problem a
user can make in such a file is reported as a :class:`LayoutError` naming the file, the
record type, the field and what is wrong, so that it can be fixed without reading code.
This module imports nothing else of the hub (the layouts package is at the bottom of the
dependency arrow).
"""
from __future__ import annotations

import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from kikan_hub.layouts import strict_yaml
from kikan_hub.layouts.definition_models import Control as ControlModel
from kikan_hub.layouts.definition_models import Discriminator as DiscriminatorModel
from kikan_hub.layouts.definition_models import FieldType, LayoutField, LegacyLayoutFile, RecordTypeModel
from kikan_hub.layouts.errors import LayoutError

FORMATS = typing.get_args(LegacyLayoutFile.model_fields["format"].annotation)
TERMINATORS = typing.get_args(LegacyLayoutFile.model_fields["terminator"].annotation)
ROLES = typing.get_args(RecordTypeModel.model_fields["role"].annotation)
FIELD_TYPES = typing.get_args(FieldType)
STRING_TYPES = frozenset({"text", "kana", "digits", "date", "code", "dbcs"})
BINARY_LENGTHS = (1, 2, 4, 8)  # COBOL COMP / BINARY, big-endian two's complement (or unsigned)
DATE_FORMATS = ("western", "era_code", "era_letter", "kanji")
MAX_PACKED_BYTES = 10   # 19 digit nibbles; values must still fit 18 digits (checked per record)
MAX_ZONED_BYTES = 19


@dataclass(frozen=True)
class Field:
    """One field of a record type. ``start`` is 1-based bytes (fixed), ``column`` 1-based (delimited)."""

    name: str
    type: str
    start: int | None = None
    length: int | None = None
    column: int | None = None
    label: str = ""
    scale: int = 0
    sign: str = "none"
    date_format: str | None = None
    code_table: str | None = None
    gaiji: bool = False
    required: bool = False
    occurs: int | None = None   # a fixed OCCURS: the field repeats this many times, one list-valued column
    stride: int | None = None   # bytes from one occurrence to the next (default: length)
    signed: bool = False        # binary: two's complement (PIC S9 … COMP)
    check_digit: str | None = None   # declared scheme (CHECK_DIGIT_SCHEMES); None = not declared

    @property
    def occurrences(self) -> list[int]:
        """0-based offsets of every occurrence (one for a field without occurs)."""
        step = self.stride or self.length or 0
        return [self.offset + i * step for i in range(self.occurs or 1)]

    @property
    def offset(self) -> int:
        """0-based byte offset inside the record (fixed layouts)."""
        return (self.start or 1) - 1

    @property
    def end(self) -> int:
        """0-based exclusive end byte inside the record (fixed layouts)."""
        return self.offset + (self.length or 0)

    @property
    def emitted(self) -> bool:
        return self.type != "filler"


class Control(dict):
    """Trailer control totals, read-only: ``{"count": <trailer field>, "hash_total": {"field": <trailer
    field>, "of": <data field>}}`` — the YAML shape, so code may treat it as data, plus attributes."""

    def __init__(self, count: str | None = None, hash_total_field: str | None = None,
                 hash_total_of: str | None = None) -> None:
        data: dict[str, Any] = {}
        if count is not None:
            data["count"] = count
        if hash_total_field is not None:
            data["hash_total"] = {"field": hash_total_field, "of": hash_total_of}
        super().__init__(data)

    @property
    def count(self) -> str | None:
        return dict.get(self, "count")

    @property
    def hash_total_field(self) -> str | None:
        ht = dict.get(self, "hash_total")
        return ht["field"] if ht else None

    @property
    def hash_total_of(self) -> str | None:
        ht = dict.get(self, "hash_total")
        return ht["of"] if ht else None

    def _readonly(self, *a: Any, **k: Any) -> None:
        raise TypeError("layout control totals are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash((self.count, self.hash_total_field, self.hash_total_of))

    def __repr__(self) -> str:
        return f"Control({dict.__repr__(self)})"


@dataclass(frozen=True)
class RecordType:
    name: str
    code: str | None
    role: str
    fields: tuple[Field, ...]
    description: str = ""
    control: Control | None = None
    columns: int | None = None  # delimited: expected number of columns

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"record type {self.name}: no field {name!r}")

    # cached: the delimited reader asks per record (a frozen dataclass keeps a __dict__ for it)
    @cached_property
    def emitted_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.emitted)

    @cached_property
    def expected_columns(self) -> int:
        if self.columns:
            return self.columns
        return max((f.column or 0) for f in self.fields) if self.fields else 0


@dataclass(frozen=True)
class Discriminator:
    start: int | None = None   # fixed: 1-based byte
    length: int | None = None
    column: int | None = None  # delimited: 1-based column

    @property
    def offset(self) -> int:
        return (self.start or 1) - 1


@dataclass(frozen=True)
class LegacyLayout:
    id: str
    format: str
    record_types: tuple[RecordType, ...]
    encoding: str = "cp932"
    description: str = ""
    record_length: int | None = None
    terminator: str = "crlf"
    eof_marker: int | None = None
    delimiter: str = ","
    quote: str = '"'
    header: tuple[str, ...] = ()   # delimited: the expected column names of the file's first line
    discriminator: Discriminator | None = None
    era_codes: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None
    code_tables: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # e.g. from COBOL level-88

    def record_type(self, name: str) -> RecordType:
        for rt in self.record_types:
            if rt.name == name:
                return rt
        raise KeyError(f"layout {self.id}: no record type {name!r}")

    def by_code(self) -> dict[str, RecordType]:
        return {rt.code: rt for rt in self.record_types if rt.code is not None}

    @property
    def data_types(self) -> tuple[RecordType, ...]:
        return tuple(rt for rt in self.record_types if rt.role == "data")


# --------------------------------------------------------------------------- loading


def load_legacy_layout(path: str | Path) -> LegacyLayout:
    """Load and validate a legacy layout YAML file. Raises :class:`LayoutError` on any problem."""
    path = Path(path)
    return parse_legacy_layout(strict_yaml.read_yaml(path, what="レイアウトファイル"), path)


def parse_legacy_layout(data: Any, path: str | Path = "<layout>") -> LegacyLayout:
    """Validate an already-parsed layout document (``path`` only names it in messages): first its shape
    against the model (definition_models.LegacyLayoutFile), then what depends on the format."""
    model = strict_yaml.validate(LegacyLayoutFile, data, path)
    return _Parser(Path(path)).layout(model)


class _Parser:
    """What the model cannot say alone: rules that depend on the format, the record length and
    the other record types (overlaps, discriminator codes, control totals)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, message: str) -> LayoutError:
        return LayoutError(self.path, message)

    def _need(self, value: int | None, where: str, key: str) -> int:
        if value is None:
            raise self.fail(f"{where}: {key} is required")
        return value

    def layout(self, m: LegacyLayoutFile) -> LegacyLayout:
        fmt = m.format
        eof_marker = int(m.eof_marker[-2:], 16) if m.eof_marker else None
        record_length = None
        delimiter, quote = ",", '"'
        header: tuple[str, ...] = ()
        if fmt == "fixed":
            if m.record_length is None:
                raise self.fail("record_length is required for a fixed layout (bytes per record, terminator excluded)")
            record_length = m.record_length
            for k in ("delimiter", "quote", "header"):
                if getattr(m, k) is not None:
                    raise self.fail(f"{k} only applies to format: delimited")
        else:
            if m.terminator not in ("crlf", "lf"):
                raise self.fail(f"terminator of a delimited layout must be crlf or lf, got {m.terminator!r}")
            delimiter = m.delimiter or ","
            quote = m.quote or '"'
            if delimiter in "\r\n":
                raise self.fail(f"delimiter must be one character, got {delimiter!r}")
            if quote == delimiter or quote in "\r\n":
                raise self.fail(f"quote must be one character different from the delimiter, got {quote!r}")
            if m.record_length is not None:
                raise self.fail("record_length only applies to format: fixed")
            header = tuple(m.header or ())

        disc = self.discriminator(m.discriminator, fmt, record_length, len(m.record_types))
        record_types = tuple(self.record_type(i, rt, fmt, record_length, disc) for i, rt in enumerate(m.record_types))

        seen_names: set[str] = set()
        seen_codes: dict[str, str] = {}
        for i, rt in enumerate(record_types):
            if rt.name in seen_names:
                raise self.fail(f"record_types[{i}]({rt.name}): duplicate record type name")
            seen_names.add(rt.name)
            if disc is not None:
                if rt.code in seen_codes:
                    raise self.fail(f"record_types[{i}]({rt.name}): duplicate code {rt.code!r} "
                                    f"(already used by record type {seen_codes[rt.code]})")
                seen_codes[rt.code] = rt.name
        self.check_controls(record_types)
        return LegacyLayout(id=m.layout, format=fmt, record_types=record_types, encoding=m.encoding,
                            description=m.description, record_length=record_length,
                            terminator=m.terminator, eof_marker=eof_marker, delimiter=delimiter, quote=quote,
                            header=header, discriminator=disc, era_codes=dict(m.era_codes),
                            path=self.path, code_tables={k: dict(v) for k, v in m.code_tables.items()})

    def discriminator(self, d: DiscriminatorModel | None, fmt: str, record_length: int | None,
                      n_types: int) -> Discriminator | None:
        if d is None:
            if n_types > 1:
                raise self.fail("discriminator is missing: a layout with several record types needs "
                                "discriminator: {start: N, length: N} (fixed) or {column: N} (delimited)")
            return None
        if fmt == "fixed":
            if d.column is not None:
                raise self.fail("discriminator: column only applies to delimited layouts; use start and length")
            start = self._need(d.start, "discriminator", "start")
            length = self._need(d.length, "discriminator", "length")
            if start + length - 1 > (record_length or 0):
                raise self.fail(f"discriminator: bytes {start}–{start + length - 1} lie past record_length {record_length}")
            return Discriminator(start=start, length=length)
        if d.start is not None or d.length is not None:
            raise self.fail("discriminator: start and length only apply to fixed layouts; use column")
        return Discriminator(column=self._need(d.column, "discriminator", "column"))

    def record_type(self, i: int, m: RecordTypeModel, fmt: str, record_length: int | None,
                    disc: Discriminator | None) -> RecordType:
        where = f"record_types[{i}]({m.name})"  # the path inside the file, as the model's errors name it
        code = m.code
        if disc is not None:
            if code is None or code == "":
                raise self.fail(f"{where}: code is missing (the discriminator value of this record type)")
            if fmt == "fixed" and len(code.encode("utf-8")) != disc.length:
                raise self.fail(f"{where}: code {code!r} is not {disc.length} byte(s) long, "
                                f"the discriminator length")
        fields = tuple(self.field(f"{where}.fields[{j}]", f, fmt, record_length) for j, f in enumerate(m.fields))
        names = {f.name for f in fields}
        for f in fields:
            if f.name.startswith("_"):
                raise self.fail(f"{where}: field {f.name}: names starting with _ are reserved for reader columns")
        if fmt == "fixed":
            spans = sorted((o, o + (f.length or 0), f) for f in fields for o in f.occurrences)
            for (ao, ae, a), (bo, be, b) in zip(spans, spans[1:]):
                if bo < ae:
                    raise self.fail(f"{where}: fields {a.name} (bytes {ao + 1}–{ae}) and {b.name} "
                                    f"(bytes {bo + 1}–{be}) overlap")
        else:
            cols: dict[int, str] = {}
            for f in fields:
                if f.column in cols:
                    raise self.fail(f"{where}: fields {cols[f.column]} and {f.name} both read column {f.column}")
                cols[f.column] = f.name
        if m.columns is not None:
            if fmt != "delimited":
                raise self.fail(f"{where}: columns only applies to format: delimited")
            if any((f.column or 0) > m.columns for f in fields):
                raise self.fail(f"{where}: a field reads a column past columns: {m.columns}")
        control = self.control(where, m.role, m.control, names) if m.control is not None else None
        return RecordType(name=m.name, code=code, role=m.role, fields=fields, description=m.description,
                          control=control, columns=m.columns)

    def field(self, where: str, m: LayoutField, fmt: str, record_length: int | None) -> Field:
        fw = f"{where}({m.name})"
        typ = m.type
        start = length = column = None
        if fmt == "fixed":
            if m.column is not None:
                raise self.fail(f"{fw}: column only applies to delimited layouts; use start and length")
            start = self._need(m.start, fw, "start")
            length = self._need(m.length, fw, "length")
            if start + length - 1 > (record_length or 0):
                raise self.fail(f"{fw}: bytes {start}–{start + length - 1} lie past record_length {record_length}")
            if typ == "packed" and length > MAX_PACKED_BYTES:
                raise self.fail(f"{fw}: packed fields longer than {MAX_PACKED_BYTES} bytes are not supported")
            if typ == "zoned" and length > MAX_ZONED_BYTES:
                raise self.fail(f"{fw}: zoned fields longer than {MAX_ZONED_BYTES} bytes are not supported")
            if typ == "binary" and length not in BINARY_LENGTHS:
                raise self.fail(f"{fw}: binary (COMP) fields are 1, 2, 4 or 8 bytes, got {length}")
            if typ == "dbcs" and length % 2:
                raise self.fail(f"{fw}: a double-byte (PIC N / PIC G) field has an even length, got {length}")
        else:
            if m.start is not None:
                raise self.fail(f"{fw}: start only applies to fixed layouts; use column")
            column = self._need(m.column, fw, "column")
            length = m.length
            if typ in ("packed", "binary", "dbcs"):
                raise self.fail(f"{fw}: {typ} fields cannot appear in a delimited file")
        if m.scale and typ not in ("zoned", "packed", "binary"):
            raise self.fail(f"{fw}: scale only applies to zoned, packed and binary fields")
        if m.sign != "none" and typ != "integer":
            raise self.fail(f"{fw}: sign only applies to integer fields (zoned/packed carry it in the last nibble)")
        # documents the field; the mapping's date: (a named form or a token pattern) is what reads it
        if m.date_format is not None and m.date_format not in DATE_FORMATS and not all(t in m.date_format for t in "YMD"):
            raise self.fail(f"{fw}: date_format must be one of {', '.join(DATE_FORMATS)} or a pattern such as "
                            f"GYY.MM.DD / YYYY/MM/DD, got {m.date_format!r}")
        occurs = stride = None
        if m.occurs is not None or m.stride is not None:
            if fmt != "fixed":
                raise self.fail(f"{fw}: occurs only applies to fixed layouts")
            occurs = self._need(m.occurs, fw, "occurs")
            stride = m.stride or length or 0
            if stride < (length or 0):
                raise self.fail(f"{fw}: stride {stride} is shorter than the field ({length} bytes)")
            last = (start or 1) + (occurs - 1) * stride + (length or 0) - 1
            if last > (record_length or 0):
                raise self.fail(f"{fw}: occurrence {occurs} ends at byte {last}, past record_length {record_length}")
            if typ == "filler":
                occurs = stride = None
        if m.signed and typ != "binary":
            raise self.fail(f"{fw}: signed (true/false) only applies to binary fields")
        return Field(name=m.name, type=typ, start=start, length=length, column=column, label=m.label,
                     scale=m.scale, sign=m.sign, date_format=m.date_format, code_table=m.code_table or None,
                     gaiji=m.gaiji, required=m.required, occurs=occurs, stride=stride, signed=m.signed,
                     check_digit=m.check_digit)

    def control(self, where: str, role: str, m: ControlModel, names: set[str]) -> Control:
        if role != "trailer":
            raise self.fail(f"{where}: control totals only apply to role: trailer")
        if m.count is not None and m.count not in names:
            raise self.fail(f"{where}.control: count names field {m.count!r}, which this record type does not have")
        ht_field = ht_of = None
        if m.hash_total is not None:
            ht_field, ht_of = m.hash_total.field, m.hash_total.of
            if ht_field not in names:
                raise self.fail(f"{where}.control: hash_total field {ht_field!r} is not a field of this record type")
        return Control(count=m.count, hash_total_field=ht_field, hash_total_of=ht_of)

    def check_controls(self, record_types: tuple[RecordType, ...]) -> None:
        data_fields = {f.name: f for rt in record_types if rt.role == "data" for f in rt.fields}
        for i, rt in enumerate(record_types):
            if rt.control and rt.control.hash_total_of is not None:
                of = data_fields.get(rt.control.hash_total_of)
                if of is None:
                    raise self.fail(f"record_types[{i}]({rt.name}).control: hash_total of {rt.control.hash_total_of!r} "
                                    f"is not a field of any data record type")
                if of.type not in ("digits", "integer", "zoned", "packed", "binary") or of.occurs:
                    raise self.fail(f"record_types[{i}]({rt.name}).control: hash_total of {of.name!r} must be a numeric "
                                    f"field (digits, integer, zoned, packed, binary) without occurs, it is {of.type}")
