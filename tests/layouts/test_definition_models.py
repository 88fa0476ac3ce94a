"""Every kind of definition file is read strictly through its model, with errors a user can act on.

For each kind (ISL definition, code table, legacy layout, mapping, manifest, rule catalogue, EUC
definition), through the loader the hub really uses: an unknown key is an error listing the allowed
keys, a duplicate YAML key is an error with its line, a wrong type names the path inside the file.
`kikan schema NAME` prints a JSON Schema that accepts the shipped files and refuses a typo.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from kikan_hub.layouts import definition_models as models
from kikan_hub.layouts import isl
from kikan_hub.layouts.errors import LayoutError
from kikan_hub.layouts.legacy import load_legacy_layout
from kikan_hub.mapping.spec import load_mapping
from kikan_hub.modules.euc import EucError, parse_definition
from kikan_hub.pipeline.errors import ConfigError
from kikan_hub.pipeline.manifest import load_manifest
from kikan_hub.validation import catalogue
from tests.kikan_testenv import run_kikan

ISL = """\
gyomu: 水道
gyomu_id: suido
version: "test"
tables:
  - id: suido_keiyaku
    name: 水道契約
    primary_key: [keiyaku_no]
    items:
      - {id: keiyaku_no, name: 契約番号, type: digits, length: 10, required: true}
      - {id: keiyaku_kubun, name: 契約区分, type: code, length: 1, code: suido_kubun}
"""
CODES = """\
id: suido_kubun
name: 水道契約区分
codes: {"1": 一般, "2": 臨時}
"""
LAYOUT = """\
layout: KYU-SUIDO
format: fixed
record_length: 11
record_types:
  - name: keiyaku
    fields:
      - {name: keiyaku_no, start: 1, length: 10, type: digits}
      - {name: kubun, start: 11, length: 1, type: code}
"""
MAPPING = """\
targets:
  - table: juki_setai
    source: {file: SUIDO, record_type: keiyaku}
    columns:
      setai_no: keiyaku_no
"""
MANIFEST = """\
name: 水道
mapping: mapping.yaml
files:
  - {id: SUIDO, path: SUIDO.DAT, layout: layout.yaml, encoding: cp932}
"""
RULES = """\
rules:
  SUIDO-1:
    title: 試験
    severity: warn
    thresholds: {warn: 1}
"""
EUC = """\
name: 世帯一覧
table: juki_setai
items: [setai_no]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def _rules(tmp_path: Path, text: str, monkeypatch) -> None:
    _write(tmp_path / "extra" / "rules", "suido.yaml", text)
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", str(tmp_path / "extra"))
    catalogue.load_catalogue()


def _euc(tmp_path: Path, text: str, monkeypatch) -> None:
    parse_definition(text, source="euc.yaml")


def _manifest(tmp_path: Path, text: str, monkeypatch) -> None:
    _write(tmp_path, "layout.yaml", LAYOUT)
    _write(tmp_path, "mapping.yaml", MAPPING)
    (tmp_path / "SUIDO.DAT").write_bytes(b"")
    load_manifest(_write(tmp_path, "manifest.yaml", text))


