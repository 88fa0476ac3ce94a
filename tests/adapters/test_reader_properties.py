"""Property: random and mutated byte files never crash the reader; every record comes out exactly once,
numbered 1..n, and its _raw is the source bytes at _offset. And the delimited reader's one-call split
(a batch decoded and split at once) reads exactly what record by record reads."""
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from kikan_hub.adapters.numbers import encode_packed, encode_zoned
from kikan_hub.adapters.reader import read_file
from kikan_hub.layouts.legacy import parse_legacy_layout

L = 24


A_COLUMNS = [{"name": "k", "column": 1, "type": "code"}, {"name": "t", "column": 2, "type": "text"},
             {"name": "d", "column": 3, "type": "digits"}]


def delimited(term, name, b_z_column=None, **extra):
    """A delimited layout: record type a (3 columns); with ``b_z_column``, a discriminator and a type b
    whose zoned field is in that column (2: the types' column counts differ, 3: they agree)."""
    types = [{"name": "a", "fields": A_COLUMNS}]
    if b_z_column:
        types = [{"name": "a", "code": "A", "fields": A_COLUMNS},
                 {"name": "b", "code": "B", "fields": [{"name": "k", "column": 1, "type": "code"},
                                                       {"name": "z", "column": b_z_column, "type": "zoned"}]}]
        extra["discriminator"] = {"column": 1}
    return parse_legacy_layout({"layout": name, "format": "delimited", "terminator": term, **extra,
                                "record_types": types})


def layout(term, fmt="fixed"):
    if fmt == "single":    # one record type, no discriminator, 3 columns
        return delimited(term, "S")
    if fmt == "uniform":   # every record type has 3 columns: the one-call split may use Arrow's reader
        return delimited(term, "U", b_z_column=3)
    if fmt == "delimited":
        return delimited(term, "P", b_z_column=2, eof_marker="1A")
    return parse_legacy_layout({"layout": "P", "format": "fixed", "record_length": L, "terminator": term,
                                "eof_marker": "1A", "discriminator": {"start": 1, "length": 1}, "record_types": [
                                    {"name": "a", "code": "A", "fields": [
                                        {"name": "t", "start": 2, "length": 9, "type": "text"},
                                        {"name": "d", "start": 11, "length": 4, "type": "digits"},
                                        {"name": "z", "start": 15, "length": 4, "type": "zoned", "scale": 1},
                                        {"name": "p", "start": 19, "length": 3, "type": "packed"},
                                        {"name": "i", "start": 22, "length": 3, "type": "integer", "sign": "trailing"}]},
                                    {"name": "b", "code": "B", "fields": [
                                        {"name": "k", "start": 2, "length": 23, "type": "kana"}]}]})


def good_record(i: int) -> bytes:
    return (b"A" + "山田ab".encode("cp932").ljust(9) + f"{i % 10000:04d}".encode()
            + encode_zoned(i % 1000, 4, 1, "overpunch") + encode_packed(-i, 3) + b"12-")


def check(data: bytes, lay, chunk: int, batch: int, tmp_path_factory):
    p = tmp_path_factory.mktemp("p") / "f.dat"
    p.write_bytes(data)
    reader = read_file(p, lay, chunk_size=chunk, batch_size=batch)
    seen = []
    for rt, b in reader:
        assert b.num_rows <= batch
        for r in b.select(["_record_no", "_offset", "_raw"]).to_pylist():
            assert data[r["_offset"]:r["_offset"] + len(r["_raw"])] == r["_raw"]
            seen.append((r["_record_no"], r["_offset"]))
    nos = sorted(n for n, _ in seen)
    assert nos == list(range(1, len(nos) + 1))  # every record exactly once
    offsets = [o for _, o in sorted(seen)]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    assert reader.stats.records_total == len(seen) and reader.stats.size == len(data) and reader.stats.complete
    return seen


mutations = st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), max_size=12)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(n=st.integers(0, 30), muts=mutations, term=st.sampled_from(["crlf", "lf", "none"]),
       chunk=st.integers(1, 200), batch=st.integers(1, 7), cut=st.integers(0, 30))
def test_mutated_fixed_files(tmp_path_factory, n, muts, term, chunk, batch, cut):
    sep = {"crlf": b"\r\n", "lf": b"\n", "none": b""}[term]
    data = bytearray(b"".join(good_record(i) + sep for i in range(n)) + b"\x1a")
    for pos, val in muts:
        if data:
            data[pos % len(data)] = val
    data = bytes(data[:len(data) - cut] if cut < len(data) else data)
    seen = check(data, layout(term), chunk, batch, tmp_path_factory)
    if not muts and not cut:
        assert len(seen) == n


@SETTINGS
@given(data=st.binary(max_size=400), term=st.sampled_from(["crlf", "lf", "none"]), chunk=st.integers(1, 64))
def test_random_bytes_fixed(tmp_path_factory, data, term, chunk):
    check(data, layout(term), chunk, 5, tmp_path_factory)


@SETTINGS
@given(data=st.binary(max_size=300), term=st.sampled_from(["crlf", "lf"]), chunk=st.integers(1, 64))
def test_random_bytes_delimited(tmp_path_factory, data, term, chunk):
    check(data, layout(term, "delimited"), chunk, 4, tmp_path_factory)


@SETTINGS
@given(rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.text(max_size=6), st.text("0123456789x", max_size=4)),
                     max_size=15), muts=mutations, chunk=st.integers(1, 80))
