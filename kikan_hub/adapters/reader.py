"""Legacy file reader: fixed-width or delimited bytes → one Arrow RecordBatch stream per record type.

``read_file(path, layout, encoding, batch_size)`` yields ``(record_type_name, RecordBatch)``
pairs. Every batch has the columns ``_record_no`` (int64, 1-based in the file), ``_offset``
(int64, byte offset of the record's first byte), ``_raw`` (binary, the record's bytes without
terminator), ``_error_rule``, ``_error_message``, ``_error_field`` (strings, null when clean),
then one column per (non-filler) field. Records whose record type cannot be told (unknown
discriminator, record too short to hold it) come in the stream named ``_unknown``, with the
six reader columns only.

Every record is emitted exactly once, including bad ones (with their rule). Reader rules:
``READ-LENGTH``, ``READ-DECODE``, ``READ-RECTYPE``, ``READ-NUMBER``. Several rules on one
record are joined with commas, so are the fields; the messages are joined with `` / ``.

The file is read in chunks (``chunk_size``, 32 MiB by default) with partial records carried
across chunks, and hashed (SHA-256) while it streams: after iteration, ``.stats`` on the
returned iterator holds the size, hash and records read per record type.

Fixed-width decoding is columnar: records are cut with numpy (terminator positions or a
stride), grouped by discriminator, and each field's n×w byte block is decoded at once with the
strict codec (a separator appended to each value); only when that fails is the column decoded
value by value to find the bad records.

Delimited decoding is columnar too, a batch of records (≤ 4 MiB) at a time: the records' bytes
are decoded in one call and split in one call — by Arrow's CSV reader when the text holds no
quote character (a plain split; no Python string per value), by Python's csv reader otherwise.
A record with another column count, an empty line or an unknown record type is then parsed
alone for its exact message. A batch holding anything the one-call split could read
differently from record by record (a byte that does not decode, a CR that is not a line end, a
line end inside quotes, a quoting error) is read record by record instead; a property test
holds the two paths to the same output.

The reader only reads: reconciling a trailer's 件数 / ハッシュ合計 with what was read is
trailer.py's job.
"""
from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field as dc_field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kikan_hub.adapters.codecs import Codec, DecodeFailure, get_codec
from kikan_hub.adapters.numbers import decode_binary, decode_packed, decode_zoned
from kikan_hub.layouts.legacy import Field, LegacyLayout, RecordType

UNKNOWN_RECORD_TYPE = "_unknown"
HEADER_LINE_RECORD_TYPE = "_header_line"   # a delimited file's column-name line (layout ``header:``)
DEFAULT_CHUNK_SIZE = 32 << 20
SPLIT_GROUP_BYTES = 4 << 20   # delimited records decoded and split in one call at most
META_FIELDS: tuple[pa.Field, ...] = (
    pa.field("_record_no", pa.int64()),
    pa.field("_offset", pa.int64()),
    pa.field("_raw", pa.binary()),
    pa.field("_error_rule", pa.string()),
    pa.field("_error_message", pa.string()),
    pa.field("_error_field", pa.string()),
)
META_COLUMNS = tuple(f.name for f in META_FIELDS)
_TRIM = " \u3000\n"
RecordBatchOf = tuple[str, pa.RecordBatch]


# --------------------------------------------------------------------------- schema


def field_arrow_type(f: Field) -> pa.DataType:
    if f.occurs:  # a fixed OCCURS: one list-valued column
        return pa.list_(_scalar_arrow_type(f))
    return _scalar_arrow_type(f)


def _scalar_arrow_type(f: Field) -> pa.DataType:
    if f.type in ("zoned", "packed", "binary"):
        return pa.int64() if f.scale == 0 else pa.decimal128(18, f.scale)
    if f.type == "integer":
        return pa.int64()
    return pa.string()


def record_schema(rt: RecordType | None) -> pa.Schema:
    """The Arrow schema of a record type's batches (``None`` → the ``_unknown`` stream)."""
    fields = list(META_FIELDS)
    if rt is not None:
        fields += [pa.field(f.name, field_arrow_type(f)) for f in rt.emitted_fields]
    return pa.schema(fields)


# --------------------------------------------------------------------------- stats


@dataclass
class ReadStats:
    """Facts about one read: bytes, SHA-256 (complete only once iteration finished) and counts."""

    path: str
    encoding: str
    size: int = 0
    sha256: str | None = None
    records: dict[str, int] = dc_field(default_factory=lambda: defaultdict(int))
    errors: dict[str, int] = dc_field(default_factory=lambda: defaultdict(int))
    eof_marker_seen: bool = False
    header_lines: int = 0
    complete: bool = False

    @property
    def records_total(self) -> int:
        return sum(self.records.values())

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "encoding": self.encoding, "bytes": self.size, "sha256": self.sha256,
                "records": dict(sorted(self.records.items())), "records_total": self.records_total,
                "errors": dict(sorted(self.errors.items())), "eof_marker_seen": self.eof_marker_seen,
                "header_lines": self.header_lines, "complete": self.complete}


class FileRead(Iterator[RecordBatchOf]):
    """The iterator ``read_file`` returns; ``stats`` fills in as it streams."""

    def __init__(self, path: Path, layout: LegacyLayout, codec: Codec, batch_size: int, chunk_size: int) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        self.path = path
        self.layout = layout
        self.codec = codec
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.stats = ReadStats(path=str(path), encoding=codec.name)
        self._gen = _FixedReader(self).run() if layout.format == "fixed" else _DelimitedReader(self).run()

    def __iter__(self) -> "FileRead":
        return self

    def __next__(self) -> RecordBatchOf:
        rtype, batch = next(self._gen)
        return rtype, batch

    def close(self) -> None:
        self._gen.close()

    def _emit(self, rtype: str, batch: pa.RecordBatch) -> RecordBatchOf:
        self.stats.records[rtype] += batch.num_rows
        rules = batch.column("_error_rule")
        if rules.null_count < batch.num_rows:
            for r in rules.drop_null().to_pylist():
                for rid in r.split(","):
                    self.stats.errors[rid] += 1
        return rtype, batch


