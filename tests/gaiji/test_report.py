from __future__ import annotations

import json

import openpyxl

from kikan_hub.gaiji.fold import fold_text
from kikan_hub.gaiji.report import build_fidelity_report, mask_value, write_report


def test_mask_keeps_first_and_the_character_in_question():
    assert mask_value("山田\ue000郎", "\ue000") == "山＊[U+E000]＊"
    assert mask_value("髙橋 一郎", "髙") == "髙＊ ＊＊"


def test_report_counts_are_exact_and_samples_masked(tmp_path):
    unresolved = [{"field": "氏名", "record_ref": f"JUMIN#{i}", "source_code": "F042", "char": "\ue002",
                   "value": "佐\ue002木花子"} for i in range(7)]
    unresolved.append({"field": "世帯主氏名", "record_ref": "JUMIN#99", "source_code": "F050", "char": "\ue010",
                       "value": "\ue010田"})
    _, recs = fold_text("髙﨑", "jisx0208")
    folds = [{"field": "氏名", "record_ref": "JUMIN#3", "from": r.from_, "to": r.to, "category": r.category,
              "value": "髙﨑太郎"} for r in recs]
    rep = build_fidelity_report(unresolved, folds, run_id="R1", sample_limit=3)
    un = rep["未解決外字"]
    assert un["出現件数"] == 8 and un["文字種数"] == 2
    top = un["明細"][0]
    assert top["移行元コード"] == "F042" and top["件数"] == 7 and len(top["サンプル"]) == 3
    assert top["サンプル"][0]["値(マスク済)"] == "佐[U+E002]＊＊＊"
    assert "花子" not in json.dumps(rep, ensure_ascii=False)
    assert rep["縮退"]["件数"] == 2
    paths = write_report(rep, tmp_path)
    html = paths["html"].read_text(encoding="utf-8")
    assert "未解決外字" in html and "F042" in html and "法務省戸籍法関連通達・通知" in html
    assert "http://" not in html and "https://" not in html          # self-contained
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["実行ID"] == "R1"
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["概要", "未解決外字", "縮退"]
    assert wb["未解決外字"]["C2"].value == 7
