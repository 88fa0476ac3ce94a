"""Fuzzing the byte-level adapters: codecs, zoned/packed numbers, the reader in every codec,
the legacy layout loader (random YAML), era-date parsing and gaiji resolution.

Complements tests/adapters/test_reader_properties.py (CP932 fixed / delimited mutations):
here every codec, EBCDIC fixed blocks, and the units the reader calls. Settings: fuzz_settings.py.
"""
from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml
from hypothesis import assume, given, strategies as st

from fuzz_settings import fuzz
from kikan_hub.adapters.codecs import DecodeFailure, EncodeFailure, get_codec
from kikan_hub.adapters.numbers import decode_packed, decode_zoned, encode_packed, encode_zoned
from kikan_hub.adapters.reader import read_file
from kikan_hub.layouts.errors import LayoutError
from kikan_hub.layouts.legacy import load_legacy_layout, parse_legacy_layout
from kikan_hub.mapping.era_dates import load_eras, parse_dates

CODECS = ["cp932", "shift_jis", "euc_jp", "utf-8", "ibm930", "ibm1390", "jef-ebcdik", "keis83", "jips-j", "jips-e"]
JP_TEXT = st.text(st.sampled_from(list("山田太郎髙橋𠮷渡邊アイウｱｲｳ〜～－−‖∥¢£¬①Ⅰ㈱ abc123、。") + ["\ue000", "\ue001"]), max_size=8)


# --------------------------------------------------------------------------- codecs

@pytest.mark.parametrize("name", CODECS)
@fuzz(150)
@given(data=st.binary(max_size=64))
def test_codec_decode_random_bytes(name, data):
    """Any bytes: a string, or DecodeFailure pointing inside the data — never another exception."""
    codec = get_codec(name)
    try:
        text = codec.decode(data)
    except DecodeFailure as exc:
        assert 0 <= exc.position < max(1, len(data)) + 1, exc
        return
    assert isinstance(text, str)
    # What decoded re-encodes to bytes that decode to the same text (duplicates may pick another code).
    try:
        again = codec.encode(text)
    except EncodeFailure:
        return
    assert codec.decode(again) == text


@pytest.mark.parametrize("name", CODECS)
@fuzz(100)
@given(text=JP_TEXT)
def test_codec_encode_text(name, text):
    codec = get_codec(name)
    try:
        data = codec.encode(text)
    except EncodeFailure as exc:
        assert 0 <= exc.position < len(text)
        return
    assert codec.decode(data) == text or name in ("cp932", "shift_jis", "euc_jp")
    assert codec.encode(codec.decode(data)) == data


# --------------------------------------------------------------------------- numbers

@fuzz(200)
@given(rows=st.lists(st.binary(min_size=1, max_size=10), min_size=1, max_size=8), width=st.integers(1, 10))
def test_zoned_packed_random_blocks(rows, width):
    block = np.frombuffer(b"".join(r.ljust(width, b"\0")[:width] for r in rows), dtype=np.uint8).reshape(len(rows), width)
    for decode in (decode_zoned, decode_packed):
        values, valid = decode(block)
        assert values.shape == valid.shape == (len(rows),)


@fuzz(200)
@given(value=st.integers(-(10 ** 17) + 1, 10 ** 17 - 1), style=st.sampled_from(["ascii", "overpunch", "ebcdic"]))
def test_zoned_packed_round_trip(value, style):
    z = encode_zoned(value, 18, 0, style) if style != "ascii" or value >= 0 else encode_zoned(abs(value), 18, 0, style)
    vals, ok = decode_zoned(np.frombuffer(z, dtype=np.uint8).reshape(1, -1))
    assert ok[0] and vals[0] == (value if style != "ascii" else abs(value))
    p = encode_packed(value, 10)
    vals, ok = decode_packed(np.frombuffer(p, dtype=np.uint8).reshape(1, -1))
    assert ok[0] and vals[0] == value


# --------------------------------------------------------------------------- reader, every codec

def _layout(encoding: str, term: str):
    return parse_legacy_layout({
        "layout": "F", "format": "fixed", "encoding": encoding, "record_length": 20, "terminator": term,
        "discriminator": {"start": 1, "length": 1}, "record_types": [
            {"name": "a", "code": "A" if encoding != "ibm930" else "A", "role": "data", "fields": [
                {"name": "t", "start": 2, "length": 12, "type": "text"},
                {"name": "d", "start": 14, "length": 3, "type": "digits"},
                {"name": "p", "start": 17, "length": 2, "type": "packed"},
                {"name": "z", "start": 19, "length": 2, "type": "zoned"}]}]})


def _record(codec, text: str, i: int, ebcdic: bool) -> bytes:
    try:
        t = codec.encode(text)
    except EncodeFailure:
        t = b""
    t = t[:12].ljust(12, b"\x40" if ebcdic else b" ")
    head, digits = (codec.encode("A"), codec.encode(f"{i % 1000:03d}"))
    return head + t + digits + encode_packed(i % 100, 2) + encode_zoned(i % 100, 2, 0, "ebcdic" if ebcdic else "overpunch")


