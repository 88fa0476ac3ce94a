"""Reading a handover file back into typed Arrow batches (the next vendor's view of it)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.spec import FileColumn, arrow_schema, file_arrow_type

READ_RECORDS = 20_000


def columns_of(entry: dict) -> list[FileColumn]:
    cols = []
    for c in entry["columns"]:
        cols.append(FileColumn(id=c["id"], name=c.get("name", c["id"]), type=c["type"], scale=int(c.get("scale", 0) or 0),
                               precision=int(c.get("precision", 0) or 0),
                               width=int(c.get("width", 0) or 0), start=int(c.get("start", 0) or 0)))
    return cols


def _cast(name: str, arr: pa.Array, col: FileColumn, first_record: int, fixed: bool) -> pa.Array:
    """Strings (null = empty) → the column's type; a value that does not parse names its record."""
    try:
        if col.type == "text":
            return arr
        if col.type == "flag":
            ok = pc.is_in(arr.drop_null(), value_set=pa.array(["0", "1"]))
            if len(ok) and not pc.all(ok).as_py():
                raise ValueError("flag must be 0 or 1")
            return pc.equal(arr, "1")
        typ = file_arrow_type(col)
        if col.type == "date":
            if fixed:
                return pc.cast(pc.strptime(arr, format="%Y%m%d", unit="s"), typ)
            return arr.cast(typ)
        if col.type == "integer":
            return pc.utf8_trim_whitespace(arr).cast(typ) if fixed else arr.cast(typ)
        return pc.utf8_trim_whitespace(arr).cast(typ)
    except (pa.ArrowInvalid, ValueError) as exc:
        bad = _first_bad(arr, col, fixed)
        where = f"レコード{first_record + bad[0]}" if bad else f"レコード{first_record}〜"
        val = f" 値 {bad[1]!r}" if bad else ""
        raise HandoverError(f"{name} {where} 項目 {col.name}({col.id}): {col.type} として読めません{val} ({exc})") from None


def _first_bad(arr: pa.Array, col: FileColumn, fixed: bool):
    for i, v in enumerate(arr.to_pylist()):
        if v is None:
            continue
        try:
            _cast("", pa.array([v], pa.string()), col, 0, fixed)
        except HandoverError:
            return i, v
    return None


def read_csv(path: Path, cols: list[FileColumn], encoding: str, block_size: int = 1 << 22) -> Iterator[pa.RecordBatch]:
    name = path.name
    convert = pacsv.ConvertOptions(column_types={c.header: pa.string() for c in cols}, strings_can_be_null=True,
                                   quoted_strings_can_be_null=False, null_values=[""])
    read = pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding, block_size=block_size)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise HandoverError(f"{name}: CSV として読めません: {exc}") from None
    header = reader.schema.names
    expected = [c.header for c in cols]
    if header != expected:
        missing = [h for h in expected if h not in header]
        extra = [h for h in header if h not in expected]
        raise HandoverError(f"{name}: 見出し行が manifest の項目と一致しません"
                            + (f" (ない項目: {', '.join(missing)})" if missing else "")
                            + (f" (余分な項目: {', '.join(extra)})" if extra else "")
                            + ("" if missing or extra else " (項目の順序が違います)"))
    schema = arrow_schema(cols)
    first = 1
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise HandoverError(f"{name}: レコード{first}以降を CSV として読めません: {exc}") from None
        arrays = [_cast(name, batch.column(i), c, first, False) for i, c in enumerate(cols)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        first += batch.num_rows


def iter_fixed_records(path: Path, reclen: int, records: int = READ_RECORDS) -> Iterator[tuple[int, np.ndarray]]:
    """(first record no, uint8 array of shape (n, reclen + 2)) blocks; checks size and CRLF terminators."""
    full = reclen + 2
    size = path.stat().st_size
    if size % full:
        raise HandoverError(f"{path.name}: ファイル長 {size:,} バイトがレコード長 {full} (CRLF 込み) の倍数ではありません"
                            f" — レコード{size // full + 1} が途中で切れているか、どこかのレコードの長さが違います")
    first = 1
    with path.open("rb") as fh:
        while True:
            data = fh.read(full * records)
            if not data:
                return
            arr = np.frombuffer(data, dtype=np.uint8).reshape(-1, full)
            bad = np.nonzero((arr[:, reclen] != 0x0D) | (arr[:, reclen + 1] != 0x0A))[0]
            if len(bad):
                raise HandoverError(f"{path.name}: レコード{first + int(bad[0])} の終端が CRLF ではありません"
                                    f" (レコード長 {reclen} バイトが合っていません)")
            yield first, arr
            first += arr.shape[0]


def read_fixed(path: Path, cols: list[FileColumn], encoding: str, reclen: int) -> Iterator[pa.RecordBatch]:
    name = path.name
    codec = "utf-8" if encoding == "utf-8" else "cp932"
    schema = arrow_schema(cols)
    for first, arr in iter_fixed_records(path, reclen):
        arrays = []
        for c in cols:
            sl = np.ascontiguousarray(arr[:, c.start - 1:c.start - 1 + c.width]).view(f"S{c.width}").ravel()
            vals: list = []
            for i, b in enumerate(sl.tolist()):
                try:
                    s = b.decode(codec).rstrip(" ")
                except UnicodeDecodeError as exc:
                    raise HandoverError(f"{name} レコード{first + i} 項目 {c.name}({c.id}): {codec} として読めません ({exc.reason})") from None
                vals.append(s if s else None)
            arrays.append(_cast(name, pa.array(vals, pa.string()), c, first, True))
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def read_file(directory: Path, entry: dict) -> Iterator[pa.RecordBatch]:
    path = directory / entry["path"]
    cols = columns_of(entry)
    enc = entry.get("encoding", "utf-8")
    if entry.get("format", "csv") == "fixed":
        return read_fixed(path, cols, enc, int(entry["record_length"]))
    return read_csv(path, cols, enc)
