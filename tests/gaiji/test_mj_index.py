from __future__ import annotations

import csv
import sqlite3

import pytest

from kikan_hub.gaiji.codes import parse_sequence
from kikan_hub.gaiji.errors import GaijiError
from kikan_hub.gaiji.mj_index import OFFICIAL_HEADERS, MJIndex

from .conftest import write_strict_xlsx


def test_full_table_has_58862_characters(mj_index):
    assert mj_index.count() == 58862


def test_sources_are_recorded_with_version_and_sha256(mj_index, mj_dir):
    import hashlib

    srcs = {s["name"]: s for s in mj_index.sources()}
    s = srcs["mji-list.00602.tsv"]
    assert s["version"] == "00602" and s["rows"] == 58862 and s["kind"] == "mj-list"
    assert s["sha256"] == hashlib.sha256((mj_dir / "mji-list.00602.tsv").read_bytes()).hexdigest()
    with open(mj_dir / "mojikiban_moji.csv", encoding="utf-8-sig", newline="") as f:
        data_rows = sum(1 for _ in csv.reader(f)) - 1     # (the README says 58,842; the file holds one more)
    assert srcs["mojikiban_moji.csv"]["rows"] == data_rows


def test_every_ivs_in_the_file_resolves_back_to_exactly_its_mj(mj_index, mj_dir):
    pairs = []
    with open(mj_dir / "mji-list.00602.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            for seq in filter(None, row["実装したMoji_JohoコレクションIVS"].split(";")):
                pairs.append((parse_sequence(seq), row["MJ文字図形名"]))
    assert len(pairs) > 10000
    # one query for all of them (the per-key API is checked on a sample below)
    got: dict[str, list[str]] = {}
    for key, mj in mj_index.conn.execute("SELECT key, mj FROM mj_key WHERE kind = 'ivs'"):
        got.setdefault(key, []).append(mj)
    wrong = [(s, mj, got.get(s)) for s, mj in pairs if got.get(s) != [mj]]
    assert wrong == []
    for seq, mj in pairs[::997]:
        assert [r.mj for r in mj_index.by_ivs(seq)] == [mj]
        assert [r.mj for r in mj_index.lookup(seq)] == [mj]


def test_every_column_of_every_source_is_kept(mj_index):
    rec = mj_index.get("MJ000007", with_raw=True)
    assert rec.raw["mji-list.00602.tsv"]["実装したMoji_JohoコレクションIVS"] == "3404_E0101"
    assert rec.raw["mojikiban_moji.csv"]["shrink"] == "牛井"
    assert rec.text == "\u3404\U000E0101"       # no 実装したUCS → the IVS sequence


def test_lookups(mj_index):
    (r,) = mj_index.lookup("髙")
    assert r.mj == "MJ028902" and r.text == "髙" and r.strokes == 11 and "たか" in r.yomi and r.shrink == "高"
    assert "MJ028902" in mj_index.find("yomi", "タカ")          # katakana and hiragana both match
    assert "MJ028902" in mj_index.find("strokes", "11")
    assert "MJ028902" in mj_index.find("shrink", "高")
    assert mj_index.find("x0213", "1-01-25") == ["MJ000001"]
    assert [r.mj for r in mj_index.lookup("U+9AD9")] == ["MJ028902"]
    with pytest.raises(GaijiError):
        mj_index.lookup("髙橋")


def _fixture_rows():
    # a handful of rows typed for this test (codes are illustrative, not copied from the official list)
    h = list(OFFICIAL_HEADERS)
    assert len(h) == 36

    def row(**kw):
        r = [""] * 36
        for k, v in kw.items():
            r[h.index(k)] = v
        return r

    return [h,
            row(**{"font": "髙", "MJ文字図形名": "MJ028902", "対応するUCS": "U+9AD9", "実装したUCS": "U+9AD9",
                   "戸籍統一文字番号": "426030", "住基ネット統一文字コード": "J+9AD9", "入管正字コード": "9AD9",
                   "X0213": "1-25-66", "MJ文字図形バージョン": "1.0", "総画数(参考)": "11", "読み(参考)": "コウ・たか",
                   "部首1(参考)": "189", "内画数1(参考)": "1"}),
            row(**{"font": "㐄", "MJ文字図形名": "MJ000007", "対応するUCS": "U+3404",
                   "実装したMoji_JohoコレクションIVS": "3404_E0101", "住基ネット統一文字コード": "J+3404",
                   "入管外字コード": "A-0001", "総画数(参考)": "3", "読み(参考)": "カ", "備考": "テスト & <備考>"}),
            row(**{"MJ文字図形名": "MJ000001", "対応するUCS": "U+3005", "実装したUCS": "U+3005", "X0213": "1-01-25",
                   "戸籍統一文字番号": "000010"})]


def test_strict_ooxml_import(tmp_path):
    xlsx = write_strict_xlsx(tmp_path / "mji.00602.xlsx", _fixture_rows())
    with MJIndex(tmp_path / "idx.sqlite") as idx:
        s = idx.import_file(xlsx)
        assert s["kind"] == "mj-list" and s["rows"] == 3 and s["version"] == "00602"
        assert idx.find("juki", "j+9ad9") == ["MJ028902"]
        assert idx.find("koseki", "426030") == ["MJ028902"]
        assert idx.find("koseki", "10") == ["MJ000001"]           # leading zeros are not significant
        assert idx.find("nyukan", "A-0001") == ["MJ000007"]
        assert idx.find("nyukan", "9AD9") == ["MJ028902"]
        assert idx.find("strokes", "3") == ["MJ000007"]
        assert idx.find("yomi", "たか") == ["MJ028902"]
        assert [r.mj for r in idx.lookup("J+3404")] == ["MJ000007"]
        rec = idx.get("MJ000007", with_raw=True)
        raw = rec.raw["mji.00602.xlsx"]
        assert len(raw) == 36 and raw["備考"] == "テスト & <備考>"
        assert rec.text == "\u3404\U000E0101"
        assert idx.sources()[0]["sha256"] and len(idx.sources()[0]["sha256"]) == 64


def test_several_sources_merge_into_one_index(tmp_path, mj_dir):
    xlsx = write_strict_xlsx(tmp_path / "mji.00602.xlsx", _fixture_rows())
    small_csv = tmp_path / "moji.csv"
    small_csv.write_text("mj,kanji,lines,yomi,shrink,jis\n28902,髙,11,たかい,高,\n", encoding="utf-8")
    with MJIndex(tmp_path / "idx.sqlite") as idx:
        idx.import_file(xlsx)
        idx.import_file(small_csv)
        rec = idx.get("MJ028902", with_raw=True)
        assert set(rec.raw) == {"mji.00602.xlsx", "moji.csv"}
        assert rec.shrink == "高" and "たかい" in rec.yomi and "コウ" in rec.yomi
        assert rec.juki == "J+9AD9"
        assert len(idx.sources()) == 2


def test_bad_inputs_are_clear_errors(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with MJIndex(tmp_path / "i.sqlite") as idx, pytest.raises(GaijiError, match="header"):
        idx.import_file(bad)
    notzip = tmp_path / "y.xlsx"
    notzip.write_bytes(b"not a zip")
    with MJIndex(tmp_path / "i.sqlite") as idx, pytest.raises(GaijiError, match="xlsx"):
        idx.import_file(notzip)
    with pytest.raises(GaijiError, match="import-mj"):
        MJIndex.open(tmp_path / "none.sqlite")
