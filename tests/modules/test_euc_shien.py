"""EUC leaves 支援対象者 out unless the run holds juki:shien_sochi:read (jyuki-stnd j160, j440); the audit row
says how many were left out, and the 支援措置 tables themselves need the scope (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from kikan_hub.modules import euc
from kikan_hub.store.schema import build_metadata
from modhelpers import jumin_row

D = dt.date


@pytest.fixture
def store(engine):
    md = build_metadata()
    a1, a2, a3 = "0000001112", "0000002224", "0000003336"
    rows = [jumin_row(a1, 1, setai_no="0000500018", idou_date=D(2010, 4, 1), machiaza="本町"),
            jumin_row(a2, 1, setai_no="0000500018", idou_date=D(2010, 4, 1), machiaza="本町", shien_taisho=True),
            jumin_row(a3, 1, setai_no="0000600011", idou_date=D(2010, 4, 1), machiaza="竹町")]
    with engine.begin() as c:
        c.execute(insert(md.tables["juki_jumin"]), rows)
        c.execute(insert(md.tables["juki_setai"]), [
            {"setai_no": "0000500018", "rireki_no": 1, "jusho": "霞野市本町1", "shori_date": D(2010, 4, 1)},
            {"setai_no": "0000600011", "rireki_no": 1, "jusho": "霞野市竹町2", "shori_date": D(2010, 4, 1)}])
        c.execute(insert(md.tables["juki_shien_sochi"]).values(
            atena_no=a2, sochi_renban=1, taisho_kubun="1", moushide_date=D(2024, 1, 5), jotai="2"))
    return engine, (a1, a2, a3)


def test_euc_leaves_shien_taisho_out_and_audits(store, tmp_path):
    engine, (a1, a2, a3) = store
    d = euc.parse_definition({"name": "全員", "table": "juki_jumin", "items": ["atena_no", "machiaza"]})
    r = euc.run_extraction(engine, d, tmp_path / "a.csv", who="u1", role="担当")
    text = (tmp_path / "a.csv").read_text(encoding="utf-8")
    assert r.row_count == 2 and a2 not in text and a1 in text
    audit = euc.get_audit(engine, r.audit_id)
    assert "支援措置対象者 1 人を除外" in audit["message"]
    r = euc.run_extraction(engine, d, tmp_path / "b.csv", who="u1", role="担当", scopes={"juki:shien_sochi:read"})
    assert r.row_count == 3 and a2 in (tmp_path / "b.csv").read_text(encoding="utf-8")
    assert "を含む" in euc.get_audit(engine, r.audit_id)["message"]
    # 世帯: the household of a 支援対象者 carries her address
    s = euc.parse_definition({"name": "世帯", "table": "juki_setai", "items": ["setai_no", "jusho"]})
    r = euc.run_extraction(engine, s, tmp_path / "s.csv", who="u1", role="担当")
    assert r.row_count == 1 and "本町" not in (tmp_path / "s.csv").read_text(encoding="utf-8")


def test_euc_of_the_shien_tables_needs_the_scope_and_the_refusal_is_audited(store, tmp_path):
    engine, _ = store
    d = euc.parse_definition({"name": "支援", "table": "juki_shien_sochi", "items": ["atena_no", "moushide_date"]})
    with pytest.raises(euc.EucError, match="juki:shien_sochi:read"):
        euc.run_extraction(engine, d, tmp_path / "x.csv", who="u1", role="担当")
    last = euc.audit_log(engine, limit=1)[0]
    assert last["status"] == "failed" and "juki:shien_sochi:read" in last["message"]
    r = euc.run_extraction(engine, d, tmp_path / "y.csv", who="u1", role="担当", scopes={"juki:shien_sochi:read"})
    assert r.row_count == 1
