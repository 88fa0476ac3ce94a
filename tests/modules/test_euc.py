"""EUC extraction: definitions, as-of, masking per role, CP932 folding with a record, Excel / Parquet, audit."""
import csv
import datetime as dt
import hashlib
import io
import json
import time

import pyarrow.parquet as pq
import pytest

from kikan_hub.modules import euc, juki
from modhelpers import D, insert_rows, jumin_row, m11

KOJIN = "123456789018"


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def small(engine):
    a1, a2, a3 = m11("000000011"), m11("000000022"), m11("000000033")
    insert_rows(engine, "juki_jumin", [
        jumin_row(a1, 1, shimei="𠮷田　太郎", shimei_kana="ヨシダ　タロウ", kojin_bango=KOJIN, machiaza="松町",
                  idou_date=D(2000, 4, 1)),
        jumin_row(a1, 2, shimei="𠮷田　太郎", shimei_kana="ヨシダ　タロウ", kojin_bango=KOJIN, machiaza="竹町",
                  idou_jiyu="41", idou_date=D(2015, 4, 1)),
        jumin_row(a2, 1, shimei="葛\U000E0100西　花子", shimei_kana="カサイ　ハナコ", seibetsu="2", machiaza="松町",
                  birth_date=D(1950, 2, 3), idou_date=D(2001, 1, 1)),
        jumin_row(a3, 1, shimei="髙橋　一", shimei_kana="タカハシ　ハジメ", machiaza="梅町", idou_date=D(2020, 1, 1),
                  birth_date=None, birth_date_literal="昭和○年頃", birth_date_unknown=True),
    ])
    return engine, (a1, a2, a3)


DEF = {"name": "町字別名簿", "table": "juki_jumin",
       "items": ["atena_no", "shimei", "shimei_kana", "kojin_bango", "birth_date", "birth_date_literal", "machiaza"],
       "filters": [{"item": "machiaza", "op": "in", "value": ["松町", "竹町"]}],
       "sort": ["-birth_date", "atena_no"], "as_of": "latest"}


def test_definition_validation_and_storage(small):
    engine, _ = small
    d = euc.parse_definition(DEF)
    assert d.headers()[:3] == ["宛名番号", "氏名", "氏名のフリガナ"] and d.headers()[5] == "生年月日（原文）"
    for bad in ({**DEF, "items": ["nope"]}, {**DEF, "table": "x"}, {**DEF, "as_of": "昨日"},
                {**DEF, "filters": [{"item": "machiaza", "op": "~", "value": 1}]},
                {**DEF, "filters": [{"item": "birth_date", "op": "le", "value": "1950/13/01"}]}):
        with pytest.raises(euc.EucError):
            euc.parse_definition(bad)
    assert euc.save_definition(engine, d, who="u1") == 1
    yaml_text = "name: 町字別名簿\ntable: juki_jumin\nitems: [atena_no, shimei]\nas_of: 2010-01-01\n"
    assert euc.save_definition(engine, euc.parse_definition(yaml_text), who="u2") == 2
    got, ver = euc.get_definition(engine, "町字別名簿")
    assert ver == 2 and got.items == ["atena_no", "shimei"] and got.as_of == "2010-01-01"
    assert [x["name"] for x in euc.list_definitions(engine)] == ["町字別名簿"]


def test_as_of_matches_juki_queries(small):
    engine, (a1, a2, a3) = small
    for as_of in ("2005-01-01", "2016-01-01", "latest"):
        d = euc.parse_definition({"name": "x", "table": "juki_jumin", "items": ["atena_no", "machiaza", "rireki_no"],
                                  "as_of": as_of})
        rows = list(euc.iter_rows(engine, d))
        for atena_no, machiaza, rireki in rows:
            p = juki.person(engine, atena_no, None if as_of == "latest" else as_of)
            assert (p.row["machiaza"], p.row["rireki_no"]) == (machiaza, rireki)
        expected = {a for a in (a1, a2, a3) if juki.person(engine, a, None if as_of == "latest" else as_of).row}
        assert {r[0] for r in rows} == expected
    d = euc.parse_definition({"name": "x", "table": "juki_jumin", "items": ["atena_no", "rireki_no"], "as_of": "all"})
    assert len(list(euc.iter_rows(engine, d))) == 4


