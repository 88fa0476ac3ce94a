"""Legacy layouts as data: load and validate a legacy file layout (YAML) into frozen dataclasses.

The format is described in ``docs/architecture.md`` ("Legacy layout"). Every problem a
user can make in such a file is reported as a :class:`LayoutError` naming the file, the
record type, the field and what is wrong, so that it can be fixed without reading code.
This module imports nothing else of the hub (the layouts package is at the bottom of the
dependency arrow).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from kikan_hub.layouts.errors import LayoutError

FORMATS = ("fixed", "delimited")
TERMINATORS = ("crlf", "lf", "none")
ROLES = ("header", "data", "trailer")
FIELD_TYPES = ("text", "kana", "digits", "integer", "zoned", "packed", "binary", "dbcs", "date", "code", "filler")
STRING_TYPES = frozenset({"text", "kana", "digits", "date", "code", "dbcs"})
BINARY_LENGTHS = (1, 2, 4, 8)  # COBOL COMP / BINARY, big-endian two's complement (or unsigned)
SIGNS = ("none", "leading", "trailing")
DATE_FORMATS = ("western", "era_code", "era_letter", "kanji")
MAX_PACKED_BYTES = 10   # 19 digit nibbles; values must still fit 18 digits (checked per record)
MAX_ZONED_BYTES = 19
MAX_SCALE = 18

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_KEYS = {"layout", "description", "format", "encoding", "record_length", "terminator", "eof_marker",
             "delimiter", "quote", "header", "discriminator", "era_codes", "record_types", "provenance",
             "code_tables"}
_RT_KEYS = {"name", "code", "role", "description", "label", "control", "fields", "columns"}
_FIELD_KEYS = {"name", "label", "description", "start", "length", "column", "type", "scale", "sign",
               "date_format", "code_table", "gaiji", "required", "note", "occurs", "stride", "signed"}


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

    @property
    def emitted_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.emitted)

    @property
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


# --------------------------------------------------------------------------- YAML loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (a silent overwrite hides a typo)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LayoutError(path, f"レイアウトファイルを開けません (cannot open layout): {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LayoutError(path, f"レイアウトは UTF-8 で書いてください (layout must be UTF-8; bad byte at offset {exc.start})") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc)
        raise LayoutError(path, f"YAML として読めません (YAML syntax error at {where}): {problem}") from None


def load_legacy_layout(path: str | Path) -> LegacyLayout:
    """Load and validate a legacy layout YAML file. Raises :class:`LayoutError` on any problem."""
    path = Path(path)
    return parse_legacy_layout(_read_yaml(path), path)


def parse_legacy_layout(data: Any, path: str | Path = "<layout>") -> LegacyLayout:
    """Validate an already-parsed layout document (``path`` only names it in messages)."""
    return _Parser(Path(path)).layout(data)


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, message: str) -> LayoutError:
        return LayoutError(self.path, message)

    def _int(self, value: Any, where: str, key: str, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}: {key} must be an integer, got {value!r}")
        if value < minimum:
            raise self.fail(f"{where}: {key} must be >= {minimum}, got {value}")
        return value

    def _unknown(self, data: dict, allowed: set[str], where: str) -> None:
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise self.fail(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")

    def layout(self, data: Any) -> LegacyLayout:
        if not isinstance(data, dict):
            raise self.fail("a legacy layout is a YAML mapping with layout, format, record_types …")
        self._unknown(data, _TOP_KEYS, "layout")
        lid = data.get("layout")
        if not lid or not isinstance(lid, str):
            raise self.fail("layout: the layout id is missing (e.g. layout: KYU-JUMIN)")
        fmt = data.get("format", "fixed")
        if fmt not in FORMATS:
            raise self.fail(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        encoding = data.get("encoding", "cp932")
        if not isinstance(encoding, str) or not encoding:
            raise self.fail(f"encoding must be a codec name such as cp932, got {encoding!r}")
        era = data.get("era_codes") or {}
        if not isinstance(era, dict):
            raise self.fail("era_codes must be a mapping such as {\"1\": 明治, …}")
        era_codes = {str(k): str(v) for k, v in era.items()}
        ct = data.get("code_tables") or {}
        if not isinstance(ct, dict) or not all(isinstance(v, dict) for v in ct.values()):
            raise self.fail("code_tables must map a table name to {value: meaning, …}")
        code_tables = {str(k): {str(c): str(m) for c, m in v.items()} for k, v in ct.items()}
        eof = data.get("eof_marker")
        eof_marker = None
        if eof is not None and eof is not False:
            s = str(eof).strip()
            if s.lower().startswith("0x"):
                s = s[2:]
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", s):
                raise self.fail(f"eof_marker must be one byte in hex such as \"1A\", got {eof!r}")
            eof_marker = int(s, 16)

        record_length = None
        terminator = "crlf"
        delimiter, quote = ",", '"'
        header: tuple[str, ...] = ()
        if fmt == "fixed":
            if "record_length" not in data:
                raise self.fail("record_length is required for a fixed layout (bytes per record, terminator excluded)")
            record_length = self._int(data["record_length"], "layout", "record_length")
            terminator = data.get("terminator", "crlf")
            if terminator not in TERMINATORS:
                raise self.fail(f"terminator must be one of {', '.join(TERMINATORS)}, got {terminator!r}")
            for k in ("delimiter", "quote", "header"):
                if k in data:
                    raise self.fail(f"{k} only applies to format: delimited")
        else:
            terminator = data.get("terminator", "crlf")
            if terminator not in ("crlf", "lf"):
                raise self.fail(f"terminator of a delimited layout must be crlf or lf, got {terminator!r}")
            delimiter = data.get("delimiter", ",")
            quote = data.get("quote", '"')
            if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n":
                raise self.fail(f"delimiter must be one character, got {delimiter!r}")
            if not isinstance(quote, str) or len(quote) != 1 or quote == delimiter or quote in "\r\n":
                raise self.fail(f"quote must be one character different from the delimiter, got {quote!r}")
            if "record_length" in data:
                raise self.fail("record_length only applies to format: fixed")
            header = self.header(data.get("header"))

        rts_data = data.get("record_types")
        if not isinstance(rts_data, list) or not rts_data:
            raise self.fail("record_types: a non-empty list of record types is required")

        disc = self.discriminator(data.get("discriminator"), fmt, record_length, len(rts_data))
        record_types = tuple(self.record_type(i, rt, fmt, record_length, disc) for i, rt in enumerate(rts_data, 1))

        seen_names: set[str] = set()
        seen_codes: dict[str, str] = {}
        for rt in record_types:
            if rt.name in seen_names:
                raise self.fail(f"record type {rt.name}: duplicate record type name")
            seen_names.add(rt.name)
            if disc is not None:
                if rt.code in seen_codes:
                    raise self.fail(f"record type {rt.name}: duplicate code {rt.code!r} "
                                    f"(already used by record type {seen_codes[rt.code]})")
                seen_codes[rt.code] = rt.name
        self.check_controls(record_types)
        return LegacyLayout(id=lid, format=fmt, record_types=record_types, encoding=encoding,
                            description=str(data.get("description", "") or ""), record_length=record_length,
                            terminator=terminator, eof_marker=eof_marker, delimiter=delimiter, quote=quote,
                            header=header, discriminator=disc, era_codes=era_codes,
                            path=self.path, code_tables=code_tables)

    def header(self, h: Any) -> tuple[str, ...]:
        """A header line is named column by column and checked, never skipped blindly."""
        if h is None or h is False:
            return ()
        if not isinstance(h, list) or not h or not all(isinstance(c, (str, int)) and str(c) for c in h):
            raise self.fail(f"header must list the expected column names of the file's first line, e.g. "
                            f"header: [区分, 宛名番号, 氏名]; got {h!r} (a header line is checked, never skipped unchecked)")
        return tuple(str(c) for c in h)

    def discriminator(self, d: Any, fmt: str, record_length: int | None, n_types: int) -> Discriminator | None:
        if d is None:
            if n_types > 1:
                raise self.fail("discriminator is missing: a layout with several record types needs "
                                "discriminator: {start: N, length: N} (fixed) or {column: N} (delimited)")
            return None
        if not isinstance(d, dict):
            raise self.fail(f"discriminator must be a mapping, got {d!r}")
        if fmt == "fixed":
            self._unknown(d, {"start", "length"}, "discriminator")
            start = self._int(d.get("start"), "discriminator", "start")
            length = self._int(d.get("length"), "discriminator", "length")
            if start + length - 1 > (record_length or 0):
                raise self.fail(f"discriminator: bytes {start}–{start + length - 1} lie past record_length {record_length}")
            return Discriminator(start=start, length=length)
        self._unknown(d, {"column"}, "discriminator")
        return Discriminator(column=self._int(d.get("column"), "discriminator", "column"))

    def record_type(self, i: int, data: Any, fmt: str, record_length: int | None,
                    disc: Discriminator | None) -> RecordType:
        if not isinstance(data, dict):
            raise self.fail(f"record_types[{i}]: must be a mapping with name, code, role, fields")
        name = data.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise self.fail(f"record_types[{i}]: name must be an identifier (letters, digits, _), got {name!r}")
        where = f"record type {name}"
        self._unknown(data, _RT_KEYS, where)
        role = data.get("role", "data")
        if role not in ROLES:
            raise self.fail(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
        code = data.get("code")
        if code is not None:
            if isinstance(code, bool) or not isinstance(code, (str, int)):
                raise self.fail(f"{where}: code must be a string such as \"1\", got {code!r}")
            code = str(code)
        if disc is not None:
            if code is None or code == "":
                raise self.fail(f"{where}: code is missing (the discriminator value of this record type)")
            if fmt == "fixed" and len(code.encode("utf-8")) != disc.length:
                raise self.fail(f"{where}: code {code!r} is not {disc.length} byte(s) long, "
                                f"the discriminator length")
        fields_data = data.get("fields")
        if not isinstance(fields_data, list) or not fields_data:
            raise self.fail(f"{where}: fields must be a non-empty list")
        fields = tuple(self.field(where, j, f, fmt, record_length) for j, f in enumerate(fields_data, 1))
        names: set[str] = set()
        for f in fields:
            if f.name in names:
                raise self.fail(f"{where}, field {f.name}: duplicate field name")
            names.add(f.name)
            if f.name.startswith("_"):
                raise self.fail(f"{where}, field {f.name}: names starting with _ are reserved for reader columns")
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
        columns = data.get("columns")
        if columns is not None:
            if fmt != "delimited":
                raise self.fail(f"{where}: columns only applies to format: delimited")
            columns = self._int(columns, where, "columns")
            if any((f.column or 0) > columns for f in fields):
                raise self.fail(f"{where}: a field reads a column past columns: {columns}")
        control = None
        if data.get("control") is not None:
            control = self.control(where, role, data["control"], names)
        return RecordType(name=name, code=code, role=role, fields=fields,
                          description=str(data.get("description", "") or ""), control=control, columns=columns)

    def field(self, where: str, j: int, data: Any, fmt: str, record_length: int | None) -> Field:
        if not isinstance(data, dict):
            raise self.fail(f"{where}: fields[{j}] must be a mapping such as {{name: x, start: 1, length: 2, type: text}}")
        name = data.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise self.fail(f"{where}: fields[{j}]: name must be an identifier (letters, digits, _), got {name!r}")
        fw = f"{where}, field {name}"
        self._unknown(data, _FIELD_KEYS, fw)
        typ = data.get("type")
        if typ not in FIELD_TYPES:
            raise self.fail(f"{fw}: unknown type {typ!r} (known: {', '.join(FIELD_TYPES)})")
        start = length = column = None
        if fmt == "fixed":
            if "column" in data:
                raise self.fail(f"{fw}: column only applies to delimited layouts; use start and length")
            start = self._int(data.get("start"), fw, "start")
            length = self._int(data.get("length"), fw, "length")
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
            if "start" in data:
                raise self.fail(f"{fw}: start only applies to fixed layouts; use column")
            column = self._int(data.get("column"), fw, "column")
            if "length" in data:
                length = self._int(data.get("length"), fw, "length")
            if typ in ("packed", "binary", "dbcs"):
                raise self.fail(f"{fw}: {typ} fields cannot appear in a delimited file")
        scale = data.get("scale", 0)
        if typ in ("zoned", "packed", "binary"):
            scale = self._int(scale, fw, "scale", minimum=0)
            if scale > MAX_SCALE:
                raise self.fail(f"{fw}: scale must be <= {MAX_SCALE}")
        elif scale:
            raise self.fail(f"{fw}: scale only applies to zoned, packed and binary fields")
        sign = data.get("sign", "none")
        if sign not in SIGNS:
            raise self.fail(f"{fw}: sign must be one of {', '.join(SIGNS)}, got {sign!r}")
        if sign != "none" and typ != "integer":
            raise self.fail(f"{fw}: sign only applies to integer fields (zoned/packed carry it in the last nibble)")
        date_format = data.get("date_format")
        # documents the field; the mapping's date: (a named form or a token pattern) is what reads it
        if date_format is not None and date_format not in DATE_FORMATS and not (
                isinstance(date_format, str) and all(t in date_format for t in "YMD")):
            raise self.fail(f"{fw}: date_format must be one of {', '.join(DATE_FORMATS)} or a pattern such as "
                            f"GYY.MM.DD / YYYY/MM/DD, got {date_format!r}")
        code_table = data.get("code_table")
        occurs = stride = None
        if "occurs" in data or "stride" in data:
            if fmt != "fixed":
                raise self.fail(f"{fw}: occurs only applies to fixed layouts")
            occurs = self._int(data.get("occurs"), fw, "occurs")
            stride = self._int(data.get("stride", length), fw, "stride")
            if stride < (length or 0):
                raise self.fail(f"{fw}: stride {stride} is shorter than the field ({length} bytes)")
            last = (start or 1) + (occurs - 1) * stride + (length or 0) - 1
            if last > (record_length or 0):
                raise self.fail(f"{fw}: occurrence {occurs} ends at byte {last}, past record_length {record_length}")
            if typ == "filler":
                occurs = stride = None
        signed = data.get("signed", False)
        if not isinstance(signed, bool) or (signed and typ != "binary"):
            raise self.fail(f"{fw}: signed (true/false) only applies to binary fields")
        return Field(name=name, type=typ, start=start, length=length, column=column,
                     label=str(data.get("label", "") or ""), scale=int(scale or 0), sign=sign,
                     date_format=date_format, code_table=str(code_table) if code_table else None,
                     gaiji=bool(data.get("gaiji", False)), required=bool(data.get("required", False)),
                     occurs=occurs, stride=stride, signed=signed)

    def control(self, where: str, role: str, data: Any, names: set[str]) -> Control:
        if role != "trailer":
            raise self.fail(f"{where}: control totals only apply to role: trailer")
        if not isinstance(data, dict):
            raise self.fail(f"{where}: control must be a mapping {{count: field, hash_total: {{field, of}}}}")
        self._unknown(data, {"count", "hash_total"}, f"{where}, control")
        count = data.get("count")
        if count is not None and not isinstance(count, str):
            raise self.fail(f"{where}, control: count must name a field, got {count!r}")
        if count is not None and count not in names:
            raise self.fail(f"{where}, control: count names field {count!r}, which this record type does not have")
        ht_field = ht_of = None
        ht = data.get("hash_total")
        if ht is not None:
            if not isinstance(ht, dict) or set(ht) != {"field", "of"}:
                raise self.fail(f"{where}, control: hash_total must be {{field: <trailer field>, of: <data field>}}")
            ht_field, ht_of = ht["field"], ht["of"]
            if not isinstance(ht_field, str) or not isinstance(ht_of, str):
                raise self.fail(f"{where}, control: hash_total field and of must name fields, got {ht!r}")
            if ht_field not in names:
                raise self.fail(f"{where}, control: hash_total field {ht_field!r} is not a field of this record type")
        return Control(count=count, hash_total_field=ht_field, hash_total_of=ht_of)

    def check_controls(self, record_types: tuple[RecordType, ...]) -> None:
        data_fields = {f.name: f for rt in record_types if rt.role == "data" for f in rt.fields}
        for rt in record_types:
            if rt.control and rt.control.hash_total_of is not None:
                of = data_fields.get(rt.control.hash_total_of)
                if of is None:
                    raise self.fail(f"record type {rt.name}, control: hash_total of {rt.control.hash_total_of!r} "
                                    f"is not a field of any data record type")
                if of.type not in ("digits", "integer", "zoned", "packed", "binary") or of.occurs:
                    raise self.fail(f"record type {rt.name}, control: hash_total of {of.name!r} must be a numeric "
                                    f"field (digits, integer, zoned, packed, binary) without occurs, it is {of.type}")
