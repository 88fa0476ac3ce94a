"""`kikan preview LAYOUT FILE`: the first records sliced by the layout, field by field — offsets,
bytes, values and every failing field's error — for fixed and delimited files, on the console and
as JSON Lines (issue 16)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from kikan_testenv import run_kikan as kikan

from kikan_hub.adapters.preview import preview_records
from kikan_hub.layouts.legacy import parse_legacy_layout

FIXED = {
    "layout": "P", "format": "fixed", "encoding": "cp932", "record_length": 24, "terminator": "crlf",
    "discriminator": {"start": 1, "length": 1},
    "record_types": [
        {"name": "header", "code": "1", "role": "header", "fields": [
            {"name": "created", "label": "作成日", "start": 2, "length": 8, "type": "date"},
            {"name": "pad", "start": 10, "length": 15, "type": "filler"}]},
        {"name": "resident", "code": "2", "role": "data", "fields": [
            {"name": "atena_no", "label": "宛名番号", "start": 2, "length": 5, "type": "digits"},
            {"name": "name", "label": "氏名", "start": 7, "length": 10, "type": "text"},
            {"name": "qty", "start": 17, "length": 4, "type": "integer", "sign": "leading"},
            {"name": "pad", "start": 21, "length": 4, "type": "filler"}]}]}


def fixed_file(tmp_path: Path) -> Path:
    recs = [b"120240401" + b" " * 15,
            b"200012" + "山田　太郎".encode("cp932") + b"  -7" + b"    ",
            b"20X013" + b"\x82\x0d" + b" " * 8 + b"12a4" + b"    ",   # two bad fields in one record
            b"200014" + "髙橋".encode("cp932")]                          # short: the record ends early
    p = tmp_path / "F.DAT"
    p.write_bytes(b"\r\n".join(recs) + b"\r\n" + b"200015" + b" " * 18 + b"\r\n")
    return p


def test_fixed_records_field_by_field(tmp_path):
    recs = preview_records(fixed_file(tmp_path), parse_legacy_layout(FIXED), limit=4)
    assert [r["record_no"] for r in recs] == [1, 2, 3, 4]                 # the limit, in file order
    assert [r["offset"] for r in recs] == [0, 26, 52, 78]
    ok = {f["field"]: f for f in recs[1]["fields"]}
    assert ok["atena_no"] == {**ok["atena_no"], "offset": 27, "bytes": "3030303132", "value": "00012", "rule": None}
    assert ok["name"]["value"] == "山田　太郎" and ok["name"]["offset"] == 32
    assert ok["qty"]["value"] == -7 and ok["qty"]["bytes"] == "2020 2d37".replace(" ", "")
    assert ok["pad"]["value"] is None and ok["pad"]["bytes"] == "20202020"
    bad = {f["field"]: f for f in recs[2]["fields"]}
    # every failing field of the record has its own error, not only the first
    assert bad["atena_no"]["rule"] == "READ-NUMBER" and "0X013" in bad["atena_no"]["error"]
    assert bad["name"]["rule"] == "READ-DECODE" and "82 0D" in bad["name"]["error"] and bad["name"]["offset"] == 58
    assert bad["qty"]["rule"] == "READ-NUMBER"
    short = recs[3]
    assert short["rule"] == "READ-LENGTH" and short["length"] == 10
    s = {f["field"]: f for f in short["fields"]}
    assert s["name"]["rule"] == "READ-LENGTH" and bytes.fromhex(s["name"]["bytes"]) == "髙橋".encode("cp932")


def test_delimited_columns_have_their_byte_offsets(tmp_path):
    lay = parse_legacy_layout({
        "layout": "C", "format": "delimited", "encoding": "cp932", "terminator": "crlf",
        "record_types": [{"name": "resident", "fields": [
            {"name": "atena_no", "column": 1, "type": "digits"}, {"name": "name", "column": 2, "type": "text"},
            {"name": "qty", "column": 3, "type": "integer", "sign": "leading"}]}]})
    p = tmp_path / "f.csv"
    p.write_bytes('00001,"山田, 太郎",5\r\n0000X,"改行\r\nあり ""引用""",x\r\n'.encode("cp932"))
    recs = preview_records(p, lay, limit=5)
    assert len(recs) == 2
    f = {x["field"]: x for x in recs[0]["fields"]}
    assert f["name"]["value"] == "山田, 太郎" and f["name"]["offset"] == 6
    assert bytes.fromhex(f["name"]["bytes"]) == '"山田, 太郎"'.encode("cp932")
    assert f["qty"]["value"] == 5 and f["qty"]["offset"] == 6 + len('"山田, 太郎",'.encode("cp932"))
    g = {x["field"]: x for x in recs[1]["fields"]}
    assert g["name"]["value"] == '改行\r\nあり "引用"'
    assert g["atena_no"]["rule"] == "READ-NUMBER" and g["qty"]["rule"] == "READ-NUMBER"