def read_file(path: str | Path, layout: LegacyLayout, encoding: str | None = None, batch_size: int = 65536,
              chunk_size: int = DEFAULT_CHUNK_SIZE) -> FileRead:
    """Stream a legacy file as ``(record_type_name, RecordBatch)`` pairs (see the module docstring).

    ``encoding``: the declared encoding (a codec name); default the layout's. The returned
    iterator's ``stats`` (:class:`ReadStats`) has size, SHA-256 and counts once exhausted.
    """
    codec = get_codec(encoding or layout.encoding)
    dbcs = [f"{rt.name}.{f.name}" for rt in layout.record_types for f in rt.fields if f.type == "dbcs"]
    if dbcs and not hasattr(codec, "dbcs_only"):
        raise ValueError(f"layout {layout.id}: double-byte (PIC N / PIC G) fields {', '.join(dbcs[:3])} need a "
                         f"mainframe encoding (ibm930, jef-ebcdik …), not {codec.name}")
    return FileRead(Path(path), layout, codec, batch_size, chunk_size)


def read_stats(path: str | Path, layout: LegacyLayout, encoding: str | None = None, **kw: Any) -> ReadStats:
    """Read a whole file only for its facts (counts, hash)."""
    r = read_file(path, layout, encoding, **kw)
    for _ in r:
        pass
    return r.stats


# --------------------------------------------------------------------------- error accumulation


class _Errors:
    def __init__(self, n: int) -> None:
        self.n = n
        self.any = False
        self.rule = np.full(n, None, dtype=object)
        self.field = np.full(n, None, dtype=object)
        self.message = np.full(n, None, dtype=object)

    def add(self, idx: Iterable[int], rule: str, field: str | None, messages: Any) -> None:
        self.any = True
        for j, i in enumerate(idx):
            msg = messages[j] if isinstance(messages, (list, tuple, np.ndarray)) else messages
            cur = self.rule[i]
            if cur is None:
                self.rule[i], self.field[i], self.message[i] = rule, field, msg
                continue
            # every failure is kept: the rules, the fields (comma-separated) and the messages
            if rule not in cur.split(","):
                self.rule[i] = f"{cur},{rule}"
            if field and field not in (self.field[i] or "").split(","):
                self.field[i] = f"{self.field[i]},{field}" if self.field[i] else field
            self.message[i] = f"{self.message[i]} / {msg}"

    def arrays(self) -> list[pa.Array]:
        if not self.any:
            return [pa.nulls(self.n, pa.string())] * 3
        return [pa.array(self.rule, pa.string()), pa.array(self.message, pa.string()),
                pa.array(self.field, pa.string())]


def _label(f: Field) -> str:
    """How a message names a field: its Japanese label first (clerks read the quarantine), then its id."""
    return f"{f.label}({f.name})" if f.label else f.name


TYPE_WORDS = {"zoned": "ゾーン10進数", "packed": "パック10進数", "integer": "整数"}
_REASONS = {"illegal multibyte sequence": "不正な2バイト文字", "incomplete multibyte sequence": "途中で切れた2バイト文字",
            "invalid start byte": "文字の先頭になれないバイト", "invalid continuation byte": "続きになれないバイト",
            "unexpected end of data": "途中で切れた文字"}


def _reason(reason: str) -> str:
    """The codec's reason in the clerks' language (the quarantine message is read in 市民課)."""
    return _REASONS.get(reason, reason)


# --------------------------------------------------------------------------- column decoding


def _offsets_type(total: int) -> tuple[np.dtype, pa.DataType, pa.DataType]:
    if total < (1 << 31) - 1:
        return np.dtype(np.int32), pa.string(), pa.binary()
    return np.dtype(np.int64), pa.large_string(), pa.large_binary()