def test_mutated_delimited(tmp_path_factory, rows, muts, chunk):
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for r in rows:
        w.writerow(r)
    data = bytearray(buf.getvalue().encode("utf-8", "surrogatepass"))
    for pos, val in muts:
        if data:
            data[pos % len(data)] = val
    check(bytes(data), layout("crlf", "delimited"), chunk, 3, tmp_path_factory)


def _records(path, lay, chunk, batch):
    out = []
    for rt, b in read_file(path, lay, chunk_size=chunk, batch_size=batch):
        out += [(rt, r) for r in b.to_pylist()]
    return sorted(out, key=lambda x: x[1]["_record_no"])


# Mostly cells a clean chunk is made of, so that many chunks take the one-call path; now and then a
# cell that sends its chunk record by record (a line end or CR inside quotes, a quote, a comma).
CELLS = ["A", "B", "12", "山田", "x", ""] * 6 + ["C", "a,b", 'q"q', "改\n行", "cr\r"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.sampled_from(CELLS), min_size=0, max_size=4), max_size=20),
       muts=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), max_size=2), term=st.sampled_from(["crlf", "lf"]), chunk=st.integers(1, 120), batch=st.integers(1, 6),
       kind=st.sampled_from(["delimited", "uniform", "single"]))
@example(rows=[["A", "cr\r", "1"], ["B", "1"]], muts=[], term="crlf", chunk=100, batch=5, kind="delimited")       # CR inside quotes
@example(rows=[["A", "改\n行", "1"], ["B", "1"]], muts=[], term="lf", chunk=100, batch=5, kind="delimited")     # line end inside quotes
@example(rows=[["A", "x", "1", "x"], ["B"], ["C", "1"], []], muts=[], term="crlf", chunk=100, batch=2, kind="delimited")  # counts, type
@example(rows=[["A", "山田", "1"]] * 3, muts=[(14, 0x81)], term="lf", chunk=100, batch=5, kind="delimited")     # a byte that does not decode
@example(rows=[["A", "x", "1"], ["A", "x"], [], ["B", "1", "2", "3"], ["C", "1", "2"], ["B", "", "12"]], muts=[],
         term="crlf", chunk=1000, batch=4, kind="uniform")                                 # Arrow: counts, empty, type
@example(rows=[["A", "x", "1"], ["B", "", "1"]], muts=[], term="lf", chunk=1000, batch=4, kind="uniform")
@example(rows=[["A", "x", "1"], [], ["A", "y", "2"]], muts=[], term="crlf", chunk=1000, batch=4, kind="single")
def test_one_call_split_reads_like_record_by_record(tmp_path_factory, monkeypatch, rows, muts, term, chunk, batch,
                                                    kind):
    """The delimited reader splits a whole chunk in one call when it can; every value, error, offset
    and raw byte string is the same as when each record is parsed alone (the path it falls back to)."""
    import csv
    import io

    from kikan_hub.adapters import reader as reader_mod
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if term == "crlf" else "\n")
    for r in rows:
        w.writerow(r)
    data = bytearray(buf.getvalue().encode("cp932"))
    for pos, val in muts:
        if data:
            data[pos % len(data)] = val
    p = tmp_path_factory.mktemp("p") / "f.csv"
    p.write_bytes(bytes(data))
    lay = layout(term, kind)
    fast = _records(p, lay, chunk, batch)
    with monkeypatch.context() as m:
        m.setattr(reader_mod._DelimitedReader, "_split_chunk", lambda self, *a: None)
        slow = _records(p, lay, chunk, batch)
    assert fast == slow


@pytest.fixture
def split_calls(monkeypatch) -> list:
    """What each one-call split of the delimited reader returned (None: read record by record)."""
    from kikan_hub.adapters import reader as reader_mod
    calls: list = []
    real = reader_mod._DelimitedReader._split_chunk
    monkeypatch.setattr(reader_mod._DelimitedReader, "_split_chunk",
                        lambda self, *a: calls.append(r := real(self, *a)) or r)
    return calls


def test_one_call_split_is_taken_for_clean_chunks(tmp_path, split_calls):
    """The fast path is not dead code: a clean file is split in one call per chunk."""
    calls = split_calls
    p = tmp_path / "f.csv"
    p.write_bytes("".join(f"A,山田{i},{i}\r\nB,{i}\r\n" for i in range(100)).encode("cp932"))
    recs = _records(p, layout("crlf", "delimited"), 1 << 20, 64)
    assert len(recs) == 200 and not any(r["_error_rule"] for _, r in recs)
    assert calls and all(c is not None for c in calls)


def test_quote_free_text_is_split_by_arrow(tmp_path, split_calls):
    """Text without a quote character goes through Arrow's reader (columns, no Python value per
    cell); a quoted value in the chunk sends it to Python's reader — same records either way."""
    calls = split_calls
    plain = tmp_path / "plain.csv"
    plain.write_bytes("".join(f"A,山田{i},{i}\r\nB,,{i}\r\n" for i in range(100)).encode("cp932"))
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes("".join(f'A,"山田{i}",{i}\r\nB,,{i}\r\n' for i in range(100)).encode("cp932"))
    a = _records(plain, layout("crlf", "uniform"), 1 << 20, 64)
    by_arrow = [c.columns is not None for c in calls]
    calls.clear()
    b = _records(quoted, layout("crlf", "uniform"), 1 << 20, 64)
    assert by_arrow and all(by_arrow)
    assert calls and not any(c.columns is not None for c in calls)
    assert [(t, {k: v for k, v in r.items() if k not in ("_raw", "_offset")}) for t, r in a] == \
        [(t, {k: v for k, v in r.items() if k not in ("_raw", "_offset")}) for t, r in b]
    assert len(a) == 200 and not any(r["_error_rule"] for _, r in a)
