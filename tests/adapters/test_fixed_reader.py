"""Fixed-width reader: terminators, EOF byte, lengths, bad bytes, record types, numbers, trims, chunking."""
import hashlib
from decimal import Decimal

import pyarrow as pa
import pytest

from kikan_hub.adapters.numbers import encode_packed, encode_zoned
from kikan_hub.adapters.reader import META_COLUMNS, UNKNOWN_RECORD_TYPE, read_file
from kikan_hub.adapters.trailer import reconcile_trailer
from kikan_hub.layouts.legacy import parse_legacy_layout

L = 48


def layout(terminator="crlf", eof_marker="1A", encoding="cp932"):
    return parse_legacy_layout({
        "layout": "T", "format": "fixed", "encoding": encoding, "record_length": L, "terminator": terminator,
        "eof_marker": eof_marker, "discriminator": {"start": 1, "length": 1},
        "record_types": [
            {"name": "header", "code": "1", "role": "header",
             "fields": [{"name": "created", "start": 2, "length": 8, "type": "date"}]},
            {"name": "resident", "code": "2", "role": "data", "fields": [
                {"name": "atena_no", "label": "宛名番号", "start": 2, "length": 10, "type": "digits"},
                {"name": "name", "label": "氏名", "start": 12, "length": 16, "type": "text"},
                {"name": "kana", "start": 28, "length": 6, "type": "kana"},
                {"name": "amount", "start": 34, "length": 5, "type": "zoned", "scale": 2},
                {"name": "pk", "start": 39, "length": 3, "type": "packed"},
                {"name": "qty", "start": 42, "length": 4, "type": "integer", "sign": "leading"},
                {"name": "pad", "start": 46, "length": 3, "type": "filler"},
            ]},
            {"name": "trailer", "code": "9", "role": "trailer",
             "control": {"count": "count", "hash_total": {"field": "total", "of": "atena_no"}},
             "fields": [{"name": "count", "start": 2, "length": 10, "type": "digits"},
                        {"name": "total", "start": 12, "length": 15, "type": "digits"}]},
        ]})


def pad(text: str, width: int, enc="cp932") -> bytes:
    b = text.encode(enc)
    assert len(b) <= width
    return b + " ".encode(enc) * (width - len(b))


def resident(no: int, name: str = "山田　太郎", kana: str = "ﾔﾏﾀﾞ", amount="12.34", pk=5, qty=b"  -7",
             name_bytes: bytes | None = None) -> bytes:
    r = (b"2" + f"{no:010d}".encode() + (name_bytes if name_bytes is not None else pad(name, 16))
         + pad(kana, 6) + encode_zoned(amount, 5, 2, "overpunch") + encode_packed(pk, 3) + qty + b"   ")
    assert len(r) == L, len(r)
    return r


def header() -> bytes:
    return pad("120240401", L)


def trailer(count: int, total: int) -> bytes:
    return pad(f"9{count:010d}{total:015d}", L)


def join(records, term=b"\r\n"):
    return b"".join(r + term for r in records)


def read_all(path, lay, **kw):
    out = {}
    reader = read_file(path, lay, **kw)
    for rt, batch in reader:
        assert batch.schema.names[:6] == list(META_COLUMNS)
        out.setdefault(rt, []).append(batch)
    tables = {rt: pa.Table.from_batches(bs).sort_by("_record_no") for rt, bs in out.items()}
    return tables, reader.stats


def rows(table):
    return table.to_pylist()


@pytest.mark.parametrize("term,sep", [("crlf", b"\r\n"), ("lf", b"\n"), ("none", b"")])
@pytest.mark.parametrize("chunk", [3, 50, 1 << 20])
def test_terminators_and_chunks(tmp_path, term, sep, chunk):
    recs = [header()] + [resident(i) for i in range(1, 8)] + [trailer(7, 28)]
    data = join(recs, sep) + b"\x1a"
    p = tmp_path / "f.dat"
    p.write_bytes(data)
    tables, stats = read_all(p, layout(term), chunk_size=chunk, batch_size=3)
    assert stats.records == {"header": 1, "resident": 7, "trailer": 1}
    assert stats.size == len(data) and stats.sha256 == hashlib.sha256(data).hexdigest()
    assert stats.eof_marker_seen
    res = rows(tables["resident"])
    assert [r["_record_no"] for r in res] == list(range(2, 9))
    for r in res:
        assert r["_error_rule"] is None, r
        assert data[r["_offset"]:r["_offset"] + L] == r["_raw"]
    r = res[0]
    assert r["atena_no"] == "0000000001" and r["name"] == "山田　太郎" and r["kana"] == "ﾔﾏﾀﾞ"
    assert r["amount"] == Decimal("12.34") and r["pk"] == 5 and r["qty"] == -7
    assert "pad" not in r
    assert tables["resident"].schema.field("amount").type == pa.decimal128(18, 2)
    assert tables["resident"].schema.field("pk").type == pa.int64()