def test_masking_per_role_and_cp932_folds(small, tmp_path):
    engine, (a1, a2, a3) = small
    euc.save_definition(engine, euc.parse_definition(DEF), who="u1")
    res = {}
    for role in ("閲覧", "担当", "個人番号事務"):
        out = tmp_path / f"{role}.csv"
        res[role] = euc.run_extraction(engine, "町字別名簿", out, who="市民課 u1", role=role, encoding="cp932")
        text = out.read_bytes().decode("cp932")   # strict decode
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][0] == "宛名番号" and len(rows) == 3
        res[role] = (res[role], {r[0]: r for r in rows[1:]})
    r閲覧 = res["閲覧"][1]
    assert r閲覧[a1][1] == "吉＊　太＊" and r閲覧[a1][2] == "ヨ＊＊　タ＊＊" and r閲覧[a1][3] == "＊＊＊＊"
    assert res["担当"][1][a1][1] == "吉田　太郎" and res["担当"][1][a1][3] == "＊＊＊＊"
    assert res["個人番号事務"][1][a1][3] == KOJIN
    assert res["担当"][1][a2][1] == "葛西　花子"
    # order: birth_date desc (a1 1980 before a2 1950)
    assert list(res["担当"][1]) == [a1, a2]
    result = res["担当"][0]
    assert result.fold_count == 2 and result.masked_columns == {"kojin_bango": "full"}
    folds = list(csv.DictReader(result.folds_path.open(encoding="utf-8")))
    assert {(f["row"], f["column"], f["from"], f["to"]) for f in folds} == {
        ("1", "shimei", "𠮷", "吉"), ("2", "shimei", "葛\U000E0100", "葛")}
    assert folds[0]["from_codepoints"] in ("U+20BB7", "U+845B U+E0100")
    # geta policy: visible mark, still recorded
    g = euc.run_extraction(engine, "町字別名簿", tmp_path / "geta.csv", who="u1", role="担当", encoding="cp932",
                           fold_policy="geta")
    assert g.fold_count == 2 and "〓田" in (tmp_path / "geta.csv").read_bytes().decode("cp932")
    # strict policy: refused, audited as failed, no file left
    with pytest.raises(euc.EucError):
        euc.run_extraction(engine, "町字別名簿", tmp_path / "strict.csv", who="u1", role="担当", encoding="cp932",
                           fold_policy="strict")
    assert not (tmp_path / "strict.csv").exists()
    with pytest.raises(euc.MaskingError):
        euc.run_extraction(engine, "町字別名簿", tmp_path / "x.csv", who="u1", role="来庁者")
    log = euc.audit_log(engine)
    assert [a["status"] for a in log[:2]] == ["failed", "failed"]
    ok = [a for a in log if a["status"] == "ok"]
    assert len(ok) == 4 and all(a["who"] and a["started_at"] and a["definition_sha256"] for a in ok)
    a = euc.get_audit(engine, result.audit_id)
    assert a["output_sha256"] == _sha(result.output_path) and a["row_count"] == 2 and a["role"] == "担当"
    assert a["definition"]["name"] == "町字別名簿" and a["definition_version"] == 1


def test_utf8_and_parquet(small, tmp_path):
    engine, (a1, a2, a3) = small
    d = euc.parse_definition({**DEF, "filters": []})
    r = euc.run_extraction(engine, d, tmp_path / "u.csv", who="u", role="担当")
    text = (tmp_path / "u.csv").read_text(encoding="utf-8")
    assert "𠮷田　太郎" in text and "葛\U000E0100西" in text and r.fold_count == 0 and r.folds_path is None
    assert "昭和○年頃" in text
    r = euc.run_extraction(engine, d, tmp_path / "u.parquet", who="u", role="閲覧")
    t = pq.read_table(tmp_path / "u.parquet")
    assert t.num_rows == 3 and t.column_names[0] == "宛名番号"
    assert t.column("生年月日").to_pylist()[:2] == [dt.date(1980, 1, 1), dt.date(1950, 2, 3)]
    assert t.column("個人番号").to_pylist()[0] == "＊＊＊＊"


def _big_rows(n):
    rows = []
    for i in range(n):
        a = m11(f"{700000000 + i:09d}")
        name = "𠮷田　太郎" if i % 1000 == 0 else ("葛\U000E0100西　花子" if i % 1000 == 1 else f"松野　{i:06d}郎")
        rows.append(jumin_row(a, 1, shimei=name, shimei_kana="マツノ　タロウ", machiaza=("松町", "竹町")[i % 2],
                              birth_date=D(1940, 1, 1) + dt.timedelta(days=i % 25000), kojin_bango=KOJIN))
    return rows


def test_100k_rows_to_excel_and_cp932(sqlite_engine, tmp_path, record_property):
    n = 100_000
    insert_rows(sqlite_engine, "juki_jumin", _big_rows(n))
    d = euc.parse_definition({"name": "全件", "table": "juki_jumin", "as_of": "2024-04-01",
                              "items": ["atena_no", "shimei", "shimei_kana", "birth_date", "machiaza", "kojin_bango"],
                              "sort": ["atena_no"]})
    timings = {}
    t0 = time.perf_counter()
    rx = euc.run_extraction(sqlite_engine, d, tmp_path / "big.xlsx", who="u", role="担当")
    timings["xlsx_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    rc = euc.run_extraction(sqlite_engine, d, tmp_path / "big.csv", who="u", role="担当", encoding="cp932")
    timings["cp932_csv_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    rp = euc.run_extraction(sqlite_engine, d, tmp_path / "big.parquet", who="u", role="担当")
    timings["parquet_s"] = round(time.perf_counter() - t0, 2)
    record_property("euc_100k_timings", timings)
    print(f"\n100k extraction timings: {json.dumps(timings)}")
    assert rx.row_count == rc.row_count == rp.row_count == n
    assert rc.fold_count == 200          # 100 × 𠮷 + 100 × 葛+IVS
    # CSV reads back (strict cp932 decode)
    rows = list(csv.reader(io.StringIO((tmp_path / "big.csv").read_bytes().decode("cp932"))))
    assert len(rows) == n + 1 and rows[1][1] == "吉田　太郎" and rows[2][1] == "葛西　花子"
    assert rows[3][1] == "松野　000002郎" and rows[3][5] == "＊＊＊＊" and rows[3][0] == m11("700000002")
    # Excel reads back (openpyxl read_only)
    import openpyxl
    wb = openpyxl.load_workbook(tmp_path / "big.xlsx", read_only=True)
    ws = wb["抽出結果"]
    got = 0
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        if i == 0:
            assert row[0] == "宛名番号"
            continue
        got += 1
        if i == 1:
            assert row[1] == "𠮷田　太郎" and row[0] == m11("700000000")   # Excel keeps Unicode (no fold)
            assert row[3].date() == dt.date(1940, 1, 1)
        if i == 2:
            assert row[1] == "葛\U000E0100西　花子"
    wb.close()
    assert got == n
    assert euc.get_audit(sqlite_engine, rx.audit_id)["output_sha256"] == _sha(tmp_path / "big.xlsx")
