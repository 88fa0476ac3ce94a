"""Every 業務 of the city's plan (表7 of the 基本計画) has an ISL definition, codes and its 担当課.

表7 itself is not among the public texts the project holds; the list below is the one issue 13 gives
(the six 業務 the hub had, then the 27 of "What to build" 1.), in that order. The issue speaks of 35
業務 but names 33: the two it does not name cannot be listed here (reported, not guessed).

The definitions are read through the product's loader (kikan_hub.layouts.isl), so a definition that
does not load, a missing 業務, a code table that does not exist or a value that does not fit its item
fails here.
"""
from __future__ import annotations

import re

import pytest

from kikan_hub.layouts.isl import load_code_table, load_definitions, personal_kinds

# (業務 as the plan names it, gyomu_id, 担当課) — issue 13 "Why" / "What to build" 1. and 4.
PLAN = [
    ("住民記録", "juki", "市民課"),
    ("住登外者宛名", "jutogai", "市民課"),
    ("印鑑登録", "inkan", "市民課"),
    ("個人住民税", "zei_kojin", "市民税課"),
    ("固定資産税", "zei_kotei", "資産税課"),
    ("軽自動車税", "zei_kei", "市民税課"),
    ("法人住民税", "zei_hojin", "市民税課"),
    ("収納管理", "shuno", "納税課"),
    ("口座管理", "koza", "納税課"),
    ("滞納管理", "tainou", "納税課"),
    ("証明書コンビニ交付", "conveni", "市民課"),
    ("国民年金", "kokunen", "国民健康保険課"),
    ("国民健康保険", "kokuho", "国民健康保険課"),
    ("後期高齢者医療", "koki", "国民健康保険課"),
    ("介護保険", "kaigo", "介護保険課"),
    ("障がい者（児）福祉", "shogai_techo", "障がい福祉課"),
    ("障がい福祉サービス", "shogai_service", "障がい福祉課"),
    ("障がい者手当", "shogai_teate", "障がい福祉課"),
    ("児童手当", "jidoteate", "家庭支援課"),
    ("福祉手当", "fukushi_teate", "家庭支援課"),
    ("福祉医療", "fukushi_iryo", "家庭支援課"),
    ("健康管理", "kenko", ("健康増進課", "母子保健課")),
    ("敬老寿賀", "keiro", "長寿支援課"),
    ("避難行動要支援者", "hinan", "長寿支援課"),
    ("農業集落排水施設使用料", "noshuhai", "農村整備課"),
    ("市営住宅管理", "jutaku", "管理住宅課"),
    ("下水道受益者負担", "gesui_futan", "業務課"),
    ("学齢簿", "gakurei", "学校教育課"),
    ("就学支援", "shugaku", "学校教育課"),
    ("成人の祝賀式", "seijin", "社会教育青少年課"),
    ("選挙", "senkyo", "選挙管理委員会事務局"),
    ("農家基本台帳", "noka", "農業委員会事務局"),
    ("基盤管理", "kiban", "情報企画課"),
]
# the 担当課 of issue 13 (division reports are written per 担当課)
DIVISIONS = {"市民税課", "資産税課", "納税課", "市民課", "国民健康保険課", "健康増進課", "母子保健課", "長寿支援課",
             "介護保険課", "障がい福祉課", "家庭支援課", "農村整備課", "管理住宅課", "業務課", "学校教育課",
             "社会教育青少年課", "選挙管理委員会事務局", "農業委員会事務局", "情報企画課"}
# the 業務 the hub had before issue 13 (their personal marks belong to the redesign of issue 12)
EARLIER = {"juki", "jutogai", "inkan", "zei_kojin", "zei_kotei", "zei_kei"}
NEW = [p for p in PLAN if p[1] not in EARLIER]
# the kinds of personal data (layouts/personal.yaml, issue 12): the seven this test expects the new files to use
PERSONAL = {"kojin_bango", "identifier", "name", "address", "address_detail", "birth", "contact"}
# tables that are about a thing, not a person (a dwelling; the tax lines of one 差押)
NOT_ABOUT_A_PERSON = {"jutaku_jukko", "tainou_sashiosae_zei"}
ATENA = re.compile(r"^(?:\w+_)?atena_no$")


def _definitions() -> dict:
    """gyomu_id → its definitions (住民記録 has two files: juki.yaml and juki_idou.yaml)."""
    out: dict = {}
    for d in load_definitions().values():
        out.setdefault(d.gyomu_id, []).append(d)
    return out


def _tables(gyomu_id: str):
    return [t for d in _definitions()[gyomu_id] for t in d.tables]


def test_personal_kinds_are_the_policy():
    assert PERSONAL <= personal_kinds()


def test_plan_is_the_issue_list():
    ids = [p[1] for p in PLAN]
    assert len(PLAN) == 33 and len(set(ids)) == 33
    assert {d for p in PLAN for d in ((p[2],) if isinstance(p[2], str) else p[2])} == DIVISIONS


