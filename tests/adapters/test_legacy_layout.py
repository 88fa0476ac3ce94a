"""Legacy layout loader: valid layouts load into frozen dataclasses; every mistake names file, record type, field."""
import dataclasses
import textwrap

import pytest

from kikan_hub.layouts.errors import LayoutError
from kikan_hub.layouts.legacy import LegacyLayout, load_legacy_layout, parse_legacy_layout

GOOD = textwrap.dedent("""\
    layout: KYU-JUMIN
    description: 旧住記 住民異動履歴ファイル
    format: fixed
    encoding: cp932
    record_length: 40
    terminator: crlf
    eof_marker: "1A"
    discriminator: {start: 1, length: 1}
    era_codes: {"1": 明治, "2": 大正, "3": 昭和, "4": 平成, "5": 令和}
    record_types:
      - name: header
        code: "1"
        role: header
        fields:
          - {name: created, start: 2, length: 8, type: date, date_format: western}
      - name: resident
        code: "2"
        role: data
        fields:
          - {name: kubun, start: 1, length: 1, type: code}
          - {name: atena_no, label: 宛名番号, start: 2, length: 10, type: digits}
          - {name: name, label: 氏名, start: 12, length: 20, type: text, gaiji: true}
          - {name: amount, start: 32, length: 5, type: zoned, scale: 2}
          - {name: pk, start: 37, length: 3, type: packed}
          - {name: pad, start: 40, length: 1, type: filler}
      - name: trailer
        code: "9"
        role: trailer
        control: {count: record_count, hash_total: {field: hash_total, of: atena_no}}
        fields:
          - {name: record_count, start: 2, length: 10, type: digits}
          - {name: hash_total, start: 12, length: 15, type: digits}
    """)


