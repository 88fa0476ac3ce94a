"""`kikan layouts import-xlsx`: an official データ項目一覧表 workbook → ISL definition YAML."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook
from typer.testing import CliRunner

from kikan_hub.api.cli_layouts import app
from kikan_hub.layouts.xlsx_import import XlsxImportError, import_workbook, map_type, parse_length

HEADER = ["項番", "データ項目名称", "説明", "データ型", "桁数", "外字使用\n（有無）", "コード", "備考"]
ROWS = [
    # 項番, 名称, 説明, 型, 桁数, 外字, コード, 備考
    [1, "宛名番号", "住民を一意に識別", "数字", 10, "無", None, ""],
    [2, "氏名", None, "文字列（全角）", 30, "有", None, None],
    [3, "氏名カナ", None, "文字列（半角）", "６０", "無", None, None],
    [4, "性別", None, "コード", 1, "無", "C0001", None],
    [5, "生年月日", None, "日付（和暦）", 7, "無", None, None],
    [6, "住民となった年月日", None, "日付", 8, "-", None, None],
    [7, "課税標準額", None, "数値", "12,2", "無", None, None],
    [8, "世帯人数", None, "数値", 3, "無", "", None],
    [9, "独自項目Ａ", None, "文字列(全角)", 20.0, "○", None, "extra"],
]


def make_book(path: Path, rows=ROWS, header=HEADER, title_rows=True, sheet="住民") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title_rows:
        ws.append(["中間標準レイアウト仕様 データ項目一覧表"])
        ws.merge_cells("A1:H1")
        ws.append([])
        ws.append(["業務名", "住民基本台帳", None, "ファイル名", "住民ファイル"])
    ws.append(header)
    for r in rows:
        ws.append(r)
    ws.append([])
    ws.append([None, None, "（以下余白）"])
    # a sheet without a header row is ignored
    other = wb.create_sheet("改訂履歴")
    other.append(["版", "日付", "内容"])
    other.append(["V2.7", "2021-03-31", "改訂"])
    wb.save(path)
    return path


@pytest.fixture
def known_defs(tmp_path) -> Path:
    """A small stand-in for the hub's definitions: the name → id dictionary comes from here."""
    base = tmp_path / "defs"
    base.mkdir()

    def definition(gyomu_id: str, items: list[tuple[str, str]]) -> str:
        return yaml.safe_dump({"gyomu": gyomu_id, "gyomu_id": gyomu_id, "version": "test", "tables": [
            {"id": f"{gyomu_id}_t", "name": "表", "items": [
                {"id": i, "name": n, "type": "text", "length": 10} for i, n in items]}]}, allow_unicode=True)

    (base / "a.yaml").write_text(definition("a", [
        ("atena_no", "宛名番号"), ("shimei", "氏名"), ("seibetsu", "性別"), ("jumin_date", "住民となった年月日"),
        ("kazei_hyojungaku", "課税標準額"), ("birth_date", "生年月日")]), encoding="utf-8")
    # 課税標準額 means two different ids → ambiguous → not used
    (base / "b.yaml").write_text(definition("b", [("kazei_hyojun", "課税標準額"), ("birth_date", "生年月日")]),
                                 encoding="utf-8")
    return base


def test_import_item_by_item(tmp_path, known_defs):
    book = make_book(tmp_path / "一覧表.xlsx")
    d = import_workbook(book, gyomu_id="juki", table_id="juki_official", definitions_dir=known_defs)
    assert d["gyomu_id"] == "juki" and d["version"] == "V2.7-kikan.1"
    assert len(d["tables"]) == 1
    t = d["tables"][0]
    assert t["id"] == "juki_official" and t["name"] == "住民"
    items = t["items"]
    first_row = 5  # 3 title rows + header on row 4
    expected = [
        # id, name, type, length, gaiji, code, scale
        ("atena_no", "宛名番号", "digits", 10, False, None, 0),
        ("shimei", "氏名", "text", 30, True, None, 0),
        ("item_003", "氏名カナ", "kana", 60, False, None, 0),
        ("seibetsu", "性別", "code", 1, False, "c0001", 0),
        ("birth_date", "生年月日", "wareki_date", 7, False, None, 0),
        ("jumin_date", "住民となった年月日", "date", 8, False, None, 0),
        ("item_007", "課税標準額", "decimal", 12, False, None, 2),
        ("item_008", "世帯人数", "integer", 3, False, None, 0),
        ("item_009", "独自項目A", "text", 20, True, None, 0),
    ]
    assert len(items) == len(expected)
    for n, (item, exp) in enumerate(zip(items, expected)):
        iid, name, typ, length, gaiji, code, scale = exp
        assert item["id"] == iid, item
        assert item["name"] == name
        assert item["type"] == typ, item
        assert item["length"] == length
        assert item["gaiji"] is gaiji
        assert item["code"] == code
        assert item.get("scale", 0) == scale
        assert item["required"] is False
        assert item["provenance"] == f"imported: 一覧表.xlsx sheet 住民 row {first_row + n}"


