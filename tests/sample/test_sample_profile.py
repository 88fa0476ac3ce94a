"""Sample generator profiles are data (kikan_hub/sample/profiles/*.yaml): the engine reads them, a
changed profile changes the sample without code, and a wrong profile is a clear error (exit 2).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from kikan_hub.api.cli import app
from kikan_hub.sample.generator import SampleOptions, generate
from kikan_hub.sample.profile import PROFILES, ProfileError, load_profile, load_profile_file, resolve_profiles
from kikan_hub.sample.zei.kei import EDGES
from kikan_hub.sample.zei.population import load_population


def _shipped(gyomu: str) -> dict:
    return yaml.safe_load((PROFILES / f"{gyomu}.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_profiles_load():
    juki, zei = load_profile("juki"), load_profile("zei")
    assert juki.gyomu == "juki" and zei.gyomu == "zei"
    # the defect catalogue the README documents: class → rule per file, and those that load with a warning
    assert set(juki.defects.rules("JUMIN")) == {"record_length", "impossible_date", "check_digit_atena",
                                                "check_digit_setai", "unknown_code", "undecodable", "gaiji_unresolved"}
    assert juki.defects.rules("JUMIN")["unknown_code"] == "MAP-CODE"
    assert set(juki.defects.rules("SETAI")) == {"impossible_date", "check_digit_setai", "undecodable", "gaiji_unresolved"}
    assert juki.defects.loading("JUMIN") == {"check_digit_atena", "check_digit_setai"}
    assert juki.defects.loading("SETAI") == {"check_digit_setai"}


def test_unknown_key_names_file_path_and_allowed_keys(tmp_path):
    data = _shipped("juki")
    data["households"]["spouse"]["mikodoke"] = 0.1            # a typo of mikodoke_share
    with pytest.raises(ProfileError) as exc:
        load_profile_file(_write(tmp_path, data, "juki_typo.yaml"))
    msg = str(exc.value)
    assert "juki_typo.yaml: households.spouse.mikodoke: unknown key" in msg
    assert "allowed: age_offset, mikodoke_share, min_age" in msg


def test_unknown_key_inside_a_defect_way(tmp_path):
    data = _shipped("juki")
    data["defects"]["files"]["JUMIN"]["classes"][0]["ways"][0]["lenght"] = -1
    with pytest.raises(ProfileError) as exc:
        load_profile_file(_write(tmp_path, data))
    assert "defects.files.JUMIN.classes[0].ways[0].lenght: unknown key (allowed: blank, bump_digit, if, length" \
        in str(exc.value)


def test_a_way_needs_exactly_one_action(tmp_path):
    data = _shipped("juki")
    data["defects"]["files"]["SETAI"]["classes"][1]["ways"][0]["length"] = 1   # bump_digit and length
    with pytest.raises(ProfileError, match=r"classes\[1\]\.ways\[0\]: Value error, a way needs exactly one action"):
        load_profile_file(_write(tmp_path, data))


def test_wrong_gyomu_and_duplicate_profiles(tmp_path):
    data = _shipped("juki")
    data["gyomu"] = "kokuho"
    with pytest.raises(ProfileError, match="gyomu: expected one of juki, zei, got 'kokuho'"):
        load_profile_file(_write(tmp_path, data))
    a = _write(tmp_path, _shipped("zei"), "a.yaml")
    b = _write(tmp_path, _shipped("zei"), "b.yaml")
    with pytest.raises(ProfileError, match="gyomu zei is also given by"):
        resolve_profiles((a, b))


def test_cli_reports_a_bad_profile_with_exit_2(tmp_path):
    data = _shipped("juki")
    data["households"]["kinds"]["single"] = "many"
    path = _write(tmp_path, data, "bad.yaml")
    r = CliRunner().invoke(app, ["sample", "--residents", "20", "--out", str(tmp_path / "out"), "--quiet",
                                 "--profile", str(path)])
    assert r.exit_code == 2, r.output
    assert "bad.yaml: households.kinds.single" in r.output
    assert "Traceback" not in r.output


def test_household_kinds_come_from_the_profile(tmp_path):
    data = _shipped("juki")
    data["households"]["kinds"] = {k: (1 if k == "single" else 0) for k in data["households"]["kinds"]}
    data["households"]["dokyonin"]["share"] = 0.0
    out = tmp_path / "out"
    summary = generate(SampleOptions(residents=200, out=out, seed=3, defect_rate=0.0,
                                     profiles=(_write(tmp_path, data),)))
    # only single households, no 同居人: one resident per household (births need a mother in the household)
    assert summary["households"] == summary["residents"] == 200
    persons = pq.read_table(out / "truth" / "persons.parquet").to_pylist()
    assert {p["zokugara"] for p in persons} == {"01"}         # canonical 世帯主 only


def test_planted_defects_come_from_the_profile(tmp_path):
    data = _shipped("juki")
    jumin = data["defects"]["files"]["JUMIN"]
    # one class only, written at a field the shipped profile never touches
    jumin["classes"] = [{"class": "unknown_code", "rule": "MAP-CODE",
                         "ways": [{"put": {"field": "jumin_shubetsu", "ascii": "8"}}]}]
    setai_cd = dict(data["defects"]["files"]["SETAI"]["classes"][1], rule="TEST-M11-SETAI")   # a rule id per file
    data["defects"]["files"]["SETAI"]["classes"] = [setai_cd]
    out = tmp_path / "out"
    summary = generate(SampleOptions(residents=400, out=out, seed=5, defect_rate=0.2,
                                     profiles=(_write(tmp_path, data),)))
    assert set(summary["files"]["JUMIN"]["defect_classes"]) == {"unknown_code"}
    assert set(summary["files"]["SETAI"]["defect_classes"]) == {"check_digit_setai"}
    assert summary["files"]["SETAI"]["expected_quarantined"] == 0          # expected: loaded
    assert set(summary["files"]["SETAI"]["expected_rules"]) == {"TEST-M11-SETAI"}
    assert set(summary["files"]["JUMIN"]["expected_rules"]) == {"MAP-CODE"}
    layout = yaml.safe_load((out / "layout_jumin.yaml").read_text(encoding="utf-8"))
    field = next(f for rt in layout["record_types"] if rt["name"] == "resident" for f in rt["fields"]
                 if f["name"] == "jumin_shubetsu")
    data_bytes = (out / "JUMIN.DAT").read_bytes()
    records = [r for r in pq.read_table(out / "truth" / "records.parquet").to_pylist()
               if r["file_id"] == "JUMIN" and r["record_type"] == "resident"]
    written = Counter(data_bytes[r["offset"] + field["start"] - 1:r["offset"] + field["start"]] for r in records
                      if r["defect_class"] == "unknown_code")
    assert written == {b"8": summary["files"]["JUMIN"]["defect_classes"]["unknown_code"]}
    assert summary["files"]["JUMIN"]["defect_classes"]["unknown_code"] > 20


def test_defect_outside_its_field_is_an_error(tmp_path):
    data = _shipped("juki")
    data["defects"]["files"]["JUMIN"]["classes"] = [{"class": "unknown_code", "rule": "MAP-CODE",
                                                     "ways": [{"put": {"field": "seibetsu", "ascii": "77"}}]}]
    with pytest.raises(ValueError, match="outside field seibetsu"):
        generate(SampleOptions(residents=300, out=tmp_path / "out", seed=5, defect_rate=0.2,
                               profiles=(_write(tmp_path, data),)))


def test_default_defect_rate_is_the_profiles(tmp_path):
    data = _shipped("juki")
    data["defects"]["default_rate"] = 0.0
    summary = generate(SampleOptions(residents=300, out=tmp_path / "out", seed=42,
                                     profiles=(_write(tmp_path, data),)))
    assert summary["defect_rate"] == 0.0
    assert all(not f["defect_classes"] for f in summary["files"].values())
    shipped = json.loads(json.dumps(generate(SampleOptions(residents=300, out=tmp_path / "b", seed=42))))
    assert shipped["defect_rate"] == 0.01 and shipped["files"]["JUMIN"]["defect_classes"]


def test_zei_proportions_come_from_the_profile(tmp_path):
    data = _shipped("zei")
    data["kei"]["owner_share"] = 0.0            # only the fixed edge vehicles remain
    data["kotei"]["owner_share"] = 1.0          # every household owns land
    out = tmp_path / "out"
    generate(SampleOptions(residents=300, out=out, seed=42, defect_rate=0.0,
                           profiles=(_write(tmp_path, data, "zei.yaml"),)))
    sharyo = pq.read_table(out / "truth" / "zei" / "zei_kei_sharyo.parquet").column("sharyo_no").to_pylist()
    assert len(set(sharyo)) == len(EDGES)        # the shipped 0.25 gives dozens more at 300 residents
    # every household of the 税 population owns land (the shipped 0.45: 35 of about 90 at seed 42)
    pop = load_population(out / "truth" / "jumin.parquet", 42, load_profile("zei").population)
    tochi = pq.read_table(out / "truth" / "zei" / "zei_kotei_tochi.parquet").column("kyoyo_tochi_flag").to_pylist()
    assert tochi.count(False) == len(pop.households)


def test_unknown_condition_or_field_is_a_clear_error(tmp_path):
    data = _shipped("juki")
    data["defects"]["files"]["SETAI"]["classes"][0]["ways"][0]["if"] = "birth_exact"   # a JUMIN condition
    with pytest.raises(ProfileError, match=r"defects.files.SETAI: class impossible_date: unknown condition "
                                           r"\['birth_exact'\] \(known: none\)"):
        load_profile_file(_write(tmp_path, data))
    data = _shipped("juki")
    data["defects"]["files"]["SETAI"]["classes"][1]["ways"][0]["bump_digit"]["field"] = "atena_no"
    with pytest.raises(ValueError, match="defect field atena_no is not a field of the record type"):
        generate(SampleOptions(residents=300, out=tmp_path / "out", seed=5, defect_rate=0.3,
                               profiles=(_write(tmp_path, data),)))