def _string_array_from_fixed(data: bytes, n: int, w: int) -> pa.Array:
    odt, st, _ = _offsets_type(n * w)
    offsets = np.arange(0, (n + 1) * w, w, dtype=odt)
    return pa.Array.from_buffers(st, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _detached(exc: DecodeFailure) -> DecodeFailure:
    """Keep a failure without its traceback and context: they pin frames and whole decoded blocks."""
    exc.__traceback__ = None
    exc.__context__ = None
    return exc


def _decode_rows(block: np.ndarray, codec: Codec) -> tuple[list[str | None], dict[int, DecodeFailure]]:
    values: list[str | None] = []
    bad: dict[int, DecodeFailure] = {}
    for i in range(block.shape[0]):
        try:
            values.append(codec.decode(block[i].tobytes()))
        except DecodeFailure as exc:
            values.append(None)
            bad[i] = _detached(exc)
    return values, bad


def decode_column(block: np.ndarray, codec: Codec, max_byte: int | None = None) -> tuple[pa.Array, dict[int, DecodeFailure]]:
    """Decode an n×w byte block (one field of n records) → (string array, {row: failure}).

    The values are not trimmed. Failures carry the byte position inside the field.
    ``max_byte``: the block's largest byte when the caller already knows it.
    """
    n, w = block.shape
    if n == 0:
        return pa.array([], pa.string()), {}
    if w == 0:
        return pa.array([""] * n, pa.string()), {}
    if codec.ascii_compatible and (int(block.max()) if max_byte is None else max_byte) < 0x80:
        return _string_array_from_fixed(block.tobytes(), n, w), {}
    if codec.stateful and not getattr(codec, "joinable", False):
        values, bad = _decode_rows(block, codec)
        return pa.array(values, pa.string()), bad
    return _decode_joined(block, codec)


_SEGMENT_BYTES = 16 << 10


def _decode_joined(block: np.ndarray, codec: Codec) -> tuple[pa.Array, dict[int, DecodeFailure]]:
    """Decode the rows joined by the codec's newline, one decode call per segment of rows: a
    failure re-decodes only its own segment (and the codec's error copies only that much), so
    a block with many bad values does not go quadratic."""
    n, w = block.shape
    sep = codec.newline
    ls = len(sep)
    rowlen = w + ls
    ext = np.empty((n, rowlen), dtype=np.uint8)
    ext[:, :w] = block
    ext[:, w:] = np.frombuffer(sep, dtype=np.uint8)
    mv = memoryview(ext.reshape(-1))
    total = len(mv)
    pieces: list[str] = []
    bad: dict[int, DecodeFailure] = {}
    # A segment ends after a separator, where a stateless ASCII-compatible codec starts afresh.
    seg = max(1, _SEGMENT_BYTES // rowlen) * rowlen if codec.ascii_compatible else total
    for start in range(0, total, seg):
        pos, end = start, min(total, start + seg)
        while pos < end:
            try:
                pieces.append(codec.decode(mv[pos:end]))
                break
            except DecodeFailure as exc:
                i = (pos + exc.position) // rowlen
                if i * rowlen > pos:
                    pieces.append(codec.decode(mv[pos:i * rowlen]))
                try:
                    codec.decode(block[i].tobytes())
                    # the value decodes alone: the failure came from the separator; decode row by row
                    values, bad = _decode_rows(block, codec)
                    return pa.array(values, pa.string()), bad
                except DecodeFailure as own:
                    bad[i] = _detached(own)
                pieces.append("\n")
                pos = (i + 1) * rowlen
    text = "".join(pieces)
    u8 = text.encode("utf-8")
    arr = np.frombuffer(u8, dtype=np.uint8)
    nl = np.flatnonzero(arr == 0x0A)
    if len(nl) != n:
        # a value itself decodes to "\n": fall back to value-by-value decoding
        values, bad = _decode_rows(block, codec)
        return pa.array(values, pa.string()), bad
    odt, st, _ = _offsets_type(len(u8))
    offsets = np.empty(n + 1, dtype=odt)
    offsets[0] = 0
    offsets[1:] = nl + 1
    strings = pa.Array.from_buffers(st, n, [None, pa.py_buffer(offsets), pa.py_buffer(u8)])
    if bad:
        mask = np.zeros(n, dtype=bool)
        mask[list(bad)] = True
        strings = pc.if_else(pa.array(mask), pa.scalar(None, st), strings)
    return strings, bad


def _all_equal_byte(block: np.ndarray, value: bytes) -> np.ndarray:
    if len(value) != 1 or block.shape[1] == 0:
        return np.zeros(block.shape[0], dtype=bool)
    return np.all(block == value[0], axis=1)


def _int_array(values: np.ndarray, valid: np.ndarray, scale: int) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int64)
    mask = ~valid
    if scale == 0:
        return pa.array(values, pa.int64(), mask=mask)
    n = len(values)
    buf = np.empty((n, 2), dtype=np.int64)
    buf[:, 0] = values
    buf[:, 1] = values >> 63
    validity = pa.array(valid, pa.bool_()).buffers()[1] if mask.any() else None
    return pa.Array.from_buffers(pa.decimal128(18, scale), n, [validity, pa.py_buffer(buf.tobytes())])


_SIGN_RE = {"none": r"^[0-9]+$", "leading": r"^[+-]?[0-9]+$", "trailing": r"^[0-9]+[+-]?$"}


def _only_digit_bytes(strings: pa.Array) -> bool:
    """Every byte of the values' data (nulls' too) is an ASCII digit."""
    _, obuf, dbuf = strings.buffers()
    if len(strings) == 0 or dbuf is None:
        return True
    odt = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(obuf, dtype=odt)[strings.offset:strings.offset + len(strings) + 1]
    data = np.frombuffer(dbuf, dtype=np.uint8)[offsets[0]:offsets[-1]]
    return bool(((data - np.uint8(0x30)) < 10).all())


def convert_strings(f: Field, strings: pa.Array, errors: _Errors, messages_prefix: str = "") -> pa.Array:
    """Untrimmed decoded values of one field → the field's output column (rules on errors)."""
    out_type = _scalar_arrow_type(f)
    trimmed = pc.utf8_rtrim(strings, characters=_TRIM)
    if f.type in ("text", "kana", "date", "code", "dbcs"):
        return trimmed.cast(pa.string())
    if f.type == "digits":
        if _only_digit_bytes(trimmed):  # the usual column: no value needs the regex
            return trimmed.cast(pa.string())
        ok = pc.fill_null(pc.match_substring_regex(trimmed, r"^[0-9]*$"), True)
        okn = ok.to_numpy(zero_copy_only=False)
        if not okn.all():
            bad = np.flatnonzero(~okn)
            vals = trimmed.take(pa.array(bad)).to_pylist()
            errors.add(bad, "READ-NUMBER", f.name,
                       [f"{_label(f)}: 数字以外の文字があります「{v}」" for v in vals])
            trimmed = pc.if_else(ok, trimmed, pa.scalar(None, trimmed.type))
        return trimmed.cast(pa.string())
    if f.type in ("integer", "zoned"):
        s = pc.utf8_trim(strings, characters=_TRIM)
        blank = pc.fill_null(pc.equal(s, ""), False)
        if f.type == "integer":
            ok = pc.fill_null(pc.match_substring_regex(s, _SIGN_RE[f.sign]), False)
            ok = pc.or_(ok, blank)
            neg = pc.fill_null(pc.match_substring(s, "-"), False)
            digits = pc.utf8_trim(s, characters="+-")
            long = pc.fill_null(pc.greater(pc.utf8_length(digits), 18), False)
            ok = pc.and_(ok, pc.invert(long))
            good = pc.and_(ok, pc.invert(blank))
            safe = pc.if_else(good, digits, pa.scalar("0", digits.type))
            vals = pc.cast(pc.fill_null(safe, "0"), pa.int64()).to_numpy(zero_copy_only=False)
            vals = np.where(neg.to_numpy(zero_copy_only=False), -vals, vals)
            okn = ok.to_numpy(zero_copy_only=False) & ~pc.is_null(strings).to_numpy(zero_copy_only=False)
            goodn = good.to_numpy(zero_copy_only=False)
        else:  # zoned in a delimited file: decode each value's bytes
            py = s.to_pylist()
            vals = np.zeros(len(py), dtype=np.int64)
            goodn = np.zeros(len(py), dtype=bool)
            okn = np.zeros(len(py), dtype=bool)
            for i, v in enumerate(py):
                if v is None:
                    continue
                if v == "":
                    okn[i] = True
                    continue
                try:
                    b = v.encode("ascii")
                except UnicodeEncodeError:
                    continue
                val, valid = decode_zoned(np.frombuffer(b, dtype=np.uint8).reshape(1, -1))
                if valid[0]:
                    vals[i], goodn[i], okn[i] = val[0], True, True
        nulls = pc.is_null(strings).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~okn & ~nulls)
        if len(bad):
            raw = s.take(pa.array(bad)).to_pylist()
            errors.add(bad, "READ-NUMBER", f.name, [f"{_label(f)}: {TYPE_WORDS.get(f.type, f.type)}として読めません「{v}」" for v in raw])
        return _int_array(vals, goodn, f.scale if f.type == "zoned" else 0).cast(out_type)
    raise ValueError(f"field {f.name}: type {f.type} cannot be converted from text")