def test_cli_json_lines_and_console(tmp_path):
    lay = tmp_path / "layout.yaml"
    lay.write_text(yaml.safe_dump(FIXED, allow_unicode=True), encoding="utf-8")
    data = fixed_file(tmp_path)
    proc = kikan("preview", str(lay), str(data), "--limit", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and [json.loads(x)["record_no"] for x in lines] == [1, 2, 3]
    proc = kikan("preview", str(lay), str(data), "--limit", "3")
    assert proc.returncode == 0, proc.stderr
    assert "宛名番号" in proc.stdout and "「山田　太郎」" in proc.stdout and "READ-DECODE" in proc.stdout
    assert "82 0D" in proc.stdout


def test_cli_errors_are_usage_errors(tmp_path):
    lay = tmp_path / "layout.yaml"
    lay.write_text(yaml.safe_dump(FIXED, allow_unicode=True), encoding="utf-8")
    proc = kikan("preview", str(lay), str(tmp_path / "missing.dat"))
    assert proc.returncode == 2 and "missing.dat" in proc.stderr and "Traceback" not in proc.stderr
    proc = kikan("preview", str(lay), str(fixed_file(tmp_path)), "--encoding", "no-such")
    assert proc.returncode == 2 and "no-such" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "bad.yaml").write_text("layout: X\nformat: fixed\n", encoding="utf-8")
    proc = kikan("preview", str(tmp_path / "bad.yaml"), str(fixed_file(tmp_path)))
    assert proc.returncode == 2 and "bad.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_occurs_fields_are_shown_per_occurrence(tmp_path):
    lay = parse_legacy_layout({
        "layout": "O", "format": "fixed", "encoding": "cp932", "record_length": 10, "terminator": "crlf",
        "record_types": [{"name": "r", "fields": [
            {"name": "no", "start": 1, "length": 2, "type": "digits"},
            {"name": "tel", "start": 3, "length": 2, "type": "digits", "occurs": 4}]}]})
    p = tmp_path / "o.dat"
    p.write_bytes(b"0111223X44\r\n")
    (rec,) = preview_records(p, lay)
    got = [(f["field"], f["offset"], f["value"], f["rule"]) for f in rec["fields"]]
    assert got == [("no", 0, "01", None), ("tel(1)", 2, "11", None), ("tel(2)", 4, "22", None),
                   ("tel(3)", 6, None, "READ-NUMBER"), ("tel(4)", 8, "44", None)]


def test_fixed_values_of_many_records_are_those_of_one_at_a_time():
    """The quarantine sheets decode whole columns (fixed_values); each value and rule is what
    fixed_field gives for the record alone — good records, bad digits, bytes that do not decode,
    a sign where none belongs, a filler."""
    from kikan_hub.adapters.codecs import get_codec
    from kikan_hub.adapters.preview import expanded, fixed_field, fixed_values

    rt = parse_legacy_layout(FIXED).record_type("resident")
    raws = [b"200012" + "山田　太郎".encode("cp932") + b"  -7" + b"    ",
            b"20X013" + b"\x82\x0d" + b" " * 8 + b"12a4" + b"    ",
            b"200014" + "髙橋".encode("cp932").ljust(10) + b"+123" + b"    ",
            b"2     " + b" " * 10 + b"    " + b"    "]
    offsets = [0, 26, 52, 78]
    codec = get_codec("cp932")
    fields = expanded(rt.fields)
    many = fixed_values(fields, raws, offsets, codec)
    one = [[(d["value"], d["rule"]) for d in (fixed_field(f, raw, off, codec) for f in fields)]
           for raw, off in zip(raws, offsets)]
    assert many == one
    assert {rule for row in many for _, rule in row} >= {None, "READ-NUMBER", "READ-DECODE"}


def test_delimited_values_of_many_records_are_those_of_one_at_a_time():
    """delimited_values (the quarantine sheets) gives each record what delimited_fields gives it alone:
    quoted and plain columns, a missing column, bytes that do not decode, a bad number."""
    from kikan_hub.adapters.codecs import get_codec
    from kikan_hub.adapters.preview import delimited_fields, delimited_values

    lay = parse_legacy_layout({"layout": "D", "format": "delimited", "encoding": "cp932", "record_types": [
        {"name": "r", "fields": [{"name": "no", "column": 1, "type": "digits"},
                                 {"name": "name", "label": "氏名", "column": 2, "type": "text"},
                                 {"name": "qty", "column": 3, "type": "integer"},
                                 {"name": "pad", "column": 4, "type": "filler"}]}]})
    rt = lay.record_types[0]
    raws = ["1,山田,12,x".encode("cp932"), '2,"髙橋, 一",-3,'.encode("cp932"), b"3,\x82\x0d,4,",
            b"4,abc", b"x5,a,1a,", b""]
    offsets = [0, 20, 40, 60, 80, 100]
    codec = get_codec("cp932")
    many = delimited_values(lay, rt, raws, offsets, codec)
    one = [[(d["value"], d["rule"]) for d in delimited_fields(lay, rt, raw, off, codec)]
           for raw, off in zip(raws, offsets)]
    assert many == one
    assert {rule for row in many for _, rule in row} >= {None, "READ-DECODE", "READ-LENGTH", "READ-NUMBER"}