# kind → (good text, loader(tmp_path, text, monkeypatch), error class, file name in messages)
KINDS = {
    "isl-definition": (ISL, lambda t, x, m: isl.load_definition(_write(t, "suido.yaml", x)), LayoutError, "suido.yaml"),
    "code-table": (CODES, lambda t, x, m: isl.load_code_table("suido_kubun", str(_write(t, "suido_kubun.yaml", x).parent)),
                   LayoutError, "suido_kubun.yaml"),
    "legacy-layout": (LAYOUT, lambda t, x, m: load_legacy_layout(_write(t, "layout.yaml", x)), LayoutError, "layout.yaml"),
    "mapping": (MAPPING, lambda t, x, m: load_mapping(_write(t, "mapping.yaml", x)), LayoutError, "mapping.yaml"),
    "manifest": (MANIFEST, _manifest, ConfigError, "manifest.yaml"),
    "rule-catalogue": (RULES, _rules, LayoutError, "suido.yaml"),
    "euc-definition": (EUC, _euc, EucError, "euc.yaml"),
}
# kind → (text replaced, replacement, expected message pieces): an unknown key at some depth
UNKNOWN = {
    "isl-definition": ("required: true}", "required: true, lenght: 3}",
                       ["tables[0](suido_keiyaku).items[0](keiyaku_no): unknown key 'lenght'", "allowed keys", "length"]),
    "code-table": ("codes:", "kodes: {}\ncodes:", ["unknown key 'kodes'", "allowed keys", "codes"]),
    "legacy-layout": ("type: code}", "type: code, gaiji_: true}",
                      ["record_types[0](keiyaku).fields[1](kubun): unknown key 'gaiji_'", "allowed keys", "gaiji"]),
    "mapping": ("setai_no: keiyaku_no", "setai_no: {form: keiyaku_no}",
                ["targets[0](juki_setai).columns.setai_no: unknown key 'form'", "allowed keys", "from"]),
    "manifest": ("encoding: cp932}", "encoding: cp932, skip: 1}",
                 ["files[0](SUIDO): unknown key 'skip'", "allowed keys", "id, path, layout, encoding"]),
    "rule-catalogue": ("    severity: warn", "    severity: warn\n    treshold: 1",
                       ["rules.SUIDO-1: unknown key 'treshold'", "allowed keys", "thresholds"]),
    "euc-definition": ("items: [setai_no]", "items: [setai_no]\nsort_by: [setai_no]",
                       ["unknown key 'sort_by'", "allowed keys", "sort"]),
}
# kind → (text replaced, replacement, expected message): a wrong type, named by its path
WRONG_TYPE = {
    "isl-definition": ("length: 10", "length: ten",
                       "tables[0](suido_keiyaku).items[0](keiyaku_no).length: expected an integer, got 'ten'"),
    "code-table": ('codes: {"1": 一般, "2": 臨時}', "codes: [一般, 臨時]", "codes: expected a mapping, got ['一般', '臨時']"),
    "legacy-layout": ("record_length: 11", "record_length: '11'", "record_length: expected an integer, got '11'"),
    "mapping": ("  - table: juki_setai\n    source: {file: SUIDO, record_type: keiyaku}\n    columns:\n      setai_no: keiyaku_no\n",
                "  - juki_setai\n", "targets[0]: expected a mapping, got 'juki_setai'"),
    "manifest": ("files:\n  - {id: SUIDO, path: SUIDO.DAT, layout: layout.yaml, encoding: cp932}\n", "files: SUIDO.DAT\n",
                 "files: expected a list, got 'SUIDO.DAT'"),
    "rule-catalogue": ("thresholds: {warn: 1}", "thresholds: {warn: many}",
                       "rules.SUIDO-1.thresholds.warn: expected a number, got 'many'"),
    "euc-definition": ("items: [setai_no]", "items: setai_no", "items: expected a list, got 'setai_no'"),
}
# kind → a line to insert that repeats a key of the same mapping
DUPLICATE = {
    "isl-definition": ("version: \"test\"\n", "version: \"test\"\nversion: \"again\"\n", "version"),
    "code-table": ("name: 水道契約区分\n", "name: 水道契約区分\nname: 重複\n", "name"),
    "legacy-layout": ("record_length: 11\n", "record_length: 11\nrecord_length: 12\n", "record_length"),
    "mapping": ("      setai_no: keiyaku_no\n", "      setai_no: keiyaku_no\n      setai_no: kubun\n", "setai_no"),
    "manifest": ("mapping: mapping.yaml\n", "mapping: mapping.yaml\nmapping: other.yaml\n", "mapping"),
    "rule-catalogue": ("    severity: warn\n", "    severity: warn\n    severity: error\n", "severity"),
    "euc-definition": ("table: juki_setai\n", "table: juki_setai\ntable: juki_jumin\n", "table"),
}