def convert_fixed_field(f: Field, block: np.ndarray, codec: Codec, offsets: np.ndarray, errors: _Errors,
                        max_byte: int | None = None) -> pa.Array:
    """One field's n×w byte block → its output column. ``offsets``: absolute offsets of the records."""
    if f.type in ("zoned", "packed", "binary"):
        if f.type == "binary":
            values, valid = decode_binary(block, f.signed)
            blank = np.zeros(len(values), dtype=bool)  # every bit pattern is a number
        else:
            values, valid = decode_zoned(block) if f.type == "zoned" else decode_packed(block)
            blank = _all_equal_byte(block, codec.space) | (_all_equal_byte(block, b" ") if codec.space != b" " else False)
        bad = np.flatnonzero(~valid & ~blank)
        if len(bad):
            errors.add(bad, "READ-NUMBER", f.name,
                       [f"{_label(f)}: バイト位置 {int(offsets[i]) + f.offset} のバイト列 "
                        f"{block[i].tobytes().hex(' ').upper()} は{TYPE_WORDS[f.type]}として読めません" for i in bad])
        return _int_array(values, valid & ~blank, f.scale)
    if f.type == "dbcs":  # PIC N / PIC G: the double-byte table without shift codes (checked in read_file)
        codec, max_byte = codec.dbcs_only(), None  # type: ignore[attr-defined]
    strings, bad = decode_column(block, codec, max_byte)
    if bad:
        idx = sorted(bad)
        errors.add(idx, "READ-DECODE", f.name,
                   [f"{_label(f)}: バイト位置 {int(offsets[i]) + f.offset + bad[i].position} のバイト列 "
                    f"{bad[i].data.hex(' ').upper()} は宣言された文字コード {codec.name} で読めません（{_reason(bad[i].reason)}）"
                    for i in idx])
    return convert_strings(f, strings, errors)


def convert_occurs_field(f: Field, M: np.ndarray, codec: Codec, offsets: np.ndarray, errors: _Errors) -> pa.Array:
    """A fixed OCCURS field: each occurrence converted like a field of its own (errors name the
    occurrence, 1-based as in COBOL), then one list per record, occurrences in order."""
    n = M.shape[0]
    k = f.occurs or 1
    parts = []
    for j, off in enumerate(f.occurrences, 1):
        one = replace(f, name=f"{f.name}({j})", start=off + 1, occurs=None, stride=None)
        parts.append(convert_fixed_field(one, M[:, off:off + (f.length or 0)], codec, offsets, errors))
    values = pa.concat_arrays(parts).take(pa.array((np.arange(n * k) % k) * n + np.arange(n * k) // k))
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n * k + 1, k, dtype=np.int32)), values)


def _binary_from_fixed(data: bytes, n: int, w: int) -> pa.Array:
    odt, _, bt = _offsets_type(n * w)
    arr = pa.Array.from_buffers(bt, n, [None, pa.py_buffer(np.arange(0, (n + 1) * w, w, dtype=odt)), pa.py_buffer(data)])
    return arr if bt == pa.binary() else arr.cast(pa.binary())


