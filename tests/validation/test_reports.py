"""Reports: self-contained Japanese HTML opened in headless Chromium, Excel = JSON, masking, diff."""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from kikan_testenv import need_chromium

from kikan_hub.validation.engine import validate_run
from kikan_hub.validation.reports import SUMMARY_HEADERS, write_reports

SUMMARY = {"run_id": "Rtest0001", "source_system": "旧住記 (架空)", "status": "loaded",
           "records_read": 1210, "records_loaded": 1200, "records_quarantined": 10,
           "files": {"JUMIN": {"resident": {"read": 910, "loaded": 903, "quarantined": 7}},
                     "SETAI": {"household": {"read": 300, "loaded": 297, "quarantined": 3}}},
           "gate": {"outcome": "warn", "rules": [
               {"rule_id": "MAP-DATE", "title": "存在しない年月日", "division": "市民課", "failed": 7, "level": "warn"},
               {"rule_id": "READ-LENGTH", "title": "レコード長が定義と異なる", "division": "情報企画課", "failed": 3, "level": "warn"}]}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, planted):
    tables, truth = planted
    d = tmp_path_factory.mktemp("run")
    for name, df in tables.items():
        (d / "staging").mkdir(exist_ok=True)
        df.write_parquet(d / "staging" / f"{name}.parquet")
    (d / "summary.json").write_text(json.dumps(SUMMARY, ensure_ascii=False), encoding="utf-8")
    result, summary = validate_run(d)
    write_reports(d, result, summary)
    return d, result, truth, tables


def test_failures_parquet_complete(run_dir):
    d, result, truth, _ = run_dir
    for r in result.rules:
        p = d / "report" / "failures" / f"{r.id}.parquet"
        assert p.exists() == bool(r.failed), r.id
        if r.failed:
            df = pl.read_parquet(p)
            keys = [c for c in r.key_columns if c in df.columns]
            assert df.select(keys).unique().height == r.failed == len(truth[r.id]), r.id


def test_json_has_accounting_quarantine_gate(run_dir):
    d, result, truth, _ = run_dir
    rep = json.loads((d / "report" / "report.json").read_text(encoding="utf-8"))
    assert rep["accounting"]["records_read"] == 1210 and rep["accounting"]["balanced"]
    assert {q["id"]: q["failed"] for q in rep["quarantine"]["rules"]} == {"MAP-DATE": 7, "READ-LENGTH": 3}
    assert rep["gate"]["outcome"] == result.outcome == "error"
    assert {r["id"]: r["failed"] for r in rep["rules"]} == {r.id: r.failed for r in result.rules}
    div = json.loads((d / "report" / "report_市民税課.json").read_text(encoding="utf-8"))
    assert {r["division"] for r in div["rules"]} == {"市民税課"}
    assert any(r["id"] == "XREF-ATENA.zei_kojin_nozeigimusha" and r["failed"] == 4 for r in div["rules"])
    assert (d / "report" / "report_市民課.html").exists() and (d / "report" / "report_住民基本台帳.xlsx").exists()


