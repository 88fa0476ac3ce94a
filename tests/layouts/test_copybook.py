"""COBOL copybooks → legacy layouts: pictures, usages, OCCURS, REDEFINES, level 88, line numbers in
errors; and an EBCDIC file with COMP-3, PIC N, OCCURS and REDEFINES read to the right values."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.adapters.numbers import encode_binary, encode_packed, encode_zoned
from kikan_hub.adapters.reader import read_file
from kikan_hub.api.cli import app
from kikan_hub.layouts.copybook import CopybookError, import_copybook
from kikan_hub.layouts.legacy import load_legacy_layout, parse_legacy_layout

COPYBOOK = """\
      * 住民記録 ホスト抽出 (fixed-format copybook: sequence area, indicator, area A/B)
000100 01  JUMIN-REC.
000200     05  REC-KIND            PIC X.
000300         88  KIND-PERSON     VALUE 'D'.
000400         88  KIND-TRAILER    VALUE 'T'.
000500     05  ATENA-NO            PIC 9(10).
000600     05  PERSON.
000700         10  SHIMEI          PIC N(6).
000800         10  KANA            PIC X(12).
000900         10  SEX             PIC 9.
001000             88  SEX-MALE    VALUE 1.
001100             88  SEX-FEMALE  VALUE 2.
001200         10  TAX-AMT         PIC S9(7)V99 COMP-3.
001300         10  CHILD-AGES      PIC S9(3) COMP-3 OCCURS 3 TIMES.
001400         10  ZOKU            PIC S9(4) COMP.
001500         10  POINTS          PIC S9(5)V9 USAGE IS DISPLAY.
001600         10  ADDR OCCURS 2 TIMES.
001700             15  ZIP         PIC 9(7).
001800             15  TOWN        PIC G(4).
001900         10  FILLER          PIC X(3).
002000     05  TRAILER REDEFINES PERSON.
002100         10  REC-COUNT       PIC S9(9).
002200         10  AMT-TOTAL       PIC S9(11)V99 COMP-3.
002300         10  FILLER          PIC X(40).
"""


@pytest.fixture
def copybook(tmp_path) -> Path:
    p = tmp_path / "JUMIN.cpy"
    p.write_text(COPYBOOK, encoding="utf-8")
    return p


def _layout(copybook: Path, **kw) -> dict:
    kw.setdefault("encoding", "ibm1390")
    kw.setdefault("discriminator", "rec-kind")
    kw.setdefault("codes", {"person": "D"})
    kw.setdefault("roles", {"trailer": "trailer"})
    return import_copybook(copybook, **kw)


def test_pictures_usages_and_names(copybook):
    lay = _layout(copybook)
    parse_legacy_layout(lay)  # a layout the reader accepts
    person = {f["name"]: f for f in lay["record_types"][0]["fields"]}
    assert [rt["name"] for rt in lay["record_types"]] == ["person", "trailer"]
    assert [rt["code"] for rt in lay["record_types"]] == ["D", "T"]  # T from the level-88 KIND-TRAILER
    assert person["atena_no"] == {**person["atena_no"], "type": "digits", "start": 2, "length": 10}
    assert person["shimei"]["type"] == "dbcs" and person["shimei"]["length"] == 12
    assert person["tax_amt"] | {} == {**person["tax_amt"], "type": "packed", "scale": 2, "length": 5}
    assert person["child_ages"]["occurs"] == 3 and person["child_ages"]["length"] == 2
    assert person["zoku"]["type"] == "binary" and person["zoku"]["signed"] and person["zoku"]["length"] == 2
    assert person["points"]["type"] == "zoned" and person["points"]["scale"] == 1 and person["points"]["length"] == 6
    assert person["zip"]["occurs"] == 2 and person["zip"]["stride"] == 15
    assert person["town"]["type"] == "dbcs" and person["town"]["stride"] == 15
    assert person["sex"]["code_table"] == "sex_codes"
    assert lay["code_tables"]["sex_codes"] == {"1": "sex_male", "2": "sex_female"}
    assert "copybook line 8" in person["shimei"]["note"]  # the file line (the comment is line 1)
    trailer = {f["name"]: f for f in lay["record_types"][1]["fields"]}
    assert trailer["rec_count"]["start"] == person["shimei"]["start"]  # REDEFINES: the same bytes
    assert lay["record_length"] == max(f["start"] + f["length"] - 1 for rt in lay["record_types"] for f in rt["fields"])


def test_ebcdic_file_read_to_the_right_values(copybook, tmp_path):
    """The layout made from the copybook reads an IBM 1390 file written field by field."""
    lay = _layout(copybook)
    path = tmp_path / "JUMIN.lay.yaml"
    path.write_text(yaml.safe_dump(lay, allow_unicode=True), encoding="utf-8")
    layout = load_legacy_layout(path)
    c = get_codec("ibm1390")
    dbcs = c.dbcs_only()
    L = layout.record_length

    def person(atena, name, kana, sex, tax, kids, zoku, points, addrs):
        rec = (c.encode("D") + c.encode(atena) + dbcs.encode(name.ljust(6, "\u3000")) + c.encode(kana.ljust(12))
               + c.encode(str(sex)) + encode_packed(Decimal(tax), 5, 2) + b"".join(encode_packed(k, 2) for k in kids)
               + encode_binary(zoku, 2) + encode_zoned(Decimal(points), 6, 1, style="ebcdic"))
        for z, town in addrs:
            rec += c.encode(z) + dbcs.encode(town.ljust(4, "\u3000"))
        return rec + c.space * (L - len(rec))

    def trailer(count, total):
        rec = c.encode("T") + c.encode("0" * 10) + encode_zoned(count, 9, style="ebcdic") + \
            encode_packed(Decimal(total), 7, 2)
        return rec + c.space * (L - len(rec))

    data = (person("0000000018", "山田太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", 1, "12345.67", [3, 7, -1], -2, "-12.5",
                   [("1000001", "千代田"), ("0600000", "札幌")])
            + person("0000000026", "髙橋", "ﾀｶﾊｼ", 2, "-0.01", [0, 0, 0], 1200, "0", [("9000000", "那覇"), ("", "")])
            + trailer(2, "12345.66"))
    f = tmp_path / "JUMIN.DAT"
    f.write_bytes(data)
    got = {rt: b.to_pylist() for rt, b in read_file(f, layout)}
    p1, p2 = got["person"]
    assert p1["_error_rule"] is None and p2["_error_rule"] is None, (p1["_error_message"], p2["_error_message"])
    assert (p1["atena_no"], p1["shimei"], p1["kana"], p1["sex"]) == ("0000000018", "山田太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "1")
    assert p1["tax_amt"] == Decimal("12345.67") and p1["child_ages"] == [3, 7, -1] and p1["zoku"] == -2
    assert p1["points"] == Decimal("-12.5")
    assert p1["zip"] == ["1000001", "0600000"] and p1["town"] == ["千代田", "札幌"]
    assert p2["shimei"] == "髙橋" and p2["tax_amt"] == Decimal("-0.01") and p2["zoku"] == 1200
    assert p2["zip"] == ["9000000", ""] and p2["town"] == ["那覇", ""]
    (t,) = got["trailer"]
    assert t["rec_count"] == 2 and t["amt_total"] == Decimal("12345.66")
    # a bad packed byte and an unmapped double-byte code name the field, occurrence and offset
    bad = bytearray(data)
    ages = next(fd for fd in lay["record_types"][0]["fields"] if fd["name"] == "child_ages")
    bad[ages["start"] - 1 + 2] = 0xAB  # second occurrence
    bad[L + 11] = 0xFF
    bad[L + 12] = 0xFF
    f.write_bytes(bytes(bad))
    p1, p2 = {rt: b.to_pylist() for rt, b in read_file(f, layout)}["person"]
    assert p1["_error_rule"] == "READ-NUMBER" and "child_ages(2)" in p1["_error_message"]
    assert p2["_error_rule"] == "READ-DECODE" and p2["_error_field"] == "shimei"
    assert f"バイト位置 {L + 11} " in p2["_error_message"]   # the reader speaks Japanese to clerks (issue 16)


@pytest.mark.parametrize("text,line,words", [
    ("01 R.\n   05 A PIC X.\n   05 N PIC 9(2).\n   05 B PIC X OCCURS 1 TO 5 DEPENDING ON N.\n", 4, "DEPENDING"),
    ("01 R.\n   05 A PIC X.\n   05 B PIC Q(3).\n", 3, "picture not understood"),
    ("01 R.\n   05 G OCCURS 2.\n      10 H OCCURS 3 PIC X.\n", 3, "OCCURS inside OCCURS"),
    ("01 R.\n   05 A PIC X.\n      10 B PIC X.\n", 3, "only groups"),
    ("01 R.\n   05 A PIC X.\n   05 B REDEFINES ZZ PIC X.\n", 3, "REDEFINES ZZ"),
    ("01 R.\n   05 A COMP-1.\n", 2, "floating point"),
    ("01 R.\n   66 X RENAMES A.\n", 2, "RENAMES"),
])
def test_errors_name_the_line(tmp_path, text, line, words):
    p = tmp_path / "bad.cpy"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CopybookError) as ei:
        import_copybook(p)
    assert f"line {line}" in str(ei.value) and words in str(ei.value) and "bad.cpy" in str(ei.value)


def test_several_record_types_need_a_discriminator(copybook):
    with pytest.raises(CopybookError, match="--discriminator"):
        import_copybook(copybook)
    one = import_copybook(copybook, record_types=["TRAILER"])
    assert [rt["name"] for rt in one["record_types"]] == ["trailer"] and "discriminator" not in one
    # without --code, each type's value is the level-88 value whose condition name ends in the type's name
    auto = import_copybook(copybook, discriminator="rec-kind")
    assert [(rt["name"], rt["code"]) for rt in auto["record_types"]] == [("person", "D"), ("trailer", "T")]
    other = copybook.with_name("other.cpy")
    other.write_text(COPYBOOK.replace("KIND-PERSON", "KIND-JUMIN"), encoding="utf-8")
    with pytest.raises(CopybookError, match="--code person="):
        import_copybook(other, discriminator="rec-kind")


def test_cli_import_copybook(copybook, tmp_path):
    out = tmp_path / "lay.yaml"
    r = CliRunner().invoke(app, ["layouts", "import-copybook", str(copybook), "--out", str(out), "--encoding",
                                 "jef-ebcdik", "--discriminator", "REC-KIND", "--code", "PERSON=D", "--role",
                                 "TRAILER=trailer"])
    assert r.exit_code == 0, r.output
    lay = load_legacy_layout(out)
    assert lay.encoding == "jef-ebcdik" and [rt.role for rt in lay.record_types] == ["data", "trailer"]
    bad = tmp_path / "bad.cpy"
    bad.write_text("01 R.\n  05 A PIC X OCCURS 2 TO 4 DEPENDING ON B.\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["layouts", "import-copybook", str(bad), "--out", str(out)], env={"COLUMNS": "300"})
    assert r.exit_code == 2 and "line 2" in r.output and "Traceback" not in r.output
