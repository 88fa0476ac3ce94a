"""Delimited (CSV) reader in the declared encoding: quoting, embedded newlines, offsets, record types."""
import pyarrow as pa

from kikan_hub.adapters.reader import UNKNOWN_RECORD_TYPE, read_file
from kikan_hub.layouts.legacy import parse_legacy_layout


def layout(header=False, terminator="crlf"):
    return parse_legacy_layout({
        "layout": "C", "format": "delimited", "encoding": "cp932", "terminator": terminator, "header": header,
        "eof_marker": "1A", "discriminator": {"column": 1},
        "record_types": [
            {"name": "resident", "code": "2", "fields": [
                {"name": "kubun", "column": 1, "type": "code"},
                {"name": "atena_no", "column": 2, "type": "digits"},
                {"name": "name", "column": 3, "type": "text"},
                {"name": "qty", "column": 4, "type": "integer", "sign": "leading"}]},
            {"name": "trailer", "code": "9", "role": "trailer", "fields": [
                {"name": "kubun", "column": 1, "type": "code"}, {"name": "count", "column": 2, "type": "digits"}]},
        ]})


def read(path, lay, **kw):
    out = {}
    r = read_file(path, lay, **kw)
    for rt, b in r:
        out.setdefault(rt, []).append(b)
    return {k: pa.Table.from_batches(v).sort_by("_record_no").to_pylist() for k, v in out.items()}, r.stats


def test_quoting_and_offsets(tmp_path):
    lines = ['2,0000000001,"山田, 太郎",5', '2,0000000002,"改行\r\nあり ""引用""",-3', '2,0000000003,髙橋　,+0', "9,3"]
    data = ("\r\n".join(lines) + "\r\n").encode("cp932") + b"\x1a"
    p = tmp_path / "f.csv"
    p.write_bytes(data)
    for chunk in (1, 5, 1 << 20):
        t, stats = read(p, layout(), chunk_size=chunk, batch_size=2)
        res = t["resident"]
        assert [r["name"] for r in res] == ["山田, 太郎", '改行\r\nあり "引用"', "髙橋"]
        assert [r["qty"] for r in res] == [5, -3, 0]
        for r in res:
            assert r["_error_rule"] is None
            assert data[r["_offset"]:r["_offset"] + len(r["_raw"])] == r["_raw"]
        assert t["trailer"][0]["count"] == "3" and t["trailer"][0]["_record_no"] == 4
        assert stats.records == {"resident": 3, "trailer": 1} and stats.eof_marker_seen


def test_errors(tmp_path):
    lines = [b"2,0000000001,ok,1", b"2,0000000002,\x82\x0d,1", b"2,00000000X3,x,1", b"2,1,2", b"7,1,2,3", b""]
    data = b"\n".join(lines) + b"\n"
    p = tmp_path / "f.csv"
    p.write_bytes(data)
    t, stats = read(p, layout(terminator="lf"))
    res = t["resident"]
    assert [(r["_record_no"], r["_error_rule"], r["_error_field"]) for r in res] == [
        (1, None, None), (2, "READ-DECODE", "name"), (3, "READ-NUMBER", "atena_no"), (4, "READ-LENGTH", None)]
    bad_at = data.index(b"\x82")
    assert f"バイト位置 {bad_at} " in res[1]["_error_message"]
    unk = t[UNKNOWN_RECORD_TYPE]
    assert [(u["_record_no"], u["_error_rule"]) for u in unk] == [(5, "READ-RECTYPE"), (6, "READ-RECTYPE")]
    assert stats.records_total == 6


def test_header_row_is_checked_and_counted(tmp_path):
    data = "区分,宛名番号,氏名,数量\r\n2,0000000001,山田,1\r\n".encode("cp932")
    p = tmp_path / "f.csv"
    p.write_bytes(data)
    t, stats = read(p, layout(header=["区分", "宛名番号", "氏名", "数量"]))
    assert stats.header_lines == 1 and stats.records == {"_header_line": 1, "resident": 1}
    assert t["resident"][0]["_record_no"] == 2 and t["resident"][0]["_offset"] == data.index(b"2,")


def test_utf8_bom_before_the_header_line(tmp_path):
    """A UTF-8 file with a byte order mark (as Excel and the city sample's NewCARATS write it): the BOM is the
    file's signature, not part of the first column's name; the header line keeps its bytes (BOM included)."""
    from kikan_hub.adapters.reader import check_header

    data = b"\xef\xbb\xbf" + "区分,宛名番号,氏名,数量\r\n2,0000000001,山田,1\r\n".encode("utf-8")
    p = tmp_path / "f.csv"
    p.write_bytes(data)
    lay = parse_legacy_layout({
        "layout": "C", "format": "delimited", "encoding": "utf-8", "terminator": "crlf",
        "header": ["区分", "宛名番号", "氏名", "数量"], "discriminator": {"column": 1},
        "record_types": [{"name": "resident", "code": "2", "fields": [
            {"name": "kubun", "column": 1, "type": "code"}, {"name": "atena_no", "column": 2, "type": "digits"},
            {"name": "name", "column": 3, "type": "text"}, {"name": "qty", "column": 4, "type": "integer"}]}]})
    assert check_header(p, lay) is None
    t, stats = read(p, lay)
    assert stats.records == {"_header_line": 1, "resident": 1}
    assert t["_header_line"][0]["_raw"].startswith(b"\xef\xbb\xbf")
    assert t["resident"][0]["name"] == "山田" and t["resident"][0]["_offset"] == data.index(b"2,")
    # a BOM is not skipped in a CP932 file: there it is bytes of the first column
    p.write_bytes(b"\xef\xbb\xbf" + "区分,宛名番号,氏名,数量\r\n".encode("cp932"))
    assert check_header(p, layout(header=["区分", "宛名番号", "氏名", "数量"])) is not None
