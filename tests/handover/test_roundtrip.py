"""Export → import into a fresh store → same canonical content (SQLite and PostgreSQL)."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from kikan_hub.handover.charpolicy import apply_folds
from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.export import ExportOptions, export_isl
from kikan_hub.handover.importer import import_isl
from kikan_hub.handover.manifest import sha256_file
from kikan_hub.handover.spec import file_columns
from kikan_hub.handover.verify import load_folds, verify_export
from kikan_hub.layouts.isl import get_table
from kikan_hub.store.content import store_content_hashes
from kikan_hub.store.engine import open_engine

from .conftest import IVS_KATSU, RUN

GYOMU = ("juki", "zei_kotei")


def rows_by_pk(engine, table_id):
    t = get_table(table_id)
    cols = [c.id for c in file_columns(t)]
    with engine.connect() as c:
        q = f"select {', '.join(cols)} from {table_id} order by {', '.join(t.primary_key)}"
        return cols, [tuple(r) for r in c.execute(sa.text(q))]


def test_utf8_csv_reimports_identically(filled_store, fresh_url, tmp_path):
    url, engine = filled_store
    m = export_isl(engine, tmp_path / "out", ExportOptions(gyomu=GYOMU))
    tables = [f["table"] for f in m["files"]]
    assert {"juki_jumin", "juki_setai", "zei_kotei_tochi"} <= set(tables)
    target = open_engine(fresh_url(url))
    res = import_isl(tmp_path / "out", target)
    assert res["tables"]["juki_jumin"] == 8
    for lineage in (False, True):
        assert store_content_hashes(target, tables, lineage) == store_content_hashes(engine, tables, lineage)
    # characters kept as they are: gaiji, supplementary, IVS; 不詳日 with its literal
    with target.connect() as c:
        names = c.execute(sa.text("select shimei from juki_jumin order by atena_no, rireki_no")).scalars().all()
        assert {"髙橋　一郎", "𠮷田　花子", "渡邊　太郎", f"{IVS_KATSU}城　次郎"} <= set(names)
        row = c.execute(sa.text("select birth_date, birth_date_literal, birth_date_unknown, _run_id from juki_jumin "
                                "where shimei = '渡邊　太郎'")).one()
        assert row[0] is None and row[1] == "昭和30年頃" and bool(row[2]) is True and row[3] == RUN
    rep = verify_export(tmp_path / "out", engine)
    assert rep.ok, rep.problems
    assert len(rep.tables) == len(tables)


def test_cp932_fixed_jisx0208_every_difference_is_a_recorded_fold(filled_store, fresh_url, tmp_path):
    url, engine = filled_store
    out = tmp_path / "fx"
    m = export_isl(engine, out, ExportOptions(fmt="fixed", encoding="cp932", fold="jisx0208", gyomu=GYOMU))
    assert m["character_policy"]["fold"] == "jisx0208" and m["encoding"] == "cp932"
    cats = m["folds"]["by_category"]
    assert cats.get("JIS包摂規準・UCS統合規則", 0) >= 3 and cats.get("CP932対応付け") == 2 and cats.get("異体字セレクタ除去") == 2
    jumin = next(f for f in m["files"] if f["table"] == "juki_jumin")
    assert jumin["record_length"] == sum(c["width"] for c in jumin["columns"])
    assert (out / "juki_jumin.dat").stat().st_size == 8 * (jumin["record_length"] + 2)
    target = open_engine(fresh_url(url))
    import_isl(out, target)
    folds = load_folds(out, m)
    seen = set()
    for f in m["files"]:
        cols, before = rows_by_pk(engine, f["table"])
        _, after = rows_by_pk(target, f["table"])
        assert len(before) == len(after) == f["records"]
        for rec_no, (a, b) in enumerate(zip(before, after), 1):
            for col, va, vb in zip(cols, a, b):
                if va != vb:
                    recs = folds[f["table"]][rec_no][col]     # KeyError = an unrecorded difference
                    assert apply_folds(va, recs) == vb
                    seen |= {(r.from_, r.to) for r in recs}
    assert {("髙", "高"), ("𠮷", "吉"), (IVS_KATSU, "葛"), ("〜", "～")} <= seen
    with target.connect() as c:   # 渡邊 is JIS X 0208: unchanged
        assert c.execute(sa.text("select count(*) from juki_jumin where shimei = '渡邊　太郎'")).scalar() == 1
    rep = verify_export(out, engine)
    assert rep.ok, rep.problems
    assert sum(t.folds for t in rep.tables) == m["folds"]["records"]


def test_manifest_describes_every_file(filled_store, tmp_path):
    _, engine = filled_store
    out = tmp_path / "out"
    m = export_isl(engine, out, ExportOptions(gyomu=("juki",)))
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == m
    assert m["layout"]["definitions"]["juki"]["version"] == "V2.7-kikan.1"
    assert m["source_run_ids"] == [RUN]
    assert m["lineage"]["included"] is True
    for f in m["files"]:
        sha, n = sha256_file(out / f["path"])
        assert (sha, n) == (f["sha256"], f["bytes"])
        assert f["encoding"] == "utf-8" and f["format"] == "csv"
        assert sum(c["records"] for c in f["chunks"]) == f["records"]
    assert m["folds"]["records"] == 0 and (out / "folds.csv").exists()
    header = (out / "juki_jumin.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith('"宛名番号(atena_no)","履歴番号(rireki_no)"') and '"移行実行ID(_run_id)"' in header


def test_fold_none_cp932_lists_the_characters_and_writes_nothing(filled_store, tmp_path):
    _, engine = filled_store
    out = tmp_path / "bad"
    with pytest.raises(HandoverError) as ei:
        export_isl(engine, out, ExportOptions(fmt="csv", encoding="cp932", fold="none", gyomu=("juki",)))
    text = str(ei.value)
    assert "U+20BB7" in text and "U+E0100" in text and "U+301C" in text
    assert "juki_jumin レコード3" in text and "氏名(shimei)" in text
    assert list(out.iterdir()) == []


def test_value_too_wide_for_fixed_is_an_error_naming_table_record_item(store_url, tmp_path):
    from .conftest import fill_store, jumin_rows
    rows = jumin_rows()[:2]
    rows[1]["shimei"] = "長" * 31           # 桁数 30 → 60 bytes in CP932: 62 does not fit
    engine = fill_store(store_url, tmp_path, {"juki_jumin": rows})
    with pytest.raises(HandoverError) as ei:
        export_isl(engine, tmp_path / "o", ExportOptions(fmt="fixed", encoding="cp932", fold="jisx0208", gyomu=("juki",)))
    msg = str(ei.value)
    assert "juki_jumin レコード3" not in msg and "レコード" in msg and "氏名(shimei)" in msg and "62 バイト" in msg
    # UTF-8 fixed gives the gaiji item room for IVS: 30 × 2 × 3 bytes
    export_isl(engine, tmp_path / "u", ExportOptions(fmt="fixed", encoding="utf-8", gyomu=("juki",)))


def test_empty_string_and_null_stay_apart_in_csv_and_fixed_refuses(tmp_path, fresh_url):
    from .conftest import fill_store, jumin_rows
    url = f"sqlite:///{tmp_path / 'a.db'}"
    rows = jumin_rows()[:2]
    rows[0]["katagaki"], rows[1]["katagaki"] = "", None
    engine = fill_store(url, tmp_path, {"juki_jumin": rows})
    export_isl(engine, tmp_path / "c", ExportOptions(gyomu=("juki",)))
    target = open_engine(fresh_url(url))
    import_isl(tmp_path / "c", target)
    with target.connect() as c:
        assert c.execute(sa.text("select katagaki from juki_jumin order by rireki_no, atena_no")).scalars().all() == ["", None]
    with pytest.raises(HandoverError, match="空文字列"):
        export_isl(engine, tmp_path / "f", ExportOptions(fmt="fixed", gyomu=("juki",)))


def test_import_refuses_a_store_that_is_not_fresh(filled_store, tmp_path):
    _, engine = filled_store
    export_isl(engine, tmp_path / "out", ExportOptions(gyomu=("juki",)))
    with pytest.raises(HandoverError, match="空ではありません"):
        import_isl(tmp_path / "out", engine)
