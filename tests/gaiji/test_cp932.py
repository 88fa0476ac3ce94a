from __future__ import annotations

import csv
from pathlib import Path

import pytest
from kikan_testenv import need_reference, reference_dir

from kikan_hub.gaiji.cp932 import CP932EncodeError, EncodeNote, encode_cp932_windows, load_policy
from kikan_hub.gaiji.codes import parse_ucs


def _tsv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


# read by path, like the session fixture `reference_data` (parametrisation needs the rows at collection);
# without KIKAN_REFERENCE_DATA one placeholder row stands in and skips with the reason (fails under CI)
REF = reference_dir() / "enc" if reference_dir() else None
ENCODE_ROWS = _tsv(REF / "cp932_encode_python_vs_windows.tsv") if REF else [None]
DECODE_ROWS = _tsv(REF / "sjis_cp932_sjis2004_decode_diffs.tsv") if REF else [None]


def _ids(rows: list, key: str) -> list[str]:
    return [r[key] if r else "no-reference-data" for r in rows]


def test_reference_tables_present():
    need_reference("enc")
    assert len(ENCODE_ROWS) == 373 and len(DECODE_ROWS) == 9


@pytest.mark.parametrize("row", ENCODE_ROWS, ids=_ids(ENCODE_ROWS, "unicode"))
def test_encode_writes_what_windows_writes(row):
    if row is None:
        need_reference("enc")
    ch = parse_ucs(row["unicode"])
    assert ch == row["char"]
    assert ch.encode("cp932").hex().upper() == row["py_cp932"]           # the difference is real
    assert encode_cp932_windows(ch).hex().upper() == row["windows_31j"]
    assert encode_cp932_windows(ch).decode("cp932") == ch                  # and it round-trips


@pytest.mark.parametrize("row", DECODE_ROWS, ids=_ids(DECODE_ROWS, "bytes"))
def test_decode_differences_and_policy(row):
    if row is None:
        need_reference("enc")
    code = bytes.fromhex(row["bytes"])
    # the hub decodes CP932 as CPython's cp932 does — which equals ICU windows-31j for every row
    assert code.decode("cp932") == parse_ucs(row["py_cp932"])
    assert parse_ucs(row["py_cp932"]) == parse_ucs(row["icu_ibm-943_P15A-2003(=ICU Shift_JIS/windows-31j)"])
    # and encodes the decoded character back to the same bytes
    assert encode_cp932_windows(code.decode("cp932")) == code
    pairs = {p["code"]: p for p in load_policy()["pairs"]}
    if row["bytes"] in pairs:
        p = pairs[row["bytes"]]
        assert parse_ucs(p["cp932"]) == parse_ucs(row["py_cp932"])
        assert parse_ucs(p["jis"]) == parse_ucs(row["py_shift_jis"])
        notes: list[EncodeNote] = []
        assert encode_cp932_windows(parse_ucs(p["jis"]), notes) == code
        assert notes and notes[0].code == row["bytes"]


def test_policy_has_the_seven_pairs():
    pairs = load_policy()["pairs"]
    assert len(pairs) == 7
    assert {(p["jis"], p["cp932"]) for p in pairs} >= {("U+301C", "U+FF5E"), ("U+2212", "U+FF0D"), ("U+2014", "U+2015")}


def test_nec_row13_duplicates_write_like_windows():
    assert encode_cp932_windows("≒∵Ⅰ№￢").hex().upper() == "81E0" "81E6" "8754" "8782" "81CA"


def test_unencodable_is_an_error_not_a_replacement():
    with pytest.raises(CP932EncodeError) as ei:
        encode_cp932_windows("髙𠮷")
    assert ei.value.position == 1
    assert encode_cp932_windows("\ue000") == b"\xf0\x40"            # user-defined area round-trips
