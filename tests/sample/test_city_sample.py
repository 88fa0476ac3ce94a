"""The whole-city sample (kikan_hub/sample/city, profiles/city): coverage of every 業務 with a definition,
determinism, and the profiles' errors. The rehearsal of a city is tests/e2e/test_city_rehearsal.py."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from kikan_hub.layouts.isl import definitions_dir, load_definitions
from kikan_hub.sample.city import CityOptions, generate_city
from kikan_hub.sample.city.profile import CITY_PROFILES, load_gyomu_profiles
from kikan_hub.sample.profile import ProfileError

SMALL = 400


def _digest(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("city") / "a"
    return out, generate_city(CityOptions(residents=SMALL, out=out, seed=11))


def test_every_gyomu_with_a_definition_has_a_file(small_city):
    """codes/gyomu.yaml's 業務 that have an ISL definition: each has at least one file in the manifest
    (住民記録・税 from today's sample, every other one from its city profile)."""
    out, summary = small_city
    codes = yaml.safe_load((definitions_dir() / "codes" / "gyomu.yaml").read_text(encoding="utf-8"))
    defined = {d.gyomu_id for d in load_definitions().values()}
    expected = sorted(g for g in codes["gyomu_id"].values() if g in defined)
    assert len(expected) >= 30
    manifest = yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))
    ids = {f["id"] for f in manifest["files"]}
    by_gyomu = {}
    for fid, f in summary["files"].items():
        assert fid in ids
        by_gyomu.setdefault(f["gyomu_id"], []).append(fid)
    missing = [g for g in expected if g not in by_gyomu]
    assert not missing, f"業務 without a file: {missing}"
    # every table of every profile has its file, its layout and its clean-truth table
    for gid, prof in load_gyomu_profiles().items():
        for tid in prof.tables:
            assert (out / "truth" / "gyomu" / f"{tid}.parquet").is_file(), tid
            assert tid.upper() in summary["files"], tid


def test_same_seed_same_bytes(small_city, tmp_path):
    out, _ = small_city
    again = tmp_path / "b"
    generate_city(CityOptions(residents=SMALL, out=again, seed=11))
    assert _digest(again) == _digest(out)
    other = tmp_path / "c"
    generate_city(CityOptions(residents=SMALL, out=other, seed=12))
    assert _digest(other)["vendors/GPRIME/KAIGO_HIHOKENSHA.CSV"] != _digest(out)["vendors/GPRIME/KAIGO_HIHOKENSHA.CSV"]


def test_vendor_conventions(small_city):
    out, summary = small_city
    gprime = (out / "vendors" / "GPRIME" / "KAIGO_HIHOKENSHA.CSV").read_bytes()
    assert gprime.startswith('"宛名番号","資格履歴番号"'.encode("cp932"))          # quoted header line, CP932
    assert b"/" in gprime.split(b"\r\n")[1]                                         # 西暦 YYYY/MM/DD
    bom = (out / "vendors" / "NewCARATS").glob("*.CSV")
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in bom)
    cokas = (out / "vendors" / "COKAS-X" / "INKAN_TOROKU.DAT").read_bytes().split(b"\r\n")
    assert cokas[0][:1] == b"1" and cokas[-2][:1] == b"9" and int(cokas[-2][1:11]) == len(cokas) - 3
    koki = yaml.safe_load((out / "vendors" / "KOKI" / "layout_koki_hihokensha.yaml").read_text(encoding="utf-8"))
    assert koki["terminator"] == "none"
    assert any(f["type"] == "packed" for f in koki["record_types"][0]["fields"])
    mapping = yaml.safe_load((out / "mapping_city.yaml").read_text(encoding="utf-8"))
    assert mapping["code_maps"]["GPRIME.techo_shurui"] == {"S": "1", "R": "2", "P": "3"}
    register = (out / "gaiji_register_city.csv").read_text(encoding="utf-8")
    assert "GPRIME (架空),F140" in register and "旧住記 (架空),F040" in register


def test_truth_files(small_city):
    out, summary = small_city
    rec = pq.read_table(out / "truth" / "records_city.parquet")
    assert set(rec.schema.names) >= {"file_id", "gyomu_id", "record_no", "offset", "record_type", "key", "expected",
                                     "defect_class", "expected_rule"}
    koki = pq.read_table(out / "truth" / "gyomu" / "koki_hihokensha.parquet")
    assert str(koki.schema.field("shutoku_date").type) == "date32[day]"
    assert str(koki.schema.field("shogai_nintei_flag").type) == "bool"
    assert json.loads((out / "truth" / "summary.json").read_text(encoding="utf-8"))["residents"] == SMALL


def test_a_missing_profile_is_named(tmp_path):
    prof = tmp_path / "profiles"
    shutil.copytree(CITY_PROFILES, prof)
    (prof / "keiro.yaml").unlink()
    with pytest.raises(ValueError, match="keiro"):
        generate_city(CityOptions(residents=10, out=tmp_path / "x", profiles_dir=prof))
    assert not (tmp_path / "x").exists()          # refused before anything is written


def test_an_unknown_profile_key_is_named(tmp_path):
    prof = tmp_path / "profiles"
    shutil.copytree(CITY_PROFILES, prof)
    text = (prof / "koki.yaml").read_text(encoding="utf-8").replace("    rows: [1]\n", "")
    text = text.replace("  koki_hokenryo:\n", "  koki_hokenryo:\n    row: [2]\n")
    (prof / "koki.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=r"koki.yaml: tables.koki_hokenryo.row"):
        load_gyomu_profiles(prof)
