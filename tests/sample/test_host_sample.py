"""The host versions of the sample (JEF, IBM 1390 …): whole rehearsals load the same store content as
the CP932 version, quarantine the same records, and the host truth matches the host files."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import create_engine

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.pipeline.manifest import load_manifest
from kikan_hub.pipeline.rehearsal import rehearse
from kikan_hub.sample.generator import SampleOptions, generate
from kikan_hub.sample.host import write_host_sample
from kikan_hub.store.content import store_content_hashes


@pytest.fixture(scope="module")
def cp932_sample(tmp_path_factory) -> Path:
    """A clean sample (the gate passes, so the store is loaded)."""
    out = tmp_path_factory.mktemp("host") / "cp932"
    generate(SampleOptions(residents=400, out=out, seed=17, defect_rate=0.0))
    return out


@pytest.fixture(scope="module")
def defective_sample(tmp_path_factory) -> Path:
    """Every planted defect class (the gate stops the load; the quarantine is what counts)."""
    out = tmp_path_factory.mktemp("host") / "defective"
    generate(SampleOptions(residents=300, out=out, seed=5, defect_rate=0.05, unidentified_gaiji=1))
    return out


def _rehearse(sample: Path, tmp: Path) -> tuple[dict, dict]:
    db = tmp / f"{sample.name}.db"
    run = tmp / f"{sample.name}.run"
    rehearse(load_manifest(sample / "manifest.yaml"), f"sqlite:///{db}", run_dir=run)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    return store_content_hashes(create_engine(f"sqlite:///{db}")), summary


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["jef-ebcdik", "ibm1390"])
def test_host_sample_loads_the_same_store_content(cp932_sample, tmp_path, encoding):
    host = tmp_path / encoding
    write_host_sample(cp932_sample, host, encoding)
    # really a host file: fixed blocks in the declared encoding, no CRLF, no EOF byte
    manifest = yaml.safe_load((host / "manifest.yaml").read_text(encoding="utf-8"))
    # the fixed-width extracts are host files; the CSV side files (支援措置, 通称) stay CP932 like zei/
    fixed = {f["id"] for f in manifest["files"] if f["path"].endswith(".DAT")}
    assert fixed == {"JUMIN", "SETAI"}
    assert {f["encoding"] for f in manifest["files"] if f["id"] in fixed} == {encoding}
    assert {f["encoding"] for f in manifest["files"] if f["id"] not in fixed} <= {"cp932"}
    jumin = (host / "JUMIN.DAT").read_bytes()
    layout = yaml.safe_load((host / "layout_jumin.yaml").read_text(encoding="utf-8"))
    assert layout["terminator"] == "none" and len(jumin) % layout["record_length"] == 0
    assert b"\r\n" not in jumin[:layout["record_length"] * 3] and not jumin.endswith(b"\x1a")
    codec = get_codec(encoding)
    assert codec.shift_out in jumin and codec.shift_in in jumin
    types = {f["name"]: f["type"] for rt in layout["record_types"] for f in rt["fields"]}
    assert types["rireki_no"] == "zoned" and types["record_count"] == "zoned" and types["hash_total"] == "packed"

    ref_hashes, ref_summary = _rehearse(cp932_sample, tmp_path)
    host_hashes, host_summary = _rehearse(host, tmp_path)
    assert ref_summary["status"] == host_summary["status"] and ref_summary["records_quarantined"] == 0
    assert ref_hashes["juki_jumin"][0] > 300 and ref_hashes["juki_setai"][0] > 50
    assert host_hashes == ref_hashes
    assert host_summary["records_loaded"] == ref_summary["records_loaded"]
    truth = pq.read_table(host / "truth" / "records.parquet").to_pylist()
    # truth offsets are the host file's: the record there has the key the truth names
    L = layout["record_length"]
    key = next(r for r in truth if r["file_id"] == "JUMIN" and r["record_type"] == "resident" and r["key_no"])
    assert key["offset"] == (key["record_no"] - 1) * L and key["length"] == L
    rec = jumin[key["offset"]:key["offset"] + L]
    atena = next(f for f in layout["record_types"][1]["fields"] if f["name"] == "atena_no")
    assert codec.decode(rec[atena["start"] - 1:atena["start"] - 1 + atena["length"]]) == key["key_no"]
    # the register names the host codes of the same private-use characters
    with open(host / "gaiji_register.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        pua = chr(int(r["pua"][2:], 16))
        assert codec.encode(pua) == codec.shift_out + bytes.fromhex(r["source_code"]) + codec.shift_in


def test_host_sample_registers_characters_the_host_lacks(cp932_sample, tmp_path):
    """KEIS has no 髙 / ①: they become host gaiji, registered with their Unicode, so nothing is lost."""
    out = tmp_path / "keis"
    summary = write_host_sample(cp932_sample, out, "keis83")
    assert summary["extra_gaiji"]
    with open(out / "gaiji_register.csv", encoding="utf-8") as fh:
        rows = {r["pua"]: r for r in csv.DictReader(fh)}
    for ch, pua in summary["extra_gaiji"].items():
        row = rows[pua]
        assert row["status"] == "同定済" and row["ucs"] == " ".join(f"{ord(c):04X}" for c in ch)


@pytest.mark.slow
def test_host_sample_quarantines_the_same_records(defective_sample, tmp_path):
    host = tmp_path / "jef"
    write_host_sample(defective_sample, host, "jef-ebcdik")
    _, ref = _rehearse(defective_sample, tmp_path)
    _, got = _rehearse(host, tmp_path)
    assert got["records_read"] == ref["records_read"] and got["records_quarantined"] == ref["records_quarantined"] > 0
    for fid, counts in ref["quarantine_counts"].items():
        mine = dict(got["quarantine_counts"][fid])
        theirs = dict(counts)
        # fixed blocks cannot be a byte short: those records carry an undecodable 氏名 instead
        theirs["READ-DECODE"] = theirs.get("READ-DECODE", 0) + theirs.pop("READ-LENGTH", 0)
        assert mine == {k: v for k, v in theirs.items() if v}, fid
    truth = pq.read_table(host / "truth" / "records.parquet").to_pylist()
    assert not any(r["defect_class"] == "record_length" for r in truth)
    assert sum(r["expected"] == "quarantined" for r in truth) == got["records_quarantined"]


def test_manifest_records_the_codec_with_its_options(cp932_sample, tmp_path):
    host = tmp_path / "jef"
    write_host_sample(cp932_sample, host, "jef-ebcdik")
    doc = yaml.safe_load((host / "manifest.yaml").read_text(encoding="utf-8"))
    for f in doc["files"]:
        if f["encoding"] != "cp932":          # the host files, not the CP932 CSV side files
            f["encoding"] = "JEF:Decode_Only=no"
    (host / "manifest.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    m = load_manifest(host / "manifest.yaml")
    assert {f.encoding for f in m.files} == {"jef-ebcdik:decode_only=no", "cp932"}