def write(tmp_path, text, name="layout.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_layout_loads(tmp_path):
    lay = load_legacy_layout(write(tmp_path, GOOD))
    assert isinstance(lay, LegacyLayout)
    assert lay.id == "KYU-JUMIN" and lay.record_length == 40 and lay.terminator == "crlf"
    assert lay.eof_marker == 0x1A
    assert lay.era_codes["4"] == "平成"
    assert [rt.name for rt in lay.record_types] == ["header", "resident", "trailer"]
    res = lay.record_type("resident")
    assert res.field("name").label == "氏名" and res.field("name").gaiji
    assert res.field("amount").scale == 2
    assert [f.name for f in res.emitted_fields] == ["kubun", "atena_no", "name", "amount", "pk"]
    tr = lay.record_type("trailer")
    assert tr.control.count == "record_count"
    assert tr.control.get("hash_total") == {"field": "hash_total", "of": "atena_no"}
    assert isinstance(tr.control, dict)  # the pipeline may treat it as YAML data
    with pytest.raises(dataclasses.FrozenInstanceError):
        lay.record_length = 3
    with pytest.raises(TypeError):
        tr.control["count"] = "x"


def bad(tmp_path, old, new, count=1):
    assert old in GOOD, old
    return write(tmp_path, GOOD.replace(old, new, count))


@pytest.mark.parametrize("old,new,expect", [
    ("{name: pk, start: 37, length: 3, type: packed}", "{name: pk, start: 35, length: 3, type: packed}",
     ["record_types[1](resident)", "amount", "pk", "overlap"]),
    ("{name: pad, start: 40, length: 1, type: filler}", "{name: pad, start: 40, length: 2, type: filler}",
     ["record_types[1](resident).fields[5](pad)", "past record_length 40"]),
    ("type: zoned, scale: 2", "type: zone, scale: 2", ["record_types[1](resident).fields[3](amount).type", "'zone' is not allowed", "'packed'"]),
    ("discriminator: {start: 1, length: 1}\n", "", ["discriminator is missing"]),
    ('code: "9"', 'code: "2"', ["record_types[2](trailer)", "duplicate code '2'", "resident"]),
    ('code: "9"', 'code: ""', ["record_types[2](trailer)", "code is missing"]),
    ('code: "9"', 'code: "99"', ["record_types[2](trailer)", "not 1 byte"]),
    ("terminator: crlf", "terminator: cr", ["terminator: 'cr' is not allowed; one of 'crlf', 'lf' or 'none'"]),
    ("record_length: 40\n", "", ["record_length is required"]),
    ("role: trailer", "role: footer", ["record_types[2](trailer).role: 'footer' is not allowed", "'header', 'data' or 'trailer'"]),
    ("of: atena_no", "of: nothing", ["record_types[2](trailer).control", "hash_total of 'nothing'"]),
    ("count: record_count", "count: recs", ["record_types[2](trailer).control", "count names field 'recs'"]),
    ("name: pad, start", "name: name, start", ["record_types[1](resident)", "duplicate field names: name"]),
    ("type: date, date_format: western", "type: date, date_format: heisei", ["record_types[0](header).fields[0](created)", "date_format"]),
    ("gaiji: true", "gaiji: true, lenght: 3", ["record_types[1](resident).fields[2](name)", "unknown key 'lenght'", "allowed keys", "length"]),
    ('eof_marker: "1A"', 'eof_marker: "1AB"', ["eof_marker"]),
    ("{name: kubun, start: 1, length: 1, type: code}", "{name: kubun, start: 0, length: 1, type: code}",
     ["record_types[1](resident).fields[0](kubun).start: must be >= 1, got 0"]),
    ("type: zoned, scale: 2", "type: text, scale: 2", ["record_types[1](resident).fields[3](amount)", "scale only applies"]),
])
def test_layout_errors_are_actionable(tmp_path, old, new, expect):
    path = bad(tmp_path, old, new)
    with pytest.raises(LayoutError) as ei:
        load_legacy_layout(path)
    msg = str(ei.value)
    assert str(path) in msg
    for e in expect:
        assert e in msg, (e, msg)


def test_yaml_syntax_error_has_line_number(tmp_path):
    text = GOOD.replace("record_length: 40\n", "record_length: [40\n")
    with pytest.raises(LayoutError) as ei:
        load_legacy_layout(write(tmp_path, text))
    assert "line" in ei.value.message and "YAML" in ei.value.message


def test_duplicate_yaml_key_is_an_error(tmp_path):
    text = GOOD.replace("record_length: 40\n", "record_length: 40\nrecord_length: 41\n")
    with pytest.raises(LayoutError) as ei:
        load_legacy_layout(write(tmp_path, text))
    assert ei.value.message.startswith("line 6, column 1: duplicate key 'record_length'"), ei.value.message


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(LayoutError, match="cannot open"):
        load_legacy_layout(tmp_path / "nope.yaml")
    p = tmp_path / "sjis.yaml"
    p.write_bytes(GOOD.encode("cp932"))
    with pytest.raises(LayoutError, match="UTF-8"):
        load_legacy_layout(p)


def test_single_record_type_needs_no_discriminator():
    lay = parse_legacy_layout({"layout": "X", "format": "fixed", "record_length": 3, "terminator": "none",
                               "record_types": [{"name": "r", "fields": [{"name": "a", "start": 1, "length": 3,
                                                                          "type": "text"}]}]})
    assert lay.discriminator is None and lay.terminator == "none"


def test_delimited_layout():
    lay = parse_legacy_layout({
        "layout": "C", "format": "delimited", "delimiter": ",", "quote": '"', "discriminator": {"column": 1},
        "record_types": [
            {"name": "a", "code": "A", "fields": [{"name": "k", "column": 1, "type": "code"},
                                                  {"name": "v", "column": 2, "type": "text"}]},
            {"name": "b", "code": "B", "fields": [{"name": "k", "column": 1, "type": "code"}]},
        ]})
    assert lay.record_type("a").expected_columns == 2
    with pytest.raises(LayoutError, match="both read column 1"):
        parse_legacy_layout({"layout": "C", "format": "delimited", "record_types": [
            {"name": "a", "fields": [{"name": "k", "column": 1, "type": "code"},
                                     {"name": "v", "column": 1, "type": "text"}]}]})
    with pytest.raises(LayoutError, match="packed"):
        parse_legacy_layout({"layout": "C", "format": "delimited", "record_types": [
            {"name": "a", "fields": [{"name": "k", "column": 1, "type": "packed"}]}]})


def test_layouts_package_imports_nothing_else_of_the_hub():
    import ast
    from pathlib import Path

    import kikan_hub.layouts.legacy as mod
    for name in ("legacy.py", "errors.py"):
        tree = ast.parse((Path(mod.__file__).parent / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kikan_hub"):
                assert node.module.startswith("kikan_hub.layouts"), node.module