def test_trailing_fullwidth_and_halfwidth_spaces_trimmed_but_not_leading(tmp_path):
    recs = [resident(1, name="　山田　\u3000"), resident(2, name="ABC  "), resident(3, name="")]
    p = tmp_path / "f.dat"
    p.write_bytes(join(recs))
    tables, _ = read_all(p, layout())
    assert [r["name"] for r in rows(tables["resident"])] == ["　山田", "ABC", ""]


def test_eof_marker_only_when_declared(tmp_path):
    p = tmp_path / "f.dat"
    p.write_bytes(join([resident(1)]) + b"\x1a")
    tables, stats = read_all(p, layout(eof_marker=None))
    assert stats.records_total == 2
    bad = rows(tables[UNKNOWN_RECORD_TYPE])
    assert bad[0]["_error_rule"] == "READ-LENGTH" and bad[0]["_raw"] == b"\x1a" and bad[0]["_offset"] == L + 2


def test_last_record_without_terminator(tmp_path):
    p = tmp_path / "f.dat"
    p.write_bytes(join([resident(1)]) + resident(2))
    tables, stats = read_all(p, layout(), chunk_size=7)
    assert [r["_error_rule"] for r in rows(tables["resident"])] == [None, None]


def test_wrong_length_records_are_emitted_with_raw_and_offset(tmp_path):
    short = resident(2)[:30]
    long = resident(3) + b"XX"
    data = join([resident(1), short, long, b"", b"7" * 3, resident(4)])
    p = tmp_path / "f.dat"
    p.write_bytes(data)
    tables, stats = read_all(p, layout(), chunk_size=17)
    assert stats.records_total == 6
    res = rows(tables["resident"])
    assert [r["_record_no"] for r in res] == [1, 2, 3, 6]
    for r in res:
        assert data[r["_offset"]:r["_offset"] + len(r["_raw"])] == r["_raw"]
    assert res[1]["_error_rule"] == "READ-LENGTH" and res[1]["_raw"] == short and res[1]["name"] is None
    assert "30 バイト" in res[1]["_error_message"] and f"バイト位置 {L + 2}" in res[1]["_error_message"]
    assert res[2]["_error_rule"] == "READ-LENGTH" and res[2]["_raw"] == long
    unk = rows(tables[UNKNOWN_RECORD_TYPE])
    assert [(u["_record_no"], u["_error_rule"], u["_raw"]) for u in unk] == [(4, "READ-LENGTH", b""), (5, "READ-LENGTH", b"777")]


def test_unknown_record_type(tmp_path):
    odd = b"8" + resident(1)[1:]
    data = join([resident(1), odd])
    p = tmp_path / "f.dat"
    p.write_bytes(data)
    tables, stats = read_all(p, layout())
    u = rows(tables[UNKNOWN_RECORD_TYPE])
    assert len(u) == 1 and u[0]["_error_rule"] == "READ-RECTYPE" and u[0]["_raw"] == odd
    assert u[0]["_offset"] == L + 2 and "'8'" in u[0]["_error_message"]
    assert stats.errors == {"READ-RECTYPE": 1}


def test_undecodable_field_offset_is_exact(tmp_path):
    name = "山田".encode("cp932") + b"\x82\x0d" + b" " * 10   # 0x82 then an invalid trail byte
    assert len(name) == 16
    cut = "山田太郎".encode("cp932")[:7] + b" " * 9          # lead byte cut at 7 bytes, then space
    tail = b" " * 15 + b"\x81"                                # lead byte at the very end of the field
    data = join([resident(1), resident(2, name_bytes=name), resident(3, name_bytes=cut),
                 resident(4, name_bytes=tail), resident(5)])
    p = tmp_path / "f.dat"
    p.write_bytes(data)
    tables, stats = read_all(p, layout())
    res = rows(tables["resident"])
    assert [r["_error_rule"] for r in res] == [None, "READ-DECODE", "READ-DECODE", "READ-DECODE", None]
    rec = L + 2
    for r, pos in ((res[1], rec * 1 + 11 + 4), (res[2], rec * 2 + 11 + 6), (res[3], rec * 3 + 11 + 15)):
        assert r["_error_field"] == "name" and r["name"] is None
        assert f"バイト位置 {pos} " in r["_error_message"], (pos, r["_error_message"])
        assert data[pos] in (0x82, 0x81, 0x98)
        assert r["atena_no"] is not None  # other fields still decoded
    assert res[0]["name"] == "山田　太郎" and res[4]["name"] == "山田　太郎"


def test_gaiji_bytes_decode_to_private_use(tmp_path):
    name = "山".encode("cp932") + b"\xf0\x40" + "①髙".encode("cp932") + b"\xfa\x40"
    data = join([resident(1, name_bytes=name.ljust(16))])
    p = tmp_path / "f.dat"
    p.write_bytes(data)
    tables, _ = read_all(p, layout())
    assert rows(tables["resident"])[0]["name"] == "山\ue000①髙\u2170"