def _binary_slices(data: bytes, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """data[starts[i]:ends[i]] for every i as one binary array: the bytes gathered in one numpy
    step (records lie in order, terminators between them are left out), no bytes object per record."""
    lengths = (ends - starts).astype(np.int64)
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(data, dtype=np.uint8)
    # position j of the output comes from starts[i] + (j - offsets[i]) for the record i that holds j
    src = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
    content = buf[src].tobytes()
    odt, _, bt = _offsets_type(int(offsets[-1]))
    arr = pa.Array.from_buffers(bt, len(starts), [None, pa.py_buffer(offsets.astype(odt)), pa.py_buffer(content)])
    return arr if bt == pa.binary() else arr.cast(pa.binary())


def _null_columns(rt: RecordType | None, n: int) -> list[pa.Array]:
    if rt is None:
        return []
    return [pa.nulls(n, field_arrow_type(f)) for f in rt.emitted_fields]


def _batch(schema: pa.Schema, record_no: np.ndarray, offsets: np.ndarray, raw: pa.Array, errors: _Errors,
           columns: list[pa.Array]) -> pa.RecordBatch:
    arrays = [pa.array(np.asarray(record_no, dtype=np.int64)), pa.array(np.asarray(offsets, dtype=np.int64)), raw,
              *errors.arrays(), *columns]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --------------------------------------------------------------------------- fixed-width


def _scan_chunks(fr: "FileRead", frame) -> Iterator[RecordBatchOf]:
    """Read the file in chunks (bounded memory), hashing as it goes; ``frame(data, buf, base)``
    returns (bytes consumed, batches). Returns (the unconsumed tail, its file offset)."""
    sha = hashlib.sha256()
    base = 0
    carry = b""
    with open(fr.path, "rb") as fh:
        while chunk := fh.read(fr.chunk_size):
            sha.update(chunk)
            fr.stats.size += len(chunk)
            data = carry + chunk if carry else chunk
            cut, batches = frame(data, np.frombuffer(data, dtype=np.uint8), base)
            yield from batches
            carry = data[cut:]
            base += cut
    fr.stats.sha256 = sha.hexdigest()
    return carry, base


class _FixedReader:
    def __init__(self, fr: FileRead) -> None:
        self.fr = fr
        self.layout = fr.layout
        self.codec = fr.codec
        self.L = int(fr.layout.record_length or 0)
        self.record_no = 0
        self.schemas = {rt.name: record_schema(rt) for rt in self.layout.record_types}
        self.unknown_schema = record_schema(None)
        d = self.layout.discriminator
        self.disc = d
        self.codes: list[tuple[RecordType, np.ndarray]] = []
        if d is not None:
            for rt in self.layout.record_types:
                cb = self.codec.encode(rt.code or "")
                if len(cb) != d.length:
                    raise ValueError(f"record type {rt.name}: code {rt.code!r} encodes to {len(cb)} bytes in "
                                     f"{self.codec.name}, the discriminator is {d.length}")
                self.codes.append((rt, np.frombuffer(cb, dtype=np.uint8)))
        self.by_code = {bytes(cb): rt for rt, cb in self.codes}

    def _frame(self, data: bytes, buf: np.ndarray, base: int) -> tuple[int, Iterator[RecordBatchOf]]:
        """Cut a chunk into whole records (by terminator, or by record length for fixed blocks)."""
        term = self.layout.terminator
        if term == "none":
            n = len(data) // self.L
            cut = n * self.L
            starts = np.arange(n, dtype=np.int64) * self.L
            lengths = np.full(n, self.L, dtype=np.int64)
        else:
            nl = np.flatnonzero(buf == 0x0A)
            if len(nl) == 0:
                return 0, iter(())
            cut = int(nl[-1]) + 1
            starts = np.empty(len(nl), dtype=np.int64)
            starts[0] = 0
            starts[1:] = nl[:-1] + 1
            ends = nl.astype(np.int64)
            if term == "crlf":
                has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 0x0D)
                ends = ends - has_cr
            lengths = ends - starts
        if not len(starts):
            return cut, iter(())
        return cut, self.process(data, buf, starts, lengths, base)

    def run(self) -> Iterator[RecordBatchOf]:
        fr = self.fr
        term = self.layout.terminator
        carry, base = yield from _scan_chunks(fr, self._frame)
        # the tail: a last record without terminator, and/or the EOF marker
        tail = carry
        marker = self.layout.eof_marker
        if marker is not None and tail and tail[-1] == marker:
            tail = tail[:-1]
            fr.stats.eof_marker_seen = True
        if term == "crlf" and tail.endswith(b"\r"):
            tail = tail[:-1]
        if tail:
            buf = np.frombuffer(tail, dtype=np.uint8)
            yield from self.process(tail, buf, np.zeros(1, dtype=np.int64), np.array([len(tail)], dtype=np.int64), base)
        fr.stats.complete = True

    def _matrix(self, buf: np.ndarray, starts: np.ndarray, uniform_stride: int | None) -> np.ndarray:
        n, L = len(starts), self.L
        if n == 0:
            return np.zeros((0, L), dtype=np.uint8)
        if uniform_stride is not None:
            s0 = int(starts[0])
            if s0 + n * uniform_stride <= len(buf):
                return buf[s0:s0 + n * uniform_stride].reshape(n, uniform_stride)[:, :L]
            return np.lib.stride_tricks.as_strided(buf[s0:], shape=(n, L), strides=(uniform_stride, 1))
        # Every window of L bytes as a (read-only) view; picking rows copies whole records at once.
        return np.lib.stride_tricks.sliding_window_view(buf, L)[starts]

    def process(self, data: bytes, buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                base: int) -> Iterator[RecordBatchOf]:
        fr = self.fr
        n = len(starts)
        rec_no = self.record_no + 1 + np.arange(n, dtype=np.int64)
        self.record_no += n
        abs_off = base + starts
        good = lengths == self.L
        gidx = np.flatnonzero(good)
        if len(gidx):
            gstarts = starts[gidx]
            stride = None
            if len(gstarts) == 1:
                stride = self.L
            else:
                d = np.diff(gstarts)
                if d[0] >= self.L and np.all(d == d[0]):
                    stride = int(d[0])
            M = self._matrix(buf, gstarts, stride)
            if self.disc is None:
                tidx = np.zeros(len(gidx), dtype=np.int16)
            else:
                tidx = np.full(len(gidx), -1, dtype=np.int16)
                d0, dl = self.disc.offset, int(self.disc.length or 1)
                key = M[:, d0:d0 + dl]
                for k, (_rt, cb) in enumerate(self.codes):
                    match = key[:, 0] == cb[0] if dl == 1 else np.all(key == cb, axis=1)
                    tidx[match] = k
            types = [self.layout.record_types[0]] if self.disc is None else [rt for rt, _ in self.codes]
            for k, rt in enumerate(types):
                sel = np.flatnonzero(tidx == k)
                if len(sel) == 0:
                    continue
                Mk = M[sel] if len(sel) != len(gidx) else M
                yield from self.typed_batches(rt, Mk, rec_no[gidx[sel]], abs_off[gidx[sel]])
            unk = np.flatnonzero(tidx < 0)
            if len(unk):
                for a in range(0, len(unk), fr.batch_size):
                    part = unk[a:a + fr.batch_size]
                    Mu = np.ascontiguousarray(M[part])
                    errs = _Errors(len(part))
                    codes = [Mu[j, self.disc.offset:self.disc.offset + self.disc.length].tobytes() for j in range(len(part))]
                    errs.add(range(len(part)), "READ-RECTYPE", None,
                             [f"レコード区分 {c.hex(' ').upper()}（{c!r}）はレイアウト {self.layout.id} にありません"
                              f"（あるのは {', '.join(repr(rt.code) for rt, _ in self.codes)}）"
                              for c in codes])
                    raw = _binary_from_fixed(Mu.tobytes(), len(part), self.L)
                    yield fr._emit(UNKNOWN_RECORD_TYPE, _batch(self.unknown_schema, rec_no[gidx[part]],
                                                               abs_off[gidx[part]], raw, errs, []))
        bidx = np.flatnonzero(~good)
        if len(bidx):
            yield from self.bad_length(data, starts, lengths, rec_no, abs_off, bidx)

    def typed_batches(self, rt: RecordType, M: np.ndarray, rec_no: np.ndarray,
                      abs_off: np.ndarray) -> Iterator[RecordBatchOf]:
        fr = self.fr
        schema = self.schemas[rt.name]
        fields = rt.emitted_fields
        total = M.shape[0]
        for a in range(0, total, fr.batch_size):
            Mb = M[a:a + fr.batch_size]
            nb = Mb.shape[0]
            offs = abs_off[a:a + nb]
            errs = _Errors(nb)
            records = Mb.tobytes()  # the one copy: _raw's buffer, and the matrix the fields are cut from
            Mc = np.frombuffer(records, dtype=np.uint8).reshape(nb, self.L)
            raw = _binary_from_fixed(records, nb, self.L)
            colmax = Mc.max(axis=0) if nb else np.zeros(self.L, dtype=np.uint8)  # one pass: which byte columns are ASCII
            cols = [convert_fixed_field(f, Mc[:, f.offset:f.end], self.codec, offs, errs,
                                        int(colmax[f.offset:f.end].max()) if f.length else 0)
                    if not f.occurs else convert_occurs_field(f, Mc, self.codec, offs, errs) for f in fields]
            yield fr._emit(rt.name, _batch(schema, rec_no[a:a + nb], offs, raw, errs, cols))

    def bad_length(self, data: bytes, starts: np.ndarray, lengths: np.ndarray, rec_no: np.ndarray,
                   abs_off: np.ndarray, bidx: np.ndarray) -> Iterator[RecordBatchOf]:
        fr = self.fr
        groups: dict[str | None, list[int]] = defaultdict(list)
        raws: dict[int, bytes] = {}
        for i in bidx:
            s, ln = int(starts[i]), int(lengths[i])
            raw = data[s:s + ln]
            raws[int(i)] = raw
            rt_name: str | None = None
            if self.disc is None:
                rt_name = self.layout.record_types[0].name
            else:
                d0, dl = self.disc.offset, int(self.disc.length or 1)
                if len(raw) >= d0 + dl:
                    rt = self.by_code.get(raw[d0:d0 + dl])
                    rt_name = rt.name if rt else None
            groups[rt_name].append(int(i))
        for rt_name, idx in groups.items():
            rt = self.layout.record_type(rt_name) if rt_name else None
            schema = self.schemas[rt_name] if rt_name else self.unknown_schema
            for a in range(0, len(idx), fr.batch_size):
                part = idx[a:a + fr.batch_size]
                errs = _Errors(len(part))
                errs.add(range(len(part)), "READ-LENGTH", None,
                         [f"バイト位置 {int(abs_off[i])} のレコードは {int(lengths[i])} バイトで、レイアウト "
                          f"{self.layout.id} のレコード長 {self.L} バイトと違います" for i in part])
                raw = pa.array([raws[i] for i in part], pa.binary())
                yield fr._emit(rt_name or UNKNOWN_RECORD_TYPE,
                               _batch(schema, rec_no[part], abs_off[part], raw, errs, _null_columns(rt, len(part))))