@pytest.mark.parametrize("name", CODECS)
@fuzz(40)
@given(texts=st.lists(JP_TEXT, max_size=12), muts=st.lists(st.tuples(st.integers(0, 10 ** 5), st.integers(0, 255)), max_size=8),
       term=st.sampled_from(["crlf", "lf", "none"]), cut=st.integers(0, 25), batch=st.integers(1, 5),
       chunk=st.integers(1, 97))
def test_reader_every_codec_mutated(tmp_path_factory, name, texts, muts, term, cut, batch, chunk):
    """Every record comes out exactly once (loaded or flagged), its _raw equals the source bytes at its offset."""
    codec = get_codec(name)
    ebcdic = codec.stateful  # the mainframe encodings: fixed blocks, EBCDIC numbers
    assume(not (ebcdic and term != "none"))
    sep = {"crlf": b"\r\n", "lf": b"\n", "none": b""}[term]
    data = bytearray(b"".join(_record(codec, t, i, ebcdic) + sep for i, t in enumerate(texts)))
    for pos, val in muts:
        if data:
            data[pos % len(data)] = val
    data = bytes(data[:len(data) - cut] if cut < len(data) else data)
    p = tmp_path_factory.mktemp("rd") / "f.dat"
    p.write_bytes(data)
    reader = read_file(p, _layout(name, term), encoding=name, batch_size=batch, chunk_size=chunk)
    seen = []
    for _rt, b in reader:
        for r in b.select(["_record_no", "_offset", "_raw", "_error_rule"]).to_pylist():
            assert data[r["_offset"]:r["_offset"] + len(r["_raw"])] == r["_raw"]
            assert r["_error_rule"] in (None, "READ-LENGTH", "READ-DECODE", "READ-RECTYPE", "READ-NUMBER") or \
                set(r["_error_rule"].split(",")) <= {"READ-LENGTH", "READ-DECODE", "READ-RECTYPE", "READ-NUMBER"}
            seen.append((r["_record_no"], r["_offset"], len(r["_raw"])))
    seen.sort()
    assert [n for n, _, _ in seen] == list(range(1, len(seen) + 1))
    # Records tile the file in order: between two records only a terminator, after the last
    # one only a terminator / EOF mark — no byte of the source is skipped.
    pos = 0
    for _, off, n in seen:
        gap = data[pos:off]
        assert off >= pos and len(gap) <= 2 and set(gap) <= set(b"\r\n"), (pos, off, gap)
        pos = off + n
    assert len(data) - pos <= 3 and set(data[pos:]) <= set(b"\r\n\x1a"), data[pos:]
    if not muts and not cut:
        assert len(seen) == len(texts)


# --------------------------------------------------------------------------- legacy layouts

VALID = {"layout": "L", "format": "fixed", "record_length": 10, "terminator": "crlf",
         "discriminator": {"start": 1, "length": 1},
         "record_types": [{"name": "h", "code": "1", "role": "header", "fields": [
             {"name": "k", "start": 1, "length": 1, "type": "text"}]},
             {"name": "d", "code": "2", "role": "data", "fields": [
                 {"name": "k", "start": 1, "length": 1, "type": "text"},
                 {"name": "n", "start": 2, "length": 4, "type": "zoned", "scale": 1},
                 {"name": "x", "start": 6, "length": 5, "type": "date", "date_format": "era_code"}]},
             {"name": "t", "code": "9", "role": "trailer", "control": {"count": "c"}, "fields": [
                 {"name": "k", "start": 1, "length": 1, "type": "text"},
                 {"name": "c", "start": 2, "length": 9, "type": "integer"}]}]}

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 500), st.text(max_size=6),
                    st.sampled_from(["fixed", "delimited", "crlf", "lf", "none", "text", "zoned", "packed", "digits",
                                     "date", "code", "filler", "kana", "integer", "data", "header", "trailer", ",", "1A"]))