def test_known_name_used_once_per_table(tmp_path, known_defs):
    # a known name used twice in one sheet gets item_NNN the second time
    rows = [[1, "生年月日", None, "日付", 8, "無", None, None], [2, "生年月日", None, "日付", 8, "無", None, None]]
    d = import_workbook(make_book(tmp_path / "b.xlsx", rows=rows), gyomu_id="x", definitions_dir=known_defs)
    assert [it["id"] for it in d["tables"][0]["items"]] == ["birth_date", "item_002"]


def test_hub_dictionary_is_used_by_default(tmp_path):
    d = import_workbook(make_book(tmp_path / "c.xlsx"), gyomu_id="x")
    assert d["tables"][0]["items"][0]["id"] == "atena_no"  # 宛名番号 means atena_no in every hub file


def test_yaml_output_round_trips_and_loads(tmp_path):
    book = make_book(tmp_path / "一覧表.xlsx")
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(app, ["import-xlsx", str(book), "--out", str(out), "--gyomu-id", "juki",
                                      "--table-id", "juki_official"])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data == import_workbook(book, gyomu_id="juki", table_id="juki_official")
    import kikan_hub.layouts.isl as isl

    d = isl.load_definition(out)
    assert [it.type for it in d.tables[0].items][:3] == ["digits", "text", "kana"]
    assert d.tables[0].items[6].type == "decimal" and d.tables[0].items[6].scale == 2


def test_stdout_and_default_ids(tmp_path):
    book = make_book(tmp_path / "Juki Items.xlsx")
    result = CliRunner().invoke(app, ["import-xlsx", str(book)])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["gyomu_id"] == "juki_items"
    assert data["tables"][0]["id"] == "juki_items_table01"


def test_no_header_row_is_exit_2(tmp_path):
    wb = Workbook()
    wb.active.title = "表紙"
    wb.active.append(["何もない"])
    wb.save(tmp_path / "bad.xlsx")
    result = CliRunner().invoke(app, ["import-xlsx", str(tmp_path / "bad.xlsx")])
    assert result.exit_code == 2
    assert "データ項目名称" in result.output and "表紙" in result.output


@pytest.mark.parametrize("bad", [0, -3, "十", "abc", None, "12,20x"])
def test_bad_length_names_sheet_and_row(tmp_path, bad):
    rows = ROWS[:2] + [[3, "壊れた項目", None, "文字列（全角）", bad, "無", None, None]]
    book = make_book(tmp_path / "bad.xlsx", rows=rows)
    with pytest.raises(XlsxImportError) as exc:
        import_workbook(book)
    assert exc.value.sheet == "住民" and exc.value.row == 7
    assert "桁数" in str(exc.value) and "住民" in str(exc.value) and "7行目" in str(exc.value)
    result = CliRunner().invoke(app, ["import-xlsx", str(book)])
    assert result.exit_code == 2 and "7行目" in result.output


def test_missing_required_column_and_bad_type(tmp_path):
    header = ["データ項目名称", "データ型", "外字使用（有無）"]
    book = make_book(tmp_path / "nolen.xlsx", rows=[["氏名", "文字列", "有"]], header=header, title_rows=False)
    with pytest.raises(XlsxImportError, match="桁数") as exc:
        import_workbook(book)
    assert exc.value.row == 1
    rows = [[1, "謎", None, "ブロブ", 3, "無", None, None]]
    with pytest.raises(XlsxImportError, match="データ型") as exc:
        import_workbook(make_book(tmp_path / "type.xlsx", rows=rows))
    assert exc.value.row == 5


def test_missing_file_is_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["import-xlsx", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 2


@pytest.mark.parametrize("raw,name,scale,expected", [
    ("文字列（全角）", "氏名", 0, "text"), ("文字列(半角)", "住所コード", 0, "text"),
    ("文字列(半角)", "氏名フリガナ", 0, "kana"), ("半角カナ", "x", 0, "kana"), ("数字", "x", 0, "digits"),
    ("数値", "x", 0, "integer"), ("数値", "x", 2, "decimal"), ("日付", "x", 0, "date"),
    ("日付(和暦)", "x", 0, "wareki_date"), ("コード", "x", 0, "code"), ("フラグ", "x", 0, "flag"), ("??", "x", 0, None),
])
def test_map_type(raw, name, scale, expected):
    assert map_type(raw, name, scale) == expected


@pytest.mark.parametrize("raw,expected", [
    (10, (10, 0)), ("10", (10, 0)), ("１０", (10, 0)), ("12,2", (12, 2)), ("12.2", (12, 2)), ("(12,2)", (12, 2)),
    (8.0, (8, 0)), ("10桁", (10, 0)), (0, None), ("", None), ("2,5", None), (True, None),
])
def test_parse_length(raw, expected):
    assert parse_length(raw) == expected