# --------------------------------------------------------------------------- delimited


@dataclass
class _Split:
    """A chunk's records split in one call: Python's rows, or Arrow's columns (``position``: each
    record's row in them, -1 for a record left out to be parsed alone)."""
    has_cr: np.ndarray
    rows: list[list[str]] | None = None
    columns: list[pa.Array] | None = None
    position: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.has_cr)


class _DelimitedReader:
    def __init__(self, fr: FileRead) -> None:
        self.fr = fr
        self.layout = fr.layout
        self.codec = fr.codec
        if self.codec.stateful or not self.codec.ascii_compatible:
            raise ValueError(f"delimited files in {self.codec.name} are not supported (needs an ASCII-compatible "
                             f"encoding such as cp932, euc_jp or utf-8)")
        self.quote = self.layout.quote.encode("ascii")[0]
        self.record_no = 0
        self.schemas = {rt.name: record_schema(rt) for rt in self.layout.record_types}
        self.unknown_schema = record_schema(None)
        self.by_code = self.layout.by_code()
        self.header_pending = self.layout.header
        # Arrow's reader needs one column count for every record type (and two columns at least:
        # with one, an empty line and an empty value look the same); 0: Python's reader only.
        counts = {rt.expected_columns for rt in self.layout.record_types}
        only = counts.pop() if len(counts) == 1 else 0
        self.arrow_columns = only if only >= 2 else 0

    def _frame(self, data: bytes, buf: np.ndarray, base: int) -> tuple[int, Iterator[RecordBatchOf]]:
        """Cut a chunk at the line ends that lie outside quotes."""
        nl = np.flatnonzero(buf == 0x0A)
        if len(nl):
            parity = np.cumsum(buf == self.quote, dtype=np.uint8) & 1
            nl = nl[parity[nl] == 0]
        if len(nl) == 0:
            return 0, iter(())
        starts = np.concatenate([[0], nl[:-1] + 1]).astype(np.int64)
        return int(nl[-1]) + 1, self.process(data, starts, nl.astype(np.int64), base)

    def run(self) -> Iterator[RecordBatchOf]:
        fr = self.fr
        carry, base = yield from _scan_chunks(fr, self._frame)
        tail = carry
        marker = self.layout.eof_marker
        if marker is not None and tail and tail[-1] == marker:
            tail = tail[:-1]
            fr.stats.eof_marker_seen = True
        if tail:
            yield from self.process(tail, np.zeros(1, dtype=np.int64), np.array([len(tail)], dtype=np.int64), base)
        fr.stats.complete = True

    def process(self, data: bytes, starts: np.ndarray, ends: np.ndarray, base: int) -> Iterator[RecordBatchOf]:
        if self.header_pending and len(starts):
            self.header_pending = False
            raw = data[int(starts[0]):int(ends[0])]
            if self.layout.terminator == "crlf" and raw.endswith(b"\r"):
                raw = raw[:-1]
            self.record_no += 1
            self.fr.stats.header_lines += 1
            yield self.header_line(raw, base + int(starts[0]))
            starts, ends = starts[1:], ends[1:]
        # A batch of records at a time (and a few MiB at most): the decoded text and one Python
        # string per value live only for one group, so memory does not grow with the chunk size.
        n, a = len(starts), 0
        while a < n:
            b = min(n, a + self.fr.batch_size, int(np.searchsorted(starts, starts[a] + SPLIT_GROUP_BYTES)))
            b = max(b, a + 1)
            s, e = starts[a:b], ends[a:b]
            rows = self._split_chunk(data, s, e)
            if rows is None:
                yield from self._process_records(data, s, e, base)
            else:
                yield from self._process_rows(data, s, e, base, rows)
            a = b

    def _split_chunk(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> _Split | None:
        """Every record of a chunk decoded in one call and split in one call: the same values as
        record by record (the usual case, ~10× faster). Text without a quote character is split by
        Arrow's CSV reader (no quoting: a plain split on the delimiter), other text by Python's.
        None when the chunk holds anything the one-call path could read differently: a byte that
        does not decode, a CR that is not a line end, a line end inside quotes, a quoting error.
        Those chunks go record by record, which names the record, byte offset and column."""
        n = len(starts)
        buf = np.frombuffer(data, dtype=np.uint8)
        s0, e1 = int(starts[0]), int(ends[-1])
        if self.layout.terminator == "crlf":
            has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 0x0D)
        else:
            has_cr = np.zeros(n, dtype=bool)
        n_cr = int(has_cr.sum())
        if data.count(b"\r", s0, e1) != n_cr:
            return None
        try:
            text = self.codec.decode(data[s0:e1])
        except DecodeFailure:
            return None
        if n_cr:
            text = text.replace("\r", "")
        if self.layout.quote not in text and "\0" not in text and self.arrow_columns:
            split = self._split_arrow(text, n, has_cr)
            if split is not None:
                return split
        lines = text.split("\n")
        if len(lines) != n:
            return None
        try:
            rows = list(csv.reader(lines, delimiter=self.layout.delimiter, quotechar=self.layout.quote, strict=True))
        except csv.Error:
            return None
        # A record that ends inside quotes would swallow the next one: the count tells (never more rows).
        return _Split(has_cr, rows=rows) if len(rows) == n else None

    def _split_arrow(self, text: str, n: int, has_cr: np.ndarray) -> _Split | None:
        """Quote-free text split by Arrow into columns (no Python string per value). A line with
        another number of columns is left out and marked, to be parsed alone; an empty line too
        (Arrow reads it as a row of empty values, Python's reader as no column at all)."""
        ncols = self.arrow_columns
        skipped: list[int | None] = []

        def skip(row) -> str:
            skipped.append(row.number)
            return "skip"

        names = [str(i) for i in range(ncols)]
        try:
            table = pacsv.read_csv(
                pa.BufferReader(text.encode("utf-8")),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=self.layout.delimiter, quote_char=False, double_quote=False,
                                                 escape_char=False, newlines_in_values=False,
                                                 ignore_empty_lines=False, invalid_row_handler=skip),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, UnicodeEncodeError):
            return None
        if None in skipped or table.num_rows + len(skipped) != n:
            return None
        position = np.full(n, -1, dtype=np.int64)   # record → its row in the table (-1: left out)
        kept = np.ones(n, dtype=bool)
        if skipped:
            kept[np.asarray(skipped, dtype=np.int64) - 1] = False
        position[kept] = np.arange(table.num_rows)
        return _Split(has_cr, columns=[table.column(i).combine_chunks() for i in range(ncols)], position=position)

    def _process_rows(self, data: bytes, starts: np.ndarray, ends: np.ndarray, base: int,
                      split: _Split) -> Iterator[RecordBatchOf]:
        """Batches from a chunk split in one call: whole columns at once; a record with a wrong
        column count or an unknown record type is parsed alone, for its exact message."""
        fr = self.fr
        n = split.n
        rec_no = self.record_no + 1 + np.arange(n, dtype=np.int64)
        self.record_no += n
        abs_off = base + starts
        raw_end = ends - split.has_cr
        raw_all = _binary_slices(data, starts, raw_end)
        lay = self.layout
        types = [lay.record_types[0]] if lay.discriminator is None else list(self.by_code.values())
        expected = np.array([rt.expected_columns for rt in types], dtype=np.int64)
        c = (lay.discriminator.column or 1) - 1 if lay.discriminator is not None else 0
        if split.rows is not None:
            rows = split.rows
            lens = np.fromiter(map(len, rows), dtype=np.int64, count=n)
            if lay.discriminator is None:
                tidx = np.zeros(n, dtype=np.int16)
            else:
                index = {code: k for k, code in enumerate(self.by_code)}
                tidx = np.fromiter((index.get(r[c], -1) if len(r) > c else -1 for r in rows), dtype=np.int16, count=n)
        else:
            lens = np.where(split.position >= 0, len(split.columns), -1)
            lens[raw_end == starts] = 0   # an empty line: no column, as Python's reader sees it
            tidx = np.zeros(n, dtype=np.int16)
            if lay.discriminator is not None:
                found = pc.index_in(split.columns[c], value_set=pa.array(list(self.by_code), pa.string()))
                in_table = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int16)
                tidx = np.append(in_table, np.int16(-1))[split.position]   # position -1: the -1 appended
        good = (tidx >= 0) & (lens == expected[np.maximum(tidx, 0)])
        for k, rt in enumerate(types):
            sel = np.flatnonzero(good & (tidx == k))
            for a in range(0, len(sel), fr.batch_size):
                part = sel[a:a + fr.batch_size]
                yield self._rows_batch(rt, split, part, rec_no[part], abs_off[part],
                                       raw_all.take(pa.array(part, pa.int64())) if len(part) != n else raw_all)
        yield from self._parse_alone((int(rec_no[i]), int(abs_off[i]), data[int(starts[i]):int(raw_end[i])])
                                     for i in np.flatnonzero(~good).tolist())

    def _rows_batch(self, rt: RecordType, split: _Split, part: np.ndarray, rec_no: np.ndarray, offs: np.ndarray,
                    raw: pa.Array) -> RecordBatchOf:
        errs = _Errors(len(part))
        if split.columns is not None:
            pos = split.position[part]
            whole = len(pos) == len(split.columns[0]) and bool((pos == np.arange(len(pos))).all())
            take = None if whole else pa.array(pos, pa.int64())
            column = (lambda i: split.columns[i]) if take is None else (lambda i: split.columns[i].take(take))
        else:
            rows = [split.rows[i] for i in part.tolist()]
            columns = list(zip(*rows)) if rows else []
            column = lambda i: pa.array(columns[i], pa.string())  # noqa: E731
        cols = [convert_strings(f, column((f.column or 1) - 1), errs) for f in rt.emitted_fields]
        return self.fr._emit(rt.name, _batch(self.schemas[rt.name], rec_no, offs, raw, errs, cols))

    def _process_records(self, data: bytes, starts: np.ndarray, ends: np.ndarray, base: int) -> Iterator[RecordBatchOf]:
        crlf = self.layout.terminator == "crlf"

        def records() -> Iterator[tuple[int, int, bytes]]:
            for s, e in zip(starts.tolist(), ends.tolist()):
                raw = data[s:e]
                if crlf and raw.endswith(b"\r"):
                    raw = raw[:-1]
                self.record_no += 1
                yield self.record_no, base + s, raw

        yield from self._parse_alone(records())

    def _parse_alone(self, records: Iterable[tuple[int, int, bytes]]) -> Iterator[RecordBatchOf]:
        """(record no, byte offset, raw) parsed one by one, gathered per record type into batches."""
        pending: dict[str, dict[str, list]] = {}   # per record type: rec_no, offset, raw, failure, values
        for no, off, raw in records:
            rt, err, values = self.parse(raw, off)
            name = rt.name if rt else UNKNOWN_RECORD_TYPE
            b = pending.setdefault(name, {"no": [], "off": [], "raw": [], "err": [], "vals": []})
            for key, v in (("no", no), ("off", off), ("raw", raw), ("err", err), ("vals", values)):
                b[key].append(v)
            if len(b["no"]) >= self.fr.batch_size:
                yield self.flush(name, pending.pop(name))
        for name in list(pending):
            yield self.flush(name, pending.pop(name))

    def header_line(self, raw: bytes, off: int) -> RecordBatchOf:
        """The column-name line, checked against the layout's ``header:``; emitted as a record of its
        own (``_header_line``) so that it is counted like every other line."""
        problem = header_mismatch(self.layout, self.codec, raw)
        if problem:
            raise HeaderMismatch(f"{self.fr.path}: {problem}")
        errs = _Errors(1)
        return self.fr._emit(HEADER_LINE_RECORD_TYPE, _batch(self.unknown_schema, np.array([self.record_no]),
                                                             np.array([off]), pa.array([raw], pa.binary()), errs, []))

    def _split(self, text: str) -> list[str]:
        rows = list(csv.reader([text], delimiter=self.layout.delimiter, quotechar=self.layout.quote, strict=True))
        return rows[0] if rows else [""]

    def _type_of(self, values: list[str], complete: bool = True) -> tuple[RecordType | None, str | None]:
        lay = self.layout
        if lay.discriminator is None:
            return lay.record_types[0], None
        c = lay.discriminator.column or 1
        if len(values) < c or (not complete and len(values) == c):
            return None, None
        return self.by_code.get(values[c - 1]), values[c - 1]

    def parse(self, raw: bytes, off: int) -> tuple[RecordType | None, tuple[str, str | None, str] | None,
                                                    list[str] | None]:
        """One record → (record type or None, first failure or None, column values or None)."""
        lay = self.layout
        try:
            text = self.codec.decode(raw)
        except DecodeFailure as exc:
            # name the column and, when the discriminator lies before the bad byte, the record type
            rt, col = None, "?"
            try:
                prefix = self._split(self.codec.decode(raw[:exc.position]))
                col = str(len(prefix))
                rt, _ = self._type_of(prefix, complete=False)
            except (csv.Error, DecodeFailure):
                pass
            if rt is None and lay.discriminator is None:
                rt = lay.record_types[0]
            return rt, ("READ-DECODE", col, f"{col} 列目: バイト位置 {off + exc.position} のバイト列 "
                        f"{exc.data.hex(' ').upper()} は宣言された文字コード {self.codec.name} で読めません"
                        f"（{_reason(exc.reason)}）"), None
        try:
            values = self._split(text)
        except csv.Error as exc:
            rt = lay.record_types[0] if lay.discriminator is None else None
            return rt, ("READ-LENGTH", None, f"バイト位置 {off} のレコード: 引用符（\"）の対応がとれません（{exc}）"), None
        rt, code = self._type_of(values)
        if rt is None:
            return None, ("READ-RECTYPE", None, f"レコード区分 {code!r} はレイアウト {lay.id} にありません"
                          f"（あるのは {', '.join(repr(k) for k in self.by_code)}）"), None
        if len(values) != rt.expected_columns:
            return rt, ("READ-LENGTH", None, f"バイト位置 {off} のレコードは {len(values)} 列で、レコード種別 "
                        f"{rt.name} の項目数 {rt.expected_columns} と違います"), None
        return rt, None, values

    def flush(self, name: str, b: dict[str, list]) -> RecordBatchOf:
        rt = None if name == UNKNOWN_RECORD_TYPE else self.layout.record_type(name)
        n = len(b["no"])
        errs = _Errors(n)
        for i, e in enumerate(b["err"]):
            if e is not None:
                rule, fld, msg = e
                if fld is not None and rt is not None:
                    col = int(fld) if fld.isdigit() else None
                    named = [f.name for f in rt.fields if f.column == col]
                    fld = named[0] if named else f"{fld} 列目"
                errs.add([i], rule, fld, msg)
        cols: list[pa.Array] = []
        if rt is not None:
            for f in rt.emitted_fields:
                c = (f.column or 1) - 1
                strings = pa.array([v[c] if v is not None and c < len(v) else None for v in b["vals"]], pa.string())
                cols.append(convert_strings(f, strings, errs))
        schema = self.schemas[name] if rt else self.unknown_schema
        return self.fr._emit(name, _batch(schema, np.array(b["no"]), np.array(b["off"]),
                                          pa.array(b["raw"], pa.binary()), errs, cols))