YAMLISH = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=12)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@fuzz(300)
@given(data=st.data())
def test_layout_loader_mutated_definitions(data):
    """A mutated layout definition loads or raises LayoutError (a message for the user) — nothing else."""
    import copy
    doc = copy.deepcopy(VALID)
    paths = [p for p in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            if data.draw(st.booleans()):
                parent[path[-1]] = data.draw(YAMLISH)
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            pass
    try:
        parse_legacy_layout(doc)
    except LayoutError as exc:
        assert str(exc)


def test_layout_control_count_not_a_string_is_a_layout_error():
    import copy
    doc = copy.deepcopy(VALID)
    doc["record_types"][2]["control"]["count"] = []
    with pytest.raises(LayoutError):
        parse_legacy_layout(doc)


@fuzz(200)
@given(text=st.one_of(st.text(max_size=200), st.builds(yaml.safe_dump, YAMLISH),
                      st.binary(max_size=120).map(lambda b: b.decode("latin-1"))))
def test_layout_loader_random_yaml_files(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("lay") / "layout.yaml"
    p.write_text(text, encoding="utf-8", errors="surrogatepass") if "\ud800" not in text else p.write_bytes(b"\xff")
    try:
        load_legacy_layout(p)
    except LayoutError as exc:
        assert str(p) in str(exc) or exc.path == p


# --------------------------------------------------------------------------- era dates

ERA_CODES = {"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}
LITERALS = st.one_of(st.text(string.digits, max_size=9), st.text(string.digits + "MTSHR9 -/年月日", max_size=9),
                     st.text(max_size=9))


@pytest.mark.parametrize("fmt", ["western", "era_code", "era_letter"])
@fuzz(200)
@given(values=st.lists(st.one_of(st.none(), LITERALS), max_size=20))
def test_era_dates_never_crash(fmt, values):
    out = parse_dates(pa.array(values, pa.string()), fmt, ERA_CODES)
    n = len(values)
    assert len(out.iso) == len(out.literal) == len(out.unknown) == len(out.invalid) == len(out.reason) == n
    iso = out.iso.to_pylist()
    for i in range(n):
        if out.invalid[i]:
            assert iso[i] is None and out.reason[i]
        elif iso[i] is not None:
            assert values[i]  # a date only from a literal


@fuzz(300)
@given(day=st.dates(dt.date(1868, 10, 23), dt.date(2099, 12, 31)))
def test_era_dates_agree_with_calendar(day):
    """Every real day written in each format parses back to itself; the day before an era is not in it."""
    eras, _ = load_eras()
    era = [e for e in eras if e.start <= day][-1]
    y = day.year - era.start.year + 1
    assume(y <= 99)
    code = {v: k for k, v in ERA_CODES.items()}[era.name]
    lits = {"western": day.strftime("%Y%m%d"), "era_code": f"{code}{y:02d}{day:%m%d}",
            "era_letter": f"{era.letter}{y:02d}{day:%m%d}"}
    for fmt, lit in lits.items():
        out = parse_dates(pa.array([lit]), fmt, ERA_CODES)
        assert not out.invalid[0], (fmt, lit, out.reason[0])
        assert out.iso.to_pylist()[0] == day, (fmt, lit)
    before = era.start - dt.timedelta(days=1)
    if before.year - era.start.year + 1 == 1:  # same era year number, the day before the era began
        out = parse_dates(pa.array([f"{code}01{before:%m%d}"]), "era_code", ERA_CODES)
        assert out.invalid[0], f"{era.name}元年{before:%m月%d日} is before {era.name} began"


# --------------------------------------------------------------------------- gaiji resolution

REGISTER = Path(__file__).resolve().parents[2] / "kikan_hub" / "sample" / "assets"


@pytest.fixture(scope="module")
def resolver(tmp_path_factory):
    from kikan_hub.gaiji.resolve import Resolver
    reg = tmp_path_factory.mktemp("reg") / "gaiji_register.csv"
    reg.write_text(
        "source_system,source_code,pua,glyph_note,mj,gj,ucs,status,decided_by,decided_at\n"
        "旧住記 (架空),F040,U+E000,つちよし,MJ032129,,20BB7,同定済,市民課,2024-02-01\n"
        "旧住記 (架空),F041,U+E001,﨑の異体,MJ042849,,2550E,同定済,市民課,2024-02-01\n"
        "旧住記 (架空),F042,U+E002,辻 (二点しんにょう),MJ028902,,8FBB E0101,同定済,市民課,2024-02-01\n"
        "旧住記 (架空),F043,U+E003,未詳,,,,未同定,市民課,2024-02-01\n", encoding="utf-8")
    return Resolver.from_register(reg)


@fuzz(300)
@given(values=st.lists(st.one_of(st.none(), st.text(st.sampled_from(list("山田辻ab ") + [chr(c) for c in range(0xE000, 0xE008)]),
                                                       max_size=10)), max_size=10))
def test_gaiji_resolve_random_text(resolver, values):
    arr = pa.array(values, pa.string())
    resolved, unresolved = resolver.resolve_array(arr)
    out = resolved.to_pylist()
    assert len(out) == len(values)
    for v, r in zip(values, out):
        if v is None:
            assert r is None
            continue
        # Characters outside the private-use area pass through unchanged, in order.
        assert [c for c in r if not 0xE000 <= ord(c) <= 0xF8FF and c not in "\U00020BB7\U0002550E\U000E0101辻"] == \
               [c for c in v if not 0xE000 <= ord(c) <= 0xF8FF and c != "辻"]
        for c in "\ue000\ue001\ue002":
            assert c not in r
    leftover = {c for v in values if v for c in v if 0xE003 <= ord(c) <= 0xE007}
    assert bool(leftover) == bool(unresolved)
