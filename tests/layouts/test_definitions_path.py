"""KIKAN_DEFINITIONS_PATH: extra folders add ISL definitions, code tables and rule catalogues.

An extra folder adds a 業務 the package does not ship, for every loader (definitions, tables, code
tables, rules, the run id's inputs); an id it defines again (業務, table, code table, rule) is an
error naming both files, also through the CLI (exit 2, no traceback).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from kikan_hub.layouts import isl
from kikan_hub.layouts.errors import LayoutError
from kikan_hub.pipeline.run_id import definition_files
from kikan_hub.validation import catalogue
from tests.kikan_testenv import run_kikan

SUIDO = """\
gyomu: 水道
gyomu_id: suido
version: "test"
provenance: 試験用（パッケージに含まれない業務）
tables:
  - id: suido_keiyaku
    name: 水道契約
    primary_key: [keiyaku_no]
    items:
      - {id: keiyaku_no, name: 契約番号, type: digits, length: 10, required: true}
      - {id: atena_no, name: 宛名番号, type: digits, length: 15, required: true}
      - {id: keiyaku_kubun, name: 契約区分, type: code, length: 1, code: suido_keiyaku_kubun}
"""
CODES = """\
id: suido_keiyaku_kubun
name: 水道契約区分
codes: {"1": 一般, "2": 臨時}
"""
RULES = """\
divisions:
  suido: 水道課
rules:
  SUIDO-KEIYAKU:
    title: 契約者が宛名にいない
    division: 水道課
    severity: error
    description: 試験用の規則。
    thresholds: {warn: 1}
"""


def make_folder(root: Path, definition: str = SUIDO, codes: dict[str, str] | None = None,
                rules: str = RULES) -> Path:
    (root / "codes").mkdir(parents=True)
    (root / "rules").mkdir()
    (root / "suido.yaml").write_text(definition, encoding="utf-8")
    for name, text in (codes or {"suido_keiyaku_kubun": CODES}).items():
        (root / "codes" / f"{name}.yaml").write_text(text, encoding="utf-8")
    (root / "rules" / "suido.yaml").write_text(rules, encoding="utf-8")
    return root


def test_without_the_variable_only_the_shipped_definitions(monkeypatch):
    monkeypatch.delenv("KIKAN_DEFINITIONS_PATH", raising=False)
    assert "suido" not in isl.load_definitions()
    assert "juki" in isl.load_definitions()


def test_an_extra_folder_adds_a_gyomu_its_codes_and_rules(tmp_path, monkeypatch):
    extra = make_folder(tmp_path / "suido")
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", f":{extra}:")  # empty entries are ignored, as in PATH
    defs = isl.load_definitions()
    assert defs["suido"].path == extra / "suido.yaml"
    assert "juki" in defs  # the shipped ones stay
    table = isl.get_table("suido_keiyaku")
    assert table.gyomu_id == "suido" and table.primary_key == ("keiyaku_no",)
    assert isl.load_code_table("suido_keiyaku_kubun").codes == {"1": "一般", "2": "臨時"}
    assert isl.load_code_table("seibetsu").codes  # shipped code tables still found
    assert catalogue.load_catalogue()["SUIDO-KEIYAKU"].division == "水道課"
    assert catalogue.division_for("suido") == "水道課"
    # rules generated from the definition (code, required) cover the new table too
    generated = catalogue.full_catalogue()
    assert "ISL-CODE.suido_keiyaku" in generated and generated["ISL-CODE.suido_keiyaku"].gyomu == "suido"
    assert any(r.table == "suido_keiyaku" for r in catalogue.gate_rules("suido"))
    # the run id hashes the extra definitions: changing them changes the result of a rehearsal
    files = definition_files()
    assert extra / "suido.yaml" in files and extra / "codes" / "suido_keiyaku_kubun.yaml" in files
    assert extra / "rules" / "suido.yaml" in files


def test_unsetting_the_variable_drops_the_extra_gyomu(tmp_path, monkeypatch):
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", str(make_folder(tmp_path / "suido")))
    assert "suido" in isl.load_definitions()
    monkeypatch.delenv("KIKAN_DEFINITIONS_PATH")
    assert "suido" not in isl.load_definitions()
    assert "SUIDO-KEIYAKU" not in catalogue.load_catalogue()


def test_a_missing_folder_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", str(tmp_path / "absent"))
    with pytest.raises(LayoutError, match="KIKAN_DEFINITIONS_PATH") as err:
        isl.load_definitions()
    assert err.value.path == tmp_path / "absent"


SHIPPED = isl.DEFINITIONS_DIR


@pytest.mark.parametrize("kind, folder_args, shipped_file, extra_file", [
    ("業務", {"definition": SUIDO.replace("gyomu_id: suido", "gyomu_id: juki")},
     SHIPPED / "juki.yaml", "suido.yaml"),
    ("ISL table", {"definition": SUIDO.replace("id: suido_keiyaku\n", "id: juki_jumin\n")},
     SHIPPED / "juki.yaml", "suido.yaml"),
    ("code table", {"codes": {"suido_keiyaku_kubun": CODES, "seibetsu": CODES}},
     SHIPPED / "codes" / "seibetsu.yaml", "codes/seibetsu.yaml"),
])
def test_a_clash_with_a_shipped_id_names_both_files(tmp_path, monkeypatch, kind, folder_args, shipped_file, extra_file):
    extra = make_folder(tmp_path / "x", **folder_args)
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", str(extra))
    with pytest.raises(LayoutError) as err:
        isl.load_definitions()
    assert err.value.path == extra / extra_file
    assert str(shipped_file) in err.value.message and kind in err.value.message


def test_a_rule_id_clash_names_both_files(tmp_path, monkeypatch):
    extra = make_folder(tmp_path / "x", rules=RULES.replace("SUIDO-KEIYAKU", "READ-LENGTH"))
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", str(extra))
    with pytest.raises(LayoutError) as err:
        catalogue.load_catalogue()
    assert err.value.path == extra / "rules" / "suido.yaml"
    assert str(catalogue.RULES_DIR / "foundation.yaml") in err.value.message


def test_two_extra_folders_defining_one_gyomu_clash(tmp_path, monkeypatch):
    a = make_folder(tmp_path / "a")
    b = make_folder(tmp_path / "b", codes={"other": CODES})
    monkeypatch.setenv("KIKAN_DEFINITIONS_PATH", f"{a}:{b}")
    with pytest.raises(LayoutError) as err:
        isl.load_definitions()
    assert err.value.path == b / "suido.yaml" and str(a / "suido.yaml") in err.value.message


def test_the_cli_reports_a_clash_with_exit_2_and_no_traceback(tmp_path):
    extra = make_folder(tmp_path / "x", definition=SUIDO.replace("gyomu_id: suido", "gyomu_id: juki"))
    # `kikan import isl` builds a new store's tables from the definitions before it reads the folder
    proc = run_kikan("import", "isl", str(tmp_path / "handover"), "--store", f"sqlite:///{tmp_path / 'new.db'}",
                     KIKAN_DEFINITIONS_PATH=str(extra))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(extra / "suido.yaml") in proc.stderr and str(SHIPPED / "juki.yaml") in proc.stderr
