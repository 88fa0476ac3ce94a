"""docs/onboarding.md stays true: its examples load with the hub's own loaders, and every key the
loaders accept is documented there (a new option must come with its line in the guide)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kikan_hub.layouts import definition_models as models
from kikan_hub.layouts.legacy import parse_legacy_layout
from kikan_hub.mapping.spec import load_mapping

DOC = Path(__file__).resolve().parents[1] / "docs" / "onboarding.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", TEXT, flags=re.S)


def blocks(lang: str, first_key: str) -> list[str]:
    return [b for kind, b in BLOCKS if kind == lang and b.lstrip().startswith(first_key)]


@pytest.mark.parametrize("text", blocks("yaml", "layout:"))
def test_layout_examples_load(text):
    lay = parse_legacy_layout(yaml.safe_load(text), DOC)
    assert lay.record_types


def test_mapping_example_loads(tmp_path):
    (text,) = blocks("yaml", "targets:")
    p = tmp_path / "mapping.yaml"
    p.write_text(text, encoding="utf-8")
    m = load_mapping(p)
    assert m.targets[0].table == "juki_jumin" and "zokugara" in m.code_maps


def test_register_example_loads(tmp_path):
    from kikan_hub.gaiji.register import GaijiRegister

    (text,) = [b for kind, b in BLOCKS if kind == "csv"]
    p = tmp_path / "gaiji_register.csv"
    p.write_text(text, encoding="utf-8")
    reg = GaijiRegister.load(p)
    assert len(list(reg.rows)) == 3


def test_manifest_example_names_every_key():
    (text,) = blocks("yaml", "name:")
    data = yaml.safe_load(text)
    assert {"name", "source_system", "mapping", "gaiji_register", "unresolved_gaiji", "files"} <= set(data)


def _keys(model) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


@pytest.mark.parametrize("keys", [_keys(models.LegacyLayoutFile), _keys(models.RecordTypeModel),
                                  _keys(models.LayoutField), _keys(models.MappingColumn)],
                         ids=["layout", "record type", "field", "mapping column"])
def test_every_accepted_key_is_documented(keys):
    missing = sorted(k for k in keys if f"`{k}`" not in TEXT)
    assert missing == [], f"document these in docs/onboarding.md: {missing}"