@pytest.fixture(autouse=True)
def _no_extra_folders(monkeypatch):
    monkeypatch.delenv("KIKAN_DEFINITIONS_PATH", raising=False)


def _fail(kind: str, tmp_path: Path, text: str, monkeypatch) -> Exception:
    good, loader, error, _ = KINDS[kind]
    with pytest.raises(error) as err:
        loader(tmp_path, text, monkeypatch)
    return err.value


def _message(exc: Exception) -> str:
    return exc.message if hasattr(exc, "message") else str(exc)


def test_the_models_cover_every_kind():
    assert set(models.MODELS) == set(KINDS) == set(UNKNOWN) == set(WRONG_TYPE) == set(DUPLICATE)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_good_file_loads(kind, tmp_path, monkeypatch):
    good, loader, _, _ = KINDS[kind]
    loader(tmp_path, good, monkeypatch)  # raises on any problem


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_unknown_key_lists_the_allowed_keys(kind, tmp_path, monkeypatch):
    old, new, pieces = UNKNOWN[kind]
    good, _, _, fname = KINDS[kind]
    assert old in good
    exc = _fail(kind, tmp_path, good.replace(old, new), monkeypatch)
    assert fname in str(exc)
    for piece in pieces:
        assert piece in _message(exc), (piece, _message(exc))


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_wrong_type_names_the_path_inside_the_file(kind, tmp_path, monkeypatch):
    old, new, expected = WRONG_TYPE[kind]
    good, _, _, fname = KINDS[kind]
    assert old in good
    exc = _fail(kind, tmp_path, good.replace(old, new), monkeypatch)
    line = next(i for i, text in enumerate(good.replace(old, new).splitlines(), 1) if new.splitlines()[0] in text)
    assert str(exc).endswith(f"{fname}: {expected} (line {line})"), str(exc)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_duplicate_key_is_an_error_with_its_line(kind, tmp_path, monkeypatch):
    old, new, key = DUPLICATE[kind]
    good, _, _, fname = KINDS[kind]
    assert old in good
    text = good.replace(old, new)
    line = text.splitlines().index(new.splitlines()[-1]) + 1
    exc = _fail(kind, tmp_path, text, monkeypatch)
    assert f"line {line}, column " in _message(exc) and f"duplicate key {key!r}" in _message(exc), _message(exc)


def test_a_code_written_as_a_number_must_be_quoted(tmp_path):
    with pytest.raises(LayoutError, match=r"codes: key 1 must be text \(write it in quotes\)"):
        isl.load_code_table("suido_kubun", str(_write(tmp_path, "suido_kubun.yaml",
                                                      CODES.replace('"1": 一般', "1: 一般")).parent))


def test_a_code_table_id_must_match_its_file_name(tmp_path):
    with pytest.raises(LayoutError, match=r"id: 'suido_kubun' differs from the file name 'suido_kbn.yaml'"):
        isl.load_code_table("suido_kbn", str(_write(tmp_path, "suido_kbn.yaml", CODES).parent))


def test_references_inside_a_file_are_checked(tmp_path):
    text = ISL.replace("primary_key: [keiyaku_no]", "primary_key: [keiyaku]")
    with pytest.raises(LayoutError, match=r"tables\[0\]\(suido_keiyaku\): primary_key: 'keiyaku' is not an item"):
        isl.load_definition(_write(tmp_path, "suido.yaml", text))
    text = MAPPING.replace("setai_no: keiyaku_no", "setai_no: {from: keiyaku_no, code_map: kubun}")
    with pytest.raises(LayoutError, match=r"no code_maps entry 'kubun'"):
        load_mapping(_write(tmp_path, "mapping.yaml", text))


