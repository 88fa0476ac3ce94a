"""The sample generator (旧住記, 架空システム): determinism, counts, check digits, encoding, planted defects."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from kikan_testenv import need_reference

from kikan_hub.sample import cp932w
from kikan_hub.sample.generator import SampleOptions, generate
from kikan_hub.validation.check_digits import m11_check_digit as m11

DATA_FILES = ("JUMIN.DAT", "SETAI.DAT", "layout_jumin.yaml", "layout_setai.yaml", "mapping.yaml", "manifest.yaml",
              "gaiji_register.csv", "truth/summary.json")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "a"
    # a high defect rate so that every class shows up in a small sample
    generate(SampleOptions(residents=3000, out=out, seed=11, defect_rate=0.05, unidentified_gaiji=2,
                           chunk_residents=700))
    return out


@pytest.fixture(scope="module")
def records(sample) -> list[dict]:
    return pq.read_table(sample / "truth" / "records.parquet").to_pylist()


@pytest.fixture(scope="module")
def layouts(sample) -> dict:
    return {fid: yaml.safe_load((sample / name).read_text(encoding="utf-8"))
            for fid, name in (("JUMIN", "layout_jumin.yaml"), ("SETAI", "layout_setai.yaml"))}


def _fields(layout: dict, rtype: str) -> dict[str, tuple[int, int]]:
    rt = next(r for r in layout["record_types"] if r["name"] == rtype)
    return {f["name"]: (f["start"] - 1, f["length"]) for f in rt["fields"]}


def _raw(sample: Path, rec: dict) -> bytes:
    name = "JUMIN.DAT" if rec["file_id"] == "JUMIN" else "SETAI.DAT"
    data = _file_bytes(sample / name)
    return data[rec["offset"]:rec["offset"] + rec["length"]]


_cache: dict[Path, bytes] = {}


def _file_bytes(p: Path) -> bytes:
    if p not in _cache:
        _cache[p] = p.read_bytes()
    return _cache[p]


# ------------------------------------------------------------------ determinism


def test_same_n_and_seed_give_identical_bytes(sample, tmp_path):
    again = tmp_path / "b"
    generate(SampleOptions(residents=3000, out=again, seed=11, defect_rate=0.05, unidentified_gaiji=2,
                           chunk_residents=700))
    for name in DATA_FILES + ("truth/records.parquet", "truth/jumin.parquet", "truth/setai.parquet",
                              "truth/persons.parquet"):
        assert _sha(sample / name) == _sha(again / name), name


def test_other_seed_differs(sample, tmp_path):
    other = tmp_path / "c"
    generate(SampleOptions(residents=3000, out=other, seed=12, defect_rate=0.05, unidentified_gaiji=2,
                           chunk_residents=700))
    assert _sha(sample / "JUMIN.DAT") != _sha(other / "JUMIN.DAT")


def test_cli_writes_the_same_as_the_function(tmp_path):
    from typer.testing import CliRunner

    from kikan_hub.api.cli_sample import app
    a, b = tmp_path / "cli", tmp_path / "fn"
    res = CliRunner().invoke(app, ["--residents", "150", "--out", str(a), "--seed", "5", "--quiet"])
    assert res.exit_code == 0, res.output
    generate(SampleOptions(residents=150, out=b, seed=5))
    for name in DATA_FILES:
        assert _sha(a / name) == _sha(b / name), name


def test_cli_roster_edges_adds_the_edge_people(tmp_path):
    """`kikan sample --roster-edges`: the edge cases of profiles/roster_edges.yaml join the residents."""
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from kikan_hub.api.cli_sample import app
    res = CliRunner().invoke(app, ["--residents", "60", "--out", str(tmp_path / "e"), "--seed", "5", "--quiet",
                                   "--roster-edges"])
    assert res.exit_code == 0, res.output
    edges = pq.read_table(tmp_path / "e" / "truth" / "roster_edges.parquet")
    assert edges.num_rows > 0
    loaded = set(pq.read_table(tmp_path / "e" / "truth" / "jumin.parquet", columns=["atena_no"]).column(0).to_pylist())
    atena_col = next(c for c in edges.column_names if "atena" in c)
    assert set(edges.column(atena_col).to_pylist()) <= loaded


# ------------------------------------------------------------------ counts and accounting


def test_counts_match_summary(sample, records):
    summary = json.loads((sample / "truth" / "summary.json").read_text(encoding="utf-8"))
    persons = pq.read_table(sample / "truth" / "persons.parquet")
    assert len(set(persons.column("atena_no").to_pylist())) == summary["residents"] == 3000
    for fid, f in summary["files"].items():
        recs = [r for r in records if r["file_id"] == fid]
        assert f["read"] == len(recs) == f["expected_loaded"] + f["expected_quarantined"]
        for rtype, c in f["record_types"].items():
            rr = [r for r in recs if r["record_type"] == rtype]
            assert c["read"] == len(rr)
            assert c["loaded"] == sum(r["expected"] == "loaded" for r in rr)
            assert c["quarantined"] == sum(r["expected"] == "quarantined" for r in rr)
        for cls, n in f["defect_classes"].items():
            assert n == sum(r["defect_class"] == cls for r in recs)
        assert (sample / f["path"]).stat().st_size == f["bytes"]
        assert _sha(sample / f["path"]) == f["sha256"]
    truth_rows = {"JUMIN": pq.read_table(sample / "truth" / "jumin.parquet").num_rows,
                  "SETAI": pq.read_table(sample / "truth" / "setai.parquet").num_rows}
    for fid, n in truth_rows.items():
        data_type = "resident" if fid == "JUMIN" else "household"
        assert n == summary["files"][fid]["record_types"][data_type]["loaded"]


def test_every_defect_class_planted(sample):
    summary = json.loads((sample / "truth" / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["files"]["JUMIN"]["defect_classes"]) == {
        "record_length", "impossible_date", "check_digit_atena", "check_digit_setai", "unknown_code", "undecodable",
        "gaiji_unresolved"}
    assert {"impossible_date", "check_digit_setai", "undecodable"} <= set(summary["files"]["SETAI"]["defect_classes"])


def test_defect_rate_zero_plants_nothing(tmp_path):
    generate(SampleOptions(residents=400, out=tmp_path, seed=1, defect_rate=0.0))
    recs = pq.read_table(tmp_path / "truth" / "records.parquet").to_pylist()
    assert all(r["expected"] == "loaded" and r["defect_class"] is None for r in recs)


def test_trailers_count_and_hash(sample, records, layouts):
    for fid in ("JUMIN", "SETAI"):
        recs = sorted((r for r in records if r["file_id"] == fid), key=lambda r: r["record_no"])
        assert recs[0]["record_type"] == "header" and recs[-1]["record_type"] == "trailer"
        data = [r for r in recs if r["record_type"] not in ("header", "trailer")]
        key = _fields(layouts[fid], "resident" if fid == "JUMIN" else "household")["atena_no" if fid == "JUMIN" else "setai_no"]
        tf = _fields(layouts[fid], "trailer")
        trailer = _raw(sample, recs[-1])
        s, ln = tf["record_count"]
        assert int(trailer[s:s + ln]) == len(data)
        s, ln = tf["hash_total"]
        assert int(trailer[s:s + ln]) == sum(int(_raw(sample, r)[key[0]:key[0] + key[1]]) for r in data)


# ------------------------------------------------------------------ file structure


def test_jumin_structure_crlf_and_eof(sample, records, layouts):
    data = _file_bytes(sample / "JUMIN.DAT")
    rl = layouts["JUMIN"]["record_length"]
    assert data[-1:] == b"\x1a" and data.count(b"\x1a") == 1
    recs = sorted((r for r in records if r["file_id"] == "JUMIN"), key=lambda r: r["record_no"])
    pos = 0
    for r in recs:
        assert r["offset"] == pos
        assert data[pos + r["length"]:pos + r["length"] + 2] == b"\r\n"
        assert data[pos:pos + 1] == {"header": b"1", "resident": b"2", "trailer": b"9"}[r["record_type"]]
        if r["defect_class"] != "record_length":
            assert r["length"] == rl
        else:
            assert r["length"] in (rl - 1, rl + 1)
        pos += r["length"] + 2
    assert pos == len(data) - 1


def test_setai_fixed_blocks_without_terminator(sample, records, layouts):
    data = _file_bytes(sample / "SETAI.DAT")
    rl = layouts["SETAI"]["record_length"]
    recs = sorted((r for r in records if r["file_id"] == "SETAI"), key=lambda r: r["record_no"])
    assert len(data) == rl * len(recs)
    assert layouts["SETAI"]["terminator"] == "none"
    assert b"\x1a" not in data[-1:]
    for i, r in enumerate(recs):
        assert r["offset"] == i * rl
        assert data[r["offset"]:r["offset"] + 1] == {"header": b"1", "household": b"2", "trailer": b"9"}[r["record_type"]]
    # no CRLF between records: record 2 starts right after record 1
    assert data[rl:rl + 1] == b"2"


def test_packed_fields(sample, records, layouts):
    f = _fields(layouts["SETAI"], "household")
    truth = pq.read_table(sample / "truth" / "setai.parquet").to_pylist()[:50]
    data = _file_bytes(sample / "SETAI.DAT")
    for t in truth:
        raw = data[t["_source_offset"]:t["_source_offset"] + layouts["SETAI"]["record_length"]]
        s, ln = f["rireki_no"]
        h = raw[s:s + ln].hex().upper()
        assert h.endswith("C") and int(h[:-1]) == t["rireki_no"]
        s, ln = f["setai_jinzu"]
        assert raw[s:s + ln].hex().upper().endswith("C")


# ------------------------------------------------------------------ check digits


def _m11_ok(s: str) -> bool:
    return s.isdigit() and int(s[-1]) == m11(int(s[:-1]), len(s) - 1)


def test_m11_reference_values():
    # j130: weights 2..7 from the rightmost data digit; remainder 0 or 1 → 0, else 11 - r
    assert m11(1, 9) == 9          # 1*2 = 2 → 11 - 2
    assert m11(0, 9) == 0          # r = 0
    assert m11(5, 9) == 1          # 5*2 = 10 → r = 10 → 11 - 10
    assert m11(6, 9) == 0          # 6*2 = 12 → r = 1 → 0 (11 - 1 = 10 does not fit one digit)
    # 個人番号 example digits (weights 6,5,4,3,2,7,6,5,4,3,2 from the left)
    assert m11(12345678901, 11) == 8


def test_check_digits_valid_except_planted(sample, records, layouts):
    fj = _fields(layouts["JUMIN"], "resident")
    fs = _fields(layouts["SETAI"], "household")
    for r in records:
        if r["record_type"] not in ("resident", "household") or r["defect_class"] == "record_length":
            continue
        raw = _raw(sample, r)
        if r["file_id"] == "JUMIN":
            atena = raw[fj["atena_no"][0]:fj["atena_no"][0] + 10].decode()
            setai = raw[fj["setai_no"][0]:fj["setai_no"][0] + 10].decode()
            kojin = raw[fj["kojin_bango"][0]:fj["kojin_bango"][0] + 12].decode().strip()
            assert _m11_ok(atena) == (r["defect_class"] != "check_digit_atena"), r
            assert _m11_ok(setai) == (r["defect_class"] != "check_digit_setai"), r
            assert kojin == "" or _m11_ok(kojin)
        else:
            setai = raw[fs["setai_no"][0]:fs["setai_no"][0] + 10].decode()
            nushi = raw[fs["setainushi_atena_no"][0]:fs["setainushi_atena_no"][0] + 10].decode()
            assert _m11_ok(setai) == (r["defect_class"] != "check_digit_setai"), r
            assert _m11_ok(nushi) or nushi.strip() == ""   # 世帯主未設定 (j100): blank


# ------------------------------------------------------------------ encoding


def _text_fields(layout: dict, rtype: str) -> list[tuple[int, int]]:
    rt = next(r for r in layout["record_types"] if r["name"] == rtype)
    return [(f["start"] - 1, f["length"]) for f in rt["fields"] if f["type"] not in ("packed", "zoned", "filler")]


def test_decodes_as_cp932_except_planted(sample, records, layouts):
    for r in records:
        if r["file_id"] not in layouts:     # the CSV files (SHIEN, TSUSHO): whole lines below
            (sample / f"{r['file_id']}.CSV").read_bytes().decode("cp932")
            continue
        raw = _raw(sample, r)
        layout = layouts[r["file_id"]]
        ok = True
        for s, ln in _text_fields(layout, r["record_type"]):
            try:
                raw[s:s + ln].decode("cp932")
            except UnicodeDecodeError:
                ok = False
        assert ok == (r["defect_class"] != "undecodable"), r
        if r["file_id"] == "JUMIN" and r["defect_class"] != "undecodable":
            raw.decode("cp932")   # no binary fields in JUMIN: the whole record decodes


def test_windows_cp932_codes_are_written(sample):
    data = _file_bytes(sample / "JUMIN.DAT")
    # Python's cp932 would write NEC-selected ED/EE codes for these; Windows writes FA/FB/FC
    text = data.decode("cp932", errors="replace")
    used = set(text) & set(cp932w.windows_overrides())
    assert used                                   # e.g. 髙 﨑 德 ⅲ
    for ch in used:
        assert cp932w.windows_overrides()[ch] in data
    # no NEC-selected IBM extension code anywhere (lead bytes ED/EE never start a character here)
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if 0x81 <= b <= 0x9F or 0xE0 <= b <= 0xFC:
            assert b not in (0xED, 0xEE), i
            i += 2
        else:
            i += 1


def test_special_characters_present(sample):
    text = _file_bytes(sample / "JUMIN.DAT").decode("cp932", errors="replace")
    assert any("\ue000" <= ch <= "\ue757" for ch in text)          # gaiji (user-defined area)
    assert any(ch in text for ch in "①②㈱№Ⅲⅲ")                     # NEC row 13 / IBM extension
    assert any(ch in text for ch in "髙﨑德曻昻")
    assert any(0xFF61 <= ord(ch) <= 0xFF9F for ch in text)            # half-width kana


def test_override_table_matches_reference():
    tsv = need_reference("enc", "cp932_encode_python_vs_windows.tsv")
    rows = [ln.split("\t") for ln in tsv.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    ref = {r[0]: bytes.fromhex(r[3]) for r in rows[1:]}
    assert ref == cp932w.windows_overrides()


# ------------------------------------------------------------------ planted defects at their offsets


def test_planted_defects_at_offsets(sample, records, layouts):
    fj = _fields(layouts["JUMIN"], "resident")
    fs = _fields(layouts["SETAI"], "household")
    seen = set()
    for r in records:
        cls = r["defect_class"]
        if cls is None:
            continue
        raw = _raw(sample, r)
        f = fj if r["file_id"] == "JUMIN" else fs
        seen.add((r["file_id"], cls))
        # j130: an M11 mismatch of a migrated number loads with a warning
        assert r["expected"] == ("loaded" if cls in ("check_digit_atena", "check_digit_setai") else "quarantined")
        if cls == "record_length":
            data = _file_bytes(sample / "JUMIN.DAT")
            assert data[r["offset"] + r["length"]:r["offset"] + r["length"] + 2] == b"\r\n"
            assert r["expected_rule"] == "READ-LENGTH"
        elif cls == "undecodable":
            assert (b"\x85\x40" in raw) or (b"\x81\x20" in raw)
            assert r["expected_rule"] == "READ-DECODE"
        elif cls == "impossible_date":
            assert r["expected_rule"] == "MAP-DATE"
            if r["file_id"] == "JUMIN":
                b = raw[f["birth_date"][0]:f["birth_date"][0] + 7]
                i = raw[f["idou_date"][0]:f["idou_date"][0] + 7]
                assert b == b"3640108" or i == b"4310501" or b[3:5] == b"13"
            else:
                d = raw[f["shori_date"][0]:f["shori_date"][0] + 8]
                assert d[4:6] == b"13" or d == b"20230229"
        elif cls == "unknown_code":
            assert r["expected_rule"] == "MAP-CODE"
            assert raw[f["zokugara"][0]:f["zokugara"][0] + 2] == b"77" or raw[f["idou_jiyu"][0]:f["idou_jiyu"][0] + 2] == b"99"
        elif cls == "gaiji_unresolved":
            assert r["expected_rule"] == "GAIJI-UNRESOLVED"
            text = raw.decode("cp932")
            assert any("\ue000" <= ch <= "\ue757" for ch in text)
        elif cls in ("check_digit_atena", "check_digit_setai"):
            assert r["expected_rule"] == ("ISL-M11.juki_setai" if r["file_id"] == "SETAI" else "ISL-M11.juki_jumin")
    assert ("JUMIN", "record_length") in seen


def test_unidentified_gaiji_in_register(sample):
    rows = list(csv.DictReader((sample / "gaiji_register.csv").open(encoding="utf-8")))
    assert [r for r in rows if r["status"] == "未同定"] and all(
        r["ucs"] == "" for r in rows if r["status"] == "未同定")
    assert sum(r["status"] == "同定済" for r in rows) == len(rows) - 2
    text = _file_bytes(sample / "JUMIN.DAT").decode("cp932", errors="replace") + \
        _file_bytes(sample / "SETAI.DAT").decode("cp932", errors="replace")
    used = {f"{ord(ch):04X}" for ch in text if "\ue000" <= ch <= "\ue757"}
    assert used <= {r["pua"][2:] for r in rows}   # every gaiji used is in the register


# ------------------------------------------------------------------ truth tables


def test_truth_jumin_shape(sample):
    from kikan_hub.layouts.isl import get_table
    t = pq.read_table(sample / "truth" / "jumin.parquet")
    # the truth leaves out what the mapping derives from a date (和暦 text, 日不詳 / 暦にない日 flags)
    derived = ("lineage", "wareki", "unknown_day", "non_calendar")
    cols = [c.name for c in get_table("juki_jumin").columns if c.role not in derived]
    assert t.column_names[:len(cols)] == cols
    rows = t.to_pylist()
    assert all(not any("\ue000" <= ch <= "\uf8ff" for ch in (r["shimei"] or "")) for r in rows)
    kana = [r["shimei_kana"] for r in rows if r["shimei_kana"]]
    assert kana and all(not any(0xFF61 <= ord(ch) <= 0xFF9F for ch in k) for k in kana)
    unknown = [r for r in rows if r["birth_date_unknown"]]
    assert unknown and all(r["birth_date"] is None and r["birth_date_literal"] for r in unknown)
    assert any("頃" in r["birth_date_literal"] or "不詳" in r["birth_date_literal"] for r in unknown)
    assert any(r["birth_date_literal"].endswith("0229") for r in unknown)
    keys = [(r["atena_no"], r["rireki_no"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_history_is_consecutive(sample):
    p = pq.read_table(sample / "truth" / "persons.parquet").to_pylist()
    by: dict[str, list[int]] = {}
    for r in p:
        by.setdefault(r["atena_no"], []).append(r["rireki_no"])
    assert all(v == list(range(1, len(v) + 1)) for v in by.values())
    assert 1.8 < len(p) / len(by) < 4.5


# ------------------------------------------------------------------ the hub's own reader


def test_reader_agrees_with_truth(sample, records):
    from kikan_hub.adapters.reader import read_file
    from kikan_hub.layouts.legacy import load_legacy_layout
    for fid, name, lay in (("JUMIN", "JUMIN.DAT", "layout_jumin.yaml"), ("SETAI", "SETAI.DAT", "layout_setai.yaml")):
        got = {}
        for rtype, batch in read_file(sample / name, load_legacy_layout(sample / lay), "cp932"):
            for no, off, rule in zip(batch.column("_record_no").to_pylist(), batch.column("_offset").to_pylist(),
                                     batch.column("_error_rule").to_pylist()):
                got[no] = (off, rtype, rule)
        want = {r["record_no"]: r for r in records if r["file_id"] == fid}
        assert set(got) == set(want)
        for no, (off, rtype, rule) in got.items():
            w = want[no]
            assert off == w["offset"] and rtype == w["record_type"], (fid, no)
            if w["expected_rule"] in ("READ-LENGTH", "READ-DECODE"):
                assert rule is not None and rule.split(",")[0] == w["expected_rule"], (fid, no, rule)
            else:
                assert rule is None, (fid, no, rule)