@pytest.mark.parametrize("name, gyomu_id, division", PLAN, ids=[p[1] for p in PLAN])
def test_every_gyomu_has_a_definition(name, gyomu_id, division):
    defs = _definitions()
    assert gyomu_id in defs, f"表7 の業務「{name}」 ({gyomu_id}) に ISL 定義がありません"
    for d in defs[gyomu_id]:
        assert d.tables, f"{d.path.name}: no tables"
        assert d.provenance.strip(), f"{d.path.name}: no provenance"
    for t in _tables(gyomu_id):
        assert t.primary_key, f"{t.id}: no primary key"
        assert len(t.items) >= 7, f"{t.id}: {len(t.items)} items is a token table, not what a clerk needs"


@pytest.mark.parametrize("name, gyomu_id, division", PLAN, ids=[p[1] for p in PLAN])
def test_gyomu_code_table_names_the_gyomu_and_its_division(name, gyomu_id, division):
    gyomu = load_code_table("gyomu")
    codes = [c for c, g in gyomu.extra["gyomu_id"].items() if g == gyomu_id]
    assert len(codes) == 1, f"codes/gyomu.yaml: gyomu_id {gyomu_id} listed {len(codes)} times"
    code = codes[0]
    assert gyomu.codes[code] == name
    want = [division] if isinstance(division, str) else list(division)
    got = gyomu.extra["tantoka"][code]
    assert ([got] if isinstance(got, str) else got) == want


@pytest.mark.parametrize("name, gyomu_id, division", PLAN, ids=[p[1] for p in PLAN])
def test_referenced_codes_exist_and_fit(name, gyomu_id, division):
    for t in _tables(gyomu_id):
        for it in t.items:
            if it.type == "code" or it.code:
                assert it.code, f"{t.id}.{it.id}: type code without a code table"
                table = load_code_table(it.code)  # raises LayoutError naming the missing file
                assert table.codes, f"codes/{it.code}.yaml has no codes"
                longest = max(len(c) for c in table.codes)
                if not (gyomu_id == "juki" and it.id == "zokugara"):  # known short (test_definitions)
                    assert longest <= it.length, f"{t.id}.{it.id}: length {it.length} < code {it.code} ({longest})"


@pytest.mark.parametrize("name, gyomu_id, division", NEW, ids=[p[1] for p in NEW])
def test_person_tables_carry_atena_no(name, gyomu_id, division):
    for t in _tables(gyomu_id):
        atena = [it for it in t.items if ATENA.match(it.id)]
        for it in atena:
            assert (it.type, it.length, it.check) == ("digits", 10, "m11"), f"{t.id}.{it.id}"
        if t.id not in NOT_ABOUT_A_PERSON:
            assert atena, f"{t.id}: a table about a person needs 宛名番号"
            assert any(it.required for it in atena) or t.id == "seijin_taishosha", \
                f"{t.id}: no required 宛名番号 (seijin_taishosha alone admits applicants from outside the city)"


@pytest.mark.parametrize("name, gyomu_id, division", NEW, ids=[p[1] for p in NEW])
def test_types_personal_marks_and_keys(name, gyomu_id, division):
    for t in _tables(gyomu_id):
        ids = {it.id for it in t.items}
        for k in t.primary_key:
            assert t.item(k).required, f"{t.id}: primary key item {k} must be required"
        for it in t.items:
            where = f"{t.id}.{it.id}"
            if it.id.endswith("_date"):
                assert it.type in ("date", "wareki_date"), f"{where}: a date is typed date, not {it.type}"
            if it.id.endswith(("_gaku", "_ryokin")) or it.name.endswith(("額", "税額", "料金")):
                assert it.type in ("decimal", "integer"), f"{where}: money is decimal or integer, not {it.type}"
            if it.personal is not None:
                assert it.personal in PERSONAL, f"{where}: personal {it.personal!r} not in {sorted(PERSONAL)}"
            if it.name == "個人番号":
                assert it.personal == "kojin_bango" and it.check == "mynumber", where
            assert it.provenance.strip(), f"{where}: no provenance"
        assert "shori_date" in ids or t.id.endswith("_sashiosae_zei") or t.id.endswith("_jido"), \
            f"{t.id}: no 処理日"


@pytest.mark.parametrize("name, gyomu_id, division", NEW, ids=[p[1] for p in NEW])
def test_new_code_tables_say_what_is_assumed(name, gyomu_id, division):
    """A code table written for issue 13 names its public basis and marks assumed values as assumed."""
    earlier = {it.code for g in EARLIER for t in _tables(g) for it in t.items if it.code}
    for t in _tables(gyomu_id):
        for it in t.items:
            if it.code and it.code not in earlier:
                prov = load_code_table(it.code).provenance
                assert prov.strip(), f"codes/{it.code}.yaml: no provenance"
                assert re.search(r"assumed|to verify|statute text reviewed|全銀協|JIS", prov), \
                    f"codes/{it.code}.yaml: provenance neither cites a checked source nor says assumed: {prov}"


def test_every_rule_reports_to_a_division_of_table7():
    """Each rule of the catalogue (the reader's READ-* included) reports to a 担当課 of 表7: no report
    is written for a division the city's plan does not have (a rule without one reports to the
    division of the records' 業務)."""
    from kikan_hub.validation.catalogue import divisions, full_catalogue

    assert {r.division for r in full_catalogue().values() if r.division} <= DIVISIONS
    assert set(divisions().values()) <= DIVISIONS