def test_several_problems_are_reported_together(tmp_path):
    text = ISL.replace("length: 10", "length: 0").replace("type: code,", "type: kode,")
    with pytest.raises(LayoutError) as err:
        isl.load_definition(_write(tmp_path, "suido.yaml", text))
    assert err.value.message.startswith("2 problems:")
    assert "items[0](keiyaku_no).length: must be >= 1, got 0" in err.value.message
    assert "items[1](keiyaku_kubun).type: 'kode' is not allowed; one of 'text'" in err.value.message


# ------------------------------------------------------------------ kikan schema


def _schema(kind: str) -> dict:
    proc = run_kikan("schema", kind)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


SHIPPED = {
    "isl-definition": sorted(isl.DEFINITIONS_DIR.glob("*.yaml")),
    "code-table": sorted((isl.DEFINITIONS_DIR / "codes").glob("*.yaml"))[:10],
    "rule-catalogue": sorted(catalogue.RULES_DIR.glob("*.yaml")),
}


@pytest.mark.parametrize("kind", list(SHIPPED))
def test_the_printed_schema_accepts_the_shipped_files_and_refuses_a_typo(kind):
    schema = _schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in SHIPPED[kind]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        validator.validate(data)
    data["unknown_top_level_key"] = 1
    assert not validator.is_valid(data)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_has_a_schema_that_accepts_the_example(kind):
    schema = _schema(kind)
    good = yaml.safe_load(KINDS[kind][0])
    jsonschema.Draft202012Validator(schema).validate(good)


def test_schema_lists_the_kinds_and_refuses_an_unknown_one():
    listing = run_kikan("schema")
    assert listing.returncode == 0 and all(k in listing.stdout for k in KINDS)
    proc = run_kikan("schema", "layout")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "legacy-layout" in proc.stderr


def test_a_definition_error_through_the_cli_is_exit_2_with_file_and_path(tmp_path):
    extra = tmp_path / "extra"
    _write(extra, "suido.yaml", ISL.replace("length: 10", "length: ten"))
    proc = run_kikan("schema", KIKAN_DEFINITIONS_PATH=str(extra))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{extra / 'suido.yaml'}: tables[0](suido_keiyaku).items[0](keiyaku_no).length: expected an integer" \
        in proc.stderr.replace("\n", "")


def test_checks_across_files_name_the_same_paths(tmp_path, monkeypatch):
    """What the model cannot know alone (the ISL tables, the layout's fields) is named the same way."""
    _write(tmp_path, "layout.yaml", LAYOUT)
    (tmp_path / "SUIDO.DAT").write_bytes(b"")
    manifest = _write(tmp_path, "manifest.yaml", MANIFEST)
    _write(tmp_path, "mapping.yaml", MAPPING.replace("table: juki_setai", "table: suido_x"))
    with pytest.raises(ConfigError, match=r"mapping.yaml: targets\[0\]\(suido_x\).table: 'suido_x' is not an ISL table"):
        load_manifest(manifest)
    _write(tmp_path, "mapping.yaml", MAPPING.replace("setai_no: keiyaku_no", "setai_no: keiyaku"))
    with pytest.raises(ConfigError, match=r"targets\[0\]\(juki_setai\).columns.setai_no: source field 'keiyaku' is not "
                                          r"in record type keiyaku"):
        load_manifest(manifest)


def test_personal_kinds_come_from_the_one_policy_file(tmp_path):
    kinds = yaml.safe_load((isl.DEFINITIONS_DIR.parent / "personal.yaml").read_text(encoding="utf-8"))["kinds"]
    text = ISL.replace("required: true}", "required: true, personal: mynumber}")
    with pytest.raises(LayoutError) as err:
        isl.load_definition(_write(tmp_path, "suido.yaml", text))
    assert "items[0](keiyaku_no).personal: 'mynumber' is not allowed" in err.value.message
    assert all(repr(k) in err.value.message for k in kinds)
    good = ISL.replace("required: true}", "required: true, personal: identifier}")
    assert isl.load_definition(_write(tmp_path, "suido.yaml", good)).tables[0].items[0].personal == "identifier"