@pytest.mark.parametrize("stem", ["report", "report_市民課"])
def test_excel_agrees_with_json(run_dir, stem):
    d, *_ = run_dir
    rep = json.loads((d / "report" / f"{stem}.json").read_text(encoding="utf-8"))
    wb = openpyxl.load_workbook(d / "report" / f"{stem}.xlsx", read_only=True)
    ws = wb["概要"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert list(rows[0][:len(SUMMARY_HEADERS)]) == SUMMARY_HEADERS
    by_id = {r[0]: r for r in rows[1:] if r[0]}
    assert set(by_id) == {r["id"] for r in rep["rules"]}
    for r in rep["rules"]:
        x = by_id[r["id"]]
        assert (x[1], x[2], x[6], x[7], x[8]) == (r["title"], r["division"], r["failed"], r["total"], r["unit"]), r["id"]
        if r["failed"]:
            s = wb[x[10]]
            assert s.cell(2, 2).value == r["failed"]
            header = [c for c in next(s.iter_rows(min_row=4, max_row=4, values_only=True)) if c is not None]
            assert header == r["sample"]["labels"]
            sample = [row for row in s.iter_rows(min_row=5, values_only=True) if any(v is not None for v in row)]
            assert len(sample) == r["sample_shown"] == min(20, r["failure_rows"])
            assert r["failure_rows"] >= r["failed"]
        else:
            assert not x[10]
    q = {row[0]: row[4] for row in wb["隔離"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert q == {x["id"]: x["failed"] for x in rep["quarantine"]["rules"]}
    acc = list(wb["件数照合"].iter_rows(min_row=2, values_only=True))
    assert acc[-1][2:6] == (rep["accounting"]["records_read"], rep["accounting"]["records_staged"],
                            rep["accounting"]["records_loaded"], rep["accounting"]["records_quarantined"])


def test_personal_data_masked(run_dir):
    d, result, _, tables = run_dir
    jumin = tables["juki_jumin"]
    names = set(jumin.get_column("shimei").drop_nulls().to_list())
    numbers = set(jumin.get_column("kojin_bango").drop_nulls().to_list())
    addresses = set(jumin.get_column("jusho").drop_nulls().to_list())
    page = (d / "report" / "report.html").read_text(encoding="utf-8")
    blob = page + (d / "report" / "report.json").read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(d / "report" / "report.xlsx", read_only=True)
    cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    blob += "\n".join(cells)
    assert not any(n in blob for n in names if len(n) > 1)
    assert not any(n in blob for n in numbers)
    assert not any(a in blob for a in addresses)
    assert "山＊　" in page or "佐＊　" in page or "鈴＊　" in page       # names shown partly
    assert "（非表示）" in page                                          # 個人番号 column hidden, not dropped silently


def test_masking_rules():
    from kikan_hub.layouts.isl import get_table
    from kikan_hub.validation.masking import HIDDEN, mask_value

    t = get_table("juki_jumin")
    assert mask_value("shimei", "山田", t) == "山＊"
    assert mask_value("shimei", "山田　太郎", t) == "山＊　太＊"
    assert mask_value("shimei_kana", "ヤマダ　タロウ", t) == "ヤ＊＊　タ＊＊"
    assert mask_value("kojin_bango", "123456789018", t) == HIDDEN
    assert mask_value("juminhyo_code", "12345678901", t) == HIDDEN
    assert mask_value("katagaki", "架空荘101号", t) == HIDDEN
    assert mask_value("jusho", "架空市桜町1丁目2番3号", t) == "架空市桜町1丁目…"
    assert mask_value("jusho", "架空市本町１２番地", t) == "架空市本町…"
    assert mask_value("tennyu_mae_jusho", "他市松町3丁目4", t) == "他市松町3丁目…"
    assert mask_value("atena_no", "1234567890", t) == "1234567890"
    assert mask_value("shimei", "山田", t, enabled=False) == "山田"


def _chromium_or_skip():
    need_chromium()


def test_html_opens_offline_in_chromium_with_zero_requests(run_dir, tmp_path):
    _chromium_or_skip()
    from cdp_pipe import open_offline

    d, result, *_ = run_dir
    page = d / "report" / "report.html"
    dom, requests = open_offline(page.as_uri(), tmp_path / "profile")
    assert requests == []
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    rep = json.loads((d / "report" / "report.json").read_text(encoding="utf-8"))
    for r in rep["rules"]:
        assert r["title"] in text, r["title"]
        m = re.search(rf'data-rule="{re.escape(r["id"])}">([0-9,]+)<', dom)
        assert m and int(m.group(1).replace(",", "")) == r["failed"], r["id"]
    assert "世帯主が二人以上、または一人世帯に世帯主がいない時点がある世帯" in text and "件数の照合" in text
    assert "<svg" in dom                      # charts inline


def test_request_recorder_can_fail(tmp_path):
    """The recorder sees requests when there are some (else 'zero requests' would prove nothing)."""
    _chromium_or_skip()
    from cdp_pipe import open_offline

    d = tmp_path / "report"
    d.mkdir()
    bad = d / "leaky.html"
    bad.write_text('<html><head><link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap/dist/css/bootstrap.min.css">'
                   '</head><body><img src="http://127.0.0.1:9/logo.png">あ</body></html>', encoding="utf-8")
    _, requests = open_offline(bad.as_uri(), tmp_path / "profile")
    urls = {r["url"] for r in requests}
    assert "http://127.0.0.1:9/logo.png" in urls and any("jsdelivr" in u for u in urls)


def _copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src / "staging", dst / "staging")
    shutil.copy(src / "summary.json", dst / "summary.json")
    return dst


def test_diff_between_runs(run_dir, tmp_path):
    from kikan_hub.validation.diff import diff_runs

    d, result, truth, tables = run_dir
    b = tmp_path / "b"
    (b / "staging").mkdir(parents=True)
    jumin = tables["juki_jumin"]
    # fix one ISL-CODE failure, break two more rows, change a name, drop one row, add one row
    code_fail = result["ISL-CODE.juki_jumin"].keys
    fixed_key = code_fail[0]
    clean = jumin.filter(~pl.col("seibetsu").is_in(["9"]) & pl.col("shimei").is_not_null())
    to_break = clean.head(2).select("atena_no", "rireki_no").to_dicts()
    is_fixed = (pl.col("atena_no") == fixed_key["atena_no"]) & (pl.col("rireki_no") == fixed_key["rireki_no"])
    is_broken = pl.struct("atena_no", "rireki_no").is_in([ {"atena_no": k["atena_no"], "rireki_no": k["rireki_no"]} for k in to_break])
    changed = clean.row(5, named=True)
    removed = clean.row(6, named=True)
    j2 = (jumin.with_columns(seibetsu=pl.when(is_fixed).then(pl.lit("1")).when(is_broken).then(pl.lit("8")).otherwise(pl.col("seibetsu")),
                             shimei=pl.when(pl.col("atena_no") == changed["atena_no"]).then(pl.lit("変更　後")).otherwise(pl.col("shimei")))
          .filter(~((pl.col("atena_no") == removed["atena_no"]) & (pl.col("rireki_no") == removed["rireki_no"]))))
    extra = j2.head(1).with_columns(rireki_no=pl.lit(99, pl.Int64), seibetsu=pl.lit("1"))
    j2 = pl.concat([j2, extra])
    j2.write_parquet(b / "staging" / "juki_jumin.parquet")
    for name, df in tables.items():
        if name != "juki_jumin":
            df.write_parquet(b / "staging" / f"{name}.parquet")
    (b / "summary.json").write_text(json.dumps(SUMMARY, ensure_ascii=False), encoding="utf-8")
    rb, sb = validate_run(b)
    write_reports(b, rb, sb)
    diff = diff_runs(d, b)
    code = next(r for r in diff["rules"] if r["id"] == "ISL-CODE.juki_jumin")
    assert (code["failed_a"], code["failed_b"], code["newly_failing"], code["fixed"]) == (3, 4, 2, 1)
    assert {(k["atena_no"], k["rireki_no"]) for k in code["newly_failing_keys"]} == {(k["atena_no"], k["rireki_no"]) for k in to_break}
    t = next(x for x in diff["tables"] if x["table"] == "juki_jumin")
    n_changed_person = jumin.filter(pl.col("atena_no") == changed["atena_no"]).height
    removed_was_changed = removed["atena_no"] == changed["atena_no"]
    assert t["added"] == 1 and t["removed"] == 1
    assert t["changed"] == 1 + 2 + n_changed_person - (1 if removed_was_changed else 0)
    assert t["rows_a"] == jumin.height and t["rows_b"] == j2.height
    assert t["unchanged"] == jumin.height - 1 - t["changed"]
    # the CLI prints the same
    from typer.testing import CliRunner

    from kikan_hub.api.cli_validate import report_app

    out = CliRunner().invoke(report_app, ["diff", str(d), str(b), "--json", str(tmp_path / "d.json")])
    assert out.exit_code == 0, out.output
    assert json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))["rules"] == diff["rules"]
    assert "ルール別の差分" in out.output and "テーブル別の差分" in out.output


def test_diff_handles_non_isl_staging_with_binary(tmp_path):
    """The rehearsal also stages _control_records (raw bytes that are not UTF-8)."""
    from kikan_hub.validation.diff import diff_runs

    for name, raw in (("a", b"\x81\xff"), ("b", b"\x81\xfe")):
        (tmp_path / name / "staging").mkdir(parents=True)
        pl.DataFrame({"source_key": ["S/JUMIN", "S/JUMIN"], "record_no": [1, 99], "raw": [b"\x01", raw],
                      "_run_id": [name, name]}).write_parquet(tmp_path / name / "staging" / "_control_records.parquet")
    t = diff_runs(tmp_path / "a", tmp_path / "b")["tables"][0]
    assert (t["table"], t["added"], t["removed"], t["changed"], t["unchanged"]) == ("_control_records", 0, 0, 1, 1)