# --------------------------------------------------------------------------- header line


class HeaderMismatch(ValueError):
    """A delimited file's first line does not name the columns its layout's ``header:`` expects."""


def header_mismatch(layout: LegacyLayout, codec: Codec, raw: bytes) -> str | None:
    """Why ``raw`` (a first line, terminator removed) is not the expected header, or None."""
    expected = list(layout.header)
    try:
        text = codec.decode(raw)
        if codec.name == "utf-8":
            # a UTF-8 byte order mark (EF BB BF, as Excel and many vendors write it) is the file's signature,
            # not part of the first column's name; the line's bytes stay as read (the BOM in its _raw)
            text = text.removeprefix("\ufeff")
        found = next(csv.reader([text], delimiter=layout.delimiter, quotechar=layout.quote, strict=True), [""])
    except (DecodeFailure, csv.Error) as exc:
        return f"line 1 is not a header line of {len(expected)} columns ({exc}); 見出し行を読めません"
    found = [c.strip(_TRIM) for c in found]
    for i, (e, f) in enumerate(zip(expected, found), 1):
        if e != f:
            return (f"header line, column {i}: expected {e!r}, found {f!r} "
                    f"(見出し行の {i} 列目が {e} ではありません; layout header: {', '.join(expected)})")
    if len(found) != len(expected):
        return (f"header line has {len(found)} columns, the layout's header names {len(expected)} "
                f"(見出し行の列数が違います: {', '.join(found)})")
    return None


def check_header(path: str | Path, layout: LegacyLayout, encoding: str | None = None) -> str | None:
    """Preflight: the first line of ``path`` against the layout's ``header:`` (None when it matches)."""
    if not layout.header:
        return None
    codec = get_codec(encoding or layout.encoding)
    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
    first = first.rstrip(b"\n")
    if layout.terminator == "crlf" and first.endswith(b"\r"):
        first = first[:-1]
    return header_mismatch(layout, codec, first)
