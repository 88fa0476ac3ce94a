"""名簿レポート (kikan roster-report): per 担当課, counts by 判定, reasons by kind and breakdowns — read back
from JSON, Excel (openpyxl) and the HTML as headless Chromium renders it (offline, zero requests), on
SQLite and PostgreSQL. The expected counts are worked out by hand beside each person."""
from __future__ import annotations

import html
import re

import openpyxl
from typer.testing import CliRunner

from kikan_hub.api.cli import app
from kikan_hub.modules.rosters.report import is_note, reason_kinds

from modhelpers import D, insert_rows, jumin_row

_n = iter(range(1, 10_000))
B = "2024-09-01"


def person(rows, birth, *, shubetsu="1", tennyu=D(2000, 4, 1), end=None, jusho_code="001010100", name="髙橋　一郎",
           seibetsu="1"):
    atena = f"{next(_n):010d}"
    common = dict(jumin_shubetsu=shubetsu, seibetsu=seibetsu, birth_date=birth, birth_date_literal=birth.isoformat(), jusho_code=jusho_code,
                  shimei=name)
    rows.append(jumin_row(atena, 1, idou_jiyu="11", idou_date=tennyu, todokede_date=tennyu, jumin_date=tennyu,
                          shori_date=tennyu, **common))
    if end:
        code, day = end
        rows.append(jumin_row(atena, 2, idou_jiyu=code, idou_date=day, shojo_jiyu=code, shojo_date=day,
                              jumin_jotai={"23": "3"}.get(code, "2"), shori_date=day, **common))
    return atena


def test_reason_kinds():
    assert reason_kinds("年齢未満（18歳到達 2024-09-02）／転入後3か月未満（記録 2024-06-02、3か月経過 2024-09-02）") == [
        "年齢未満", "転入後3か月未満"]
    assert reason_kinds("消除（死亡）") == ["消除（死亡）"]
    assert reason_kinds("75歳以上の単身世帯（75歳以上（到達 2024-09-01）／単身世帯）") == ["75歳以上の単身世帯"]
    kinds = reason_kinds("18歳以上（到達 1998-01-01）; 日不詳（平成18年9月日不詳）: 9月末日として判定")
    assert kinds == ["18歳以上", "日不詳: 月末日として判定"] and [is_note(k) for k in kinds] == [False, True]


def test_division_reports(engine, store_url, tmp_path):
    rows: list = []
    person(rows, D(1980, 1, 1))                                      # 選挙: 掲載 (第1投票区: 住所コード 00101…)
    person(rows, D(1990, 1, 1), jusho_code="001030100")              # 掲載 (第2投票区)
    person(rows, D(2006, 9, 3))                                      # 18 on 9/2 → 対象外 年齢未満
    person(rows, D(1980, 1, 1), tennyu=D(2024, 6, 2))               # 3 months end 9/2 → 対象外 転入後3か月未満
    person(rows, D(1950, 1, 1), end=("21", D(2024, 8, 1)), seibetsu="2")   # 転出 8/1 → 表示 (女)
    person(rows, D(1950, 1, 1), end=("23", D(2024, 8, 1)))          # 死亡 → 対象外 抹消（死亡）
    person(rows, D(1980, 1, 1), shubetsu="2")                        # 外国人住民 → 対象外
    person(rows, D(2018, 4, 1))                                      # 学齢簿: 小1 (6 on 2024-03-31)
    person(rows, D(2018, 4, 2))                                      # 就学予定
    person(rows, D(1985, 5, 5), jusho_code="999990000")              # 掲載, 住所コード not in tohyoku.csv → 注記
    insert_rows(engine, "juki_jumin", rows)
    out = tmp_path / "rep"
    r = CliRunner().invoke(app, ["roster-report", "--as-of", B, "--store", store_url, "--out", str(out),
                                 "--roster", "senkyo", "--roster", "gakureibo"])
    assert r.exit_code == 0, r.output
    import json
    senkyo = json.loads((out / "名簿_選挙管理委員会事務局.json").read_text(encoding="utf-8"))["rosters"][0]
    assert senkyo["counts"] == {"掲載": 3, "表示": 1, "対象外": 6}    # the two children are 対象外 too (年齢未満)
    assert {x["理由"]: x["件数"] for x in senkyo["reasons_out"]} == {
        "年齢未満": 3, "転入後3か月未満": 1, "抹消（死亡）": 1, "外国人住民（日本国民でない）": 1}
    # 登録者数 男・女・計 per 投票区 (表示 counted where listed; seibetsu 1 in modhelpers' rows, one 女 below)
    assert senkyo["breakdown"]["投票区"] == [{"値": "第1投票区", "男": 1, "女": 1, "計": 2},
                                          {"値": "第2投票区", "男": 1, "女": 0, "計": 1},
                                          {"値": "（なし）", "男": 1, "女": 0, "計": 1}]
    assert senkyo["by_sex"] == {"値": "計", "男": 3, "女": 1, "計": 4}
    assert senkyo["notes"] == [{"判定": "掲載", "注記": "tohyoku.csv に住所コードなし（要確認）", "件数": 1}]
    gakurei = json.loads((out / "名簿_学校教育課.json").read_text(encoding="utf-8"))["rosters"][0]
    assert gakurei["counts"]["掲載"] == 2 and [(r["値"], r["計"]) for r in gakurei["breakdown"]["学年"]] == [
        ("就学予定", 1), ("小1", 1)]                                   # the rule's grade order
    # no person in any output: the names (髙橋) and 宛名番号 never appear
    for f in out.iterdir():
        body = f.read_bytes()
        assert "髙橋".encode() not in body and b"0000000001" not in body, f
    # Excel read back: the summary sheet agrees with the JSON
    ws = openpyxl.load_workbook(out / "名簿_選挙管理委員会事務局.xlsx")["概要"]
    head = [c.value for c in ws[4]]
    row = dict(zip(head, [c.value for c in ws[5]]))
    assert (row["名簿"], row["掲載"], row["表示"], row["対象外"]) == ("選挙人名簿", 3, 1, 6)
    sheet = openpyxl.load_workbook(out / "名簿_選挙管理委員会事務局.xlsx")["選挙人名簿"]
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert ["対象外", "転入後3か月未満", 1] in [c[:3] for c in cells] and ["表示", "表示", 1] in [c[:3] for c in cells]


def test_html_in_chromium(engine, store_url, tmp_path):
    from kikan_testenv import need_chromium
    need_chromium()
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parents[1] / "validation"))
    from cdp_pipe import open_offline

    rows: list = []
    person(rows, D(1980, 1, 1))
    person(rows, D(2006, 9, 3))
    insert_rows(engine, "juki_jumin", rows)
    r = CliRunner().invoke(app, ["roster-report", "--as-of", B, "--store", store_url, "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    page = tmp_path / "rep" / "名簿_選挙管理委員会事務局.html"
    dom, requests = open_offline(page.as_uri(), tmp_path / "profile")
    assert requests == []
    m = {(a, b): int(n.replace(",", "")) for a, b, n in re.findall(r'data-roster="(\w+)" data-judge="(\S+?)">([0-9,]+)<', dom)}
    assert m[("senkyo", "掲載")] == 1 and m[("senkyo", "対象外")] == 1
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    assert "年齢未満" in text and "公職選挙法 第21条第1項" in text
