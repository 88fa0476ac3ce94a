"""Issue 12: personal data is the ISL item attribute ``personal:`` — a new item marked personal is
masked in a report and in an EUC extract without any code change.

The new 業務 (緊急連絡先, an ISL definition the package does not ship) is only data: a copy of the
shipped definitions plus one YAML file, given to a fresh interpreter through KIKAN_ISL_DIR. Its items
marked ``personal: name / address / contact / identifier`` are masked in the validation report
(HTML, JSON, Excel) and in an EUC CSV extract for the 閲覧 role; the unmarked item is shown as is.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from kikan_hub.layouts.isl import DEFINITIONS_DIR, load_definition
from kikan_hub.validation.masking import load_policy

NEW_GYOMU = {
    "gyomu": "緊急連絡先", "gyomu_id": "renraku", "version": "test.1", "provenance": "test fixture (issue 12)",
    "tables": [{
        "id": "renraku_saki", "name": "緊急連絡先", "description": "test", "primary_key": ["atena_no", "renban"],
        "items": [
            {"id": "atena_no", "name": "宛名番号", "type": "digits", "length": 10, "required": True, "check": "m11"},
            {"id": "renban", "name": "連番", "type": "integer", "length": 2, "required": True},
            {"id": "renrakusaki_namae", "name": "連絡先の氏名", "type": "text", "length": 30, "required": True,
             "personal": "name"},
            {"id": "renrakusaki_shozai", "name": "連絡先の住所", "type": "text", "length": 60, "personal": "address"},
            {"id": "renrakusaki_denwa", "name": "連絡先の電話番号", "type": "text", "length": 15, "personal": "contact"},
            {"id": "hoken_shoban", "name": "被保険者証番号", "type": "digits", "length": 8, "personal": "identifier"},
            {"id": "kankei", "name": "本人との関係", "type": "text", "length": 10},
        ]}],
}
NAME, ADDRESS, PHONE, CARD = "霧島　花子", "霞野市桜町1丁目2番3号", "090-1234-5678", "87654321"

SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import polars as pl
    from kikan_hub.store.engine import open_engine
    from kikan_hub.store.migrate import upgrade
    from kikan_hub.store.schema import build_metadata
    from kikan_hub.validation.engine import validate_tables
    from kikan_hub.validation.reports import write_reports
    from kikan_hub.validation.check_digits import m11_complete
    from kikan_hub.modules import euc
    import sqlalchemy as sa

    out = Path(sys.argv[1]); NAME, ADDRESS, PHONE, CARD = sys.argv[2:6]
    atena = [str(a) for a in m11_complete([123450001, 123450002], 10)]
    # planted so that the report shows samples of every marked item: 本人との関係 too long (row 1),
    # the required name missing (row 2), address, phone and card number too long (row 3)
    rows = [{"atena_no": atena[0], "renban": 1, "renrakusaki_namae": NAME, "renrakusaki_shozai": ADDRESS,
             "renrakusaki_denwa": PHONE, "hoken_shoban": CARD, "kankei": "x" * 11},
            {"atena_no": atena[1], "renban": 1, "renrakusaki_namae": None, "renrakusaki_shozai": ADDRESS,
             "renrakusaki_denwa": PHONE, "hoken_shoban": CARD, "kankei": "長女"},
            {"atena_no": atena[1], "renban": 2, "renrakusaki_namae": NAME, "renrakusaki_shozai": ADDRESS + "霞野ハイツ" * 12,
             "renrakusaki_denwa": PHONE + "-99", "hoken_shoban": CARD + "0", "kankei": "長女"}]
    # the report: a run directory whose staged table fails ISL-REQUIRED and ISL-LENGTH-CHARS
    run = out / "run"; (run / "staging").mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(run / "staging" / "renraku_saki.parquet")
    result = validate_tables({"renraku_saki": run / "staging" / "renraku_saki.parquet"})
    failed = {r.id: r.failed for r in result.rules if r.failed}
    write_reports(run, result, {})
    # the EUC extract (閲覧) from a store that has the new table (built from the definitions)
    eng = open_engine(f"sqlite:///{out / 'kikan.db'}"); upgrade(eng)
    t = build_metadata().tables["renraku_saki"]
    with eng.begin() as conn:
        conn.execute(sa.insert(t), [{**{c.name: None for c in t.columns}, **r, "_run_id": "T",
                                     "_source_file": "t", "_record_no": i} for i, r in enumerate(rows)])
    d = euc.parse_definition({"name": "緊急連絡先一覧", "table": "renraku_saki", "as_of": "all",
                              "items": ["atena_no", "renrakusaki_namae", "renrakusaki_shozai", "renrakusaki_denwa",
                                        "hoken_shoban", "kankei"]})
    res = euc.run_extraction(eng, d, out / "extract.csv", who="市民課 test", role="閲覧")
    print(json.dumps({"failed": failed, "masked": res.masked_columns}, ensure_ascii=False))
""")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    base = tmp_path_factory.mktemp("personal")
    defs = base / "definitions"
    shutil.copytree(DEFINITIONS_DIR, defs)
    (defs / "renraku.yaml").write_text(yaml.safe_dump(NEW_GYOMU, allow_unicode=True, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "KIKAN_ISL_DIR": str(defs)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(base), NAME, ADDRESS, PHONE, CARD], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return base, json.loads(proc.stdout.strip().splitlines()[-1])


def test_new_personal_items_masked_in_report(outcome):
    base, got = outcome
    assert got["failed"]["ISL-REQUIRED.renraku_saki"] == 1 and got["failed"]["ISL-LENGTH-CHARS.renraku_saki"] == 2
    report = base / "run" / "report"
    page = (report / "report.html").read_text(encoding="utf-8")
    blob = page + (report / "report.json").read_text(encoding="utf-8")
    import openpyxl
    wb = openpyxl.load_workbook(report / "report.xlsx", read_only=True)
    blob += "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    for secret in (NAME, "霧島", "花子", ADDRESS, "霞野ハイツ", PHONE, CARD):
        assert secret not in blob, secret
    assert "霧＊　花＊" in page                 # name: first character of each part
    assert "霞野市桜町1丁目…" in page            # address: cut to the 町字
    assert "（非表示）" in page                  # contact and identifier: hidden, the column still there
    assert "x" * 11 in page                      # an unmarked item is shown as it is


def test_new_personal_items_masked_in_euc_extract(outcome):
    base, got = outcome
    policy = load_policy().surfaces["閲覧"]
    kinds = {"renrakusaki_namae": "name", "renrakusaki_shozai": "address", "renrakusaki_denwa": "contact",
             "hoken_shoban": "identifier", "kankei": None}
    want = {col: policy[k] for col, k in kinds.items() if k in policy}
    assert got["masked"] == want and set(want) == {"renrakusaki_namae", "renrakusaki_denwa", "hoken_shoban"}
    text = (base / "extract.csv").read_text(encoding="utf-8")
    for secret in (NAME, PHONE, CARD):
        assert secret not in text
    assert "霧＊　花＊" in text and "長女" in text


def test_every_shipped_personal_mark_is_a_known_kind():
    kinds = set(load_policy().kinds)
    marked = {}
    for path in sorted(Path(DEFINITIONS_DIR).glob("*.yaml")):
        for t in load_definition(path).tables:
            for it in t.items:
                if it.personal:
                    assert it.personal in kinds, (path.name, t.id, it.id, it.personal)
                    marked[(t.id, it.id)] = it.personal
    # the items every 業務 has: 個人番号, names, addresses, 方書, birth dates are all marked
    assert marked[("juki_jumin", "kojin_bango")] == "kojin_bango"
    assert marked[("juki_jumin", "shimei")] == marked[("jutogai_atena", "shimei")] == "name"
    assert marked[("juki_jumin", "jusho")] == marked[("zei_kojin_nozeigimusha", "jusho")] == "address"
    assert marked[("juki_jumin", "katagaki")] == "address_detail"
    assert marked[("juki_jumin", "birth_date")] == marked[("inkan_toroku", "birth_date")] == "birth"
    assert marked[("jutogai_atena", "denwa_bango")] == "contact"
    assert marked[("juki_jumin", "juminhyo_code")] == "identifier"


def test_log_scrubbing_follows_the_marked_items(caplog):
    """Log lines lose every run of digits shaped like an item of a ``logs`` kind (個人番号: 12 digits),
    and keep other numbers (宛名番号 10 digits, a 13-digit run is not a 個人番号)."""
    import logging

    from kikan_hub.api.auth import redact
    from kikan_hub.layouts.isl import all_tables

    lengths = {it.length for t in all_tables().values() for it in t.items
               if it.personal in load_policy().logs and it.type == "digits"}
    assert lengths == {12}
    log = logging.getLogger("kikan_hub.test_scrub")
    log.addFilter(redact.MyNumberFilter())
    with caplog.at_level(logging.INFO, logger="kikan_hub.test_scrub"):
        log.info("照会 %s 宛名 %s 連番 %s", "123456789018", "1234567890", "1234567890123")
    text = caplog.records[-1].getMessage()
    assert "123456789018" not in text and "************" in text
    assert "1234567890" in text and "1234567890123" in text