def test_bad_numbers(tmp_path):
    r1 = bytearray(resident(1)); r1[5:6] = b"X"                # digits
    r2 = bytearray(resident(2)); r2[33:38] = b"12 45"         # zoned
    r3 = bytearray(resident(3)); r3[38:41] = b"\x12\x34\x56"  # packed sign nibble 6
    r4 = bytearray(resident(4)); r4[41:45] = b"1-23"          # integer
    r5 = bytearray(resident(5)); r5[33:38] = b"     "; r5[41:45] = b"    "   # blanks are null, not errors
    p = tmp_path / "f.dat"
    p.write_bytes(join([bytes(r) for r in (r1, r2, r3, r4, r5)]))
    tables, stats = read_all(p, layout())
    res = rows(tables["resident"])
    assert [(r["_error_rule"], r["_error_field"]) for r in res] == [
        ("READ-NUMBER", "atena_no"), ("READ-NUMBER", "amount"), ("READ-NUMBER", "pk"), ("READ-NUMBER", "qty"),
        (None, None)]
    assert res[0]["atena_no"] is None and res[1]["amount"] is None and res[2]["pk"] is None and res[3]["qty"] is None
    assert res[4]["amount"] is None and res[4]["qty"] is None
    assert "12 34 56" in res[2]["_error_message"]


def test_several_failures_in_one_record_keep_every_rule(tmp_path):
    r = bytearray(resident(1, name_bytes=b"\x82\x0d" + b" " * 14)); r[5:6] = b"X"
    p = tmp_path / "f.dat"
    p.write_bytes(join([bytes(r)]))
    tables, stats = read_all(p, layout())
    row = rows(tables["resident"])[0]
    assert set(row["_error_rule"].split(",")) == {"READ-NUMBER", "READ-DECODE"}
    assert row["_error_field"] == "atena_no,name"  # every failing field, in the order found
    assert "atena_no" in row["_error_message"] and " / " in row["_error_message"]


def test_ebcdic_layout_with_ibm930(tmp_path):
    from kikan_hub.adapters.codecs import get_codec
    c = get_codec("ibm930")
    lay = parse_legacy_layout({"layout": "M", "format": "fixed", "encoding": "ibm930", "record_length": 20,
                               "terminator": "none", "record_types": [{"name": "r", "fields": [
                                   {"name": "no", "start": 1, "length": 4, "type": "digits"},
                                   {"name": "name", "start": 5, "length": 10, "type": "text"},
                                   {"name": "amt", "start": 15, "length": 3, "type": "packed"},
                                   {"name": "z", "start": 18, "length": 3, "type": "zoned"}]}]})
    def rec(no, name):
        nb = c.encode(name)
        return c.encode(f"{no:04d}") + nb + c.encode(" ") * (10 - len(nb)) + encode_packed(-12, 3) + encode_zoned(7, 3, style="ebcdic")
    data = rec(1, "山田") + rec(2, "ｱｲｳ") + rec(3, "")
    p = tmp_path / "m.dat"
    p.write_bytes(data)
    tables, stats = read_all(p, lay, chunk_size=13)
    res = rows(tables["r"])
    assert [(r["no"], r["name"], r["amt"], r["z"]) for r in res] == [("0001", "山田", -12, 7), ("0002", "ｱｲｳ", -12, 7),
                                                                       ("0003", "", -12, 7)]


def test_trailer_reconciliation(tmp_path):
    data = join([header()] + [resident(i) for i in (1, 2, 3)] + [trailer(3, 6)])
    p = tmp_path / "f.dat"
    p.write_bytes(data)
    lay = layout()
    tables, stats = read_all(p, lay)
    control = [dict(r, _record_type="trailer") for r in rows(tables["trailer"])]
    values = {"atena_no": [tables["resident"].column("atena_no")]}
    res = reconcile_trailer(lay, control, values, dict(stats.records))
    assert {(r["kind"], r["expected"], r["actual"], r["ok"]) for r in res} == {("count", 3, 3, True), ("hash_total", 6, 6, True)}
    res = reconcile_trailer(lay, control, values, {"resident": 4})
    assert [r["ok"] for r in res if r["kind"] == "count"] == [False]
    missing = reconcile_trailer(lay, [], values, dict(stats.records))
    assert missing and not any(r["ok"] for r in missing) and "トレーラレコード" in missing[0]["message"]


def test_reader_is_lazy_and_stats_complete_only_at_end(tmp_path):
    p = tmp_path / "f.dat"
    p.write_bytes(join([resident(i) for i in range(1, 10)]))
    it = read_file(p, layout(), batch_size=2, chunk_size=60)
    next(it)
    assert not it.stats.complete and it.stats.sha256 is None
    for _ in it:
        pass
    assert it.stats.complete and it.stats.records == {"resident": 9}
