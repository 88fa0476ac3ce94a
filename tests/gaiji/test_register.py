from __future__ import annotations

import json

import openpyxl
import pytest

from kikan_hub.gaiji.errors import GaijiError
from kikan_hub.gaiji.identify import identify_register, parse_evidence, propose
from kikan_hub.gaiji.register import COLUMNS, JAPANESE, GaijiRegister, GaijiRow

HEADER = ",".join(COLUMNS) + "\n"


def test_csv_columns_follow_the_contract():
    assert COLUMNS == ("source_system", "source_code", "pua", "glyph_note", "mj", "gj", "ucs", "status",
                       "decided_by", "decided_at")


def test_decide_logs_who_when_before_after_and_csv_excel_round_trip(tmp_path):
    path = tmp_path / "gaiji_register.csv"
    reg = GaijiRegister.open_or_new(path)
    reg.decide("旧住記", "F040", by="suzuki", pua="U+E000", glyph_note="はしご高")
    reg.decide("旧住記", "F040", by="tanaka", mj="MJ028902", ucs="9AD9", reason="戸籍で確認")
    reg.save()
    log = reg.decisions()
    assert [e["by"] for e in log] == ["suzuki", "tanaka"]
    assert log[0]["before"] is None and log[1]["before"]["status"] == "未同定"
    assert log[1]["after"]["status"] == "同定済" and log[1]["after"]["mj"] == "MJ028902" and log[1]["at"]
    first_line = reg.log_path.read_text(encoding="utf-8").splitlines()[0]

    again = GaijiRegister.load(path)
    row = again.get("旧住記", "F040")
    assert row.mj == "MJ028902" and row.ucs_text == "髙" and row.decided_by == "tanaka"
    again.decide("旧住記", "F041", by="tanaka", pua="U+E001")
    assert again.log_path.read_text(encoding="utf-8").splitlines()[0] == first_line     # append-only
    assert len(again.decisions()) == 3

    xlsx = tmp_path / "台帳.xlsx"
    again.save(xlsx)
    ws = openpyxl.load_workbook(xlsx).worksheets[0]
    assert [c.value for c in ws[1]] == [JAPANESE[c] for c in COLUMNS]
    back = GaijiRegister.load(xlsx)
    assert {r.key: r for r in back.rows} == {r.key: r for r in again.rows}


def test_bad_rows_are_clear_errors(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(HEADER + "旧住記,F040,U+E000,,,,,済み,,\n", encoding="utf-8")
    with pytest.raises(GaijiError, match="status"):
        GaijiRegister.load(p)
    p.write_text(HEADER + "旧住記,F040,U+E000,,MJ12X,,,同定済,,\n", encoding="utf-8")
    with pytest.raises(GaijiError, match="MJ"):
        GaijiRegister.load(p)
    p.write_text(HEADER + "旧住記,F040,U+E000,,,,,同定済,,\n", encoding="utf-8")
    with pytest.raises(GaijiError, match="同定済"):
        GaijiRegister.load(p)
    p.write_bytes((HEADER + "旧住記,F040,U+E000,髙,,,,未同定,,\n").encode("cp932", errors="strict")[:-1] + b"\x81")
    with pytest.raises(GaijiError, match="UTF-8"):
        GaijiRegister.load(p)


def test_evidence_parsing():
    ev = parse_evidence("J+9AD9 戸籍:426030 似:高 読み:たか 11画 U+9AD8")
    assert ev.juki == ["J+9AD9"] and ev.koseki == ["426030"] and ev.alike == ["高"] and ev.chars == ["高"]
    assert ev.readings == ["たか"] and ev.strokes == [11]


def test_propose_ranks_variants_of_a_look_alike_with_reading_and_strokes(mj_index):
    row = GaijiRow("旧住記", "F042", "U+E002", glyph_note="はしご高 似:高 読み:たか 11画")
    cands = propose(row, mj_index)
    assert cands and cands[0].mj == "MJ028902"           # 髙: folds to 高, reads たか, 11 strokes
    assert cands[0].score > cands[-1].score
    assert any("読み" in r for r in cands[0].reasons) and any("総画数" in r for r in cands[0].reasons)


def test_propose_from_reading_and_strokes_only(mj_index):
    cands = propose(GaijiRow("旧住記", "F043", glyph_note="読み:たか 画数:11"), mj_index, limit=50)
    assert "MJ028902" in [c.mj for c in cands]
    assert propose(GaijiRow("旧住記", "F044", glyph_note="手書き"), mj_index) == []


def test_identify_marks_rows_and_logs(tmp_path, mj_index):
    p = tmp_path / "r.csv"
    p.write_text(HEADER + "旧住記,F042,U+E002,似:高 読み:たか,,,,未同定,,\n旧住記,F050,U+E010,,,,,未同定,,\n",
                 encoding="utf-8")
    reg = GaijiRegister.load(p)
    result = identify_register(reg, mj_index, by="kikan")
    assert result[("旧住記", "F042")] and result[("旧住記", "F050")] == []
    assert reg.get("旧住記", "F042").status == "候補あり"
    assert reg.get("旧住記", "F050").status == "未同定"
    assert json.loads(reg.log_path.read_text(encoding="utf-8").splitlines()[0])["after"]["status"] == "候補あり"
