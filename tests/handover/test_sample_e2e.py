"""End to end on the 10,000-resident sample: rehearse → export → verify (re-import, same content)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kikan_hub.handover.errors import HandoverError
from kikan_hub.handover.export import ExportOptions, export_isl
from kikan_hub.handover.verify import verify_export
from kikan_hub.store.engine import open_engine

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def kikan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ), cwd=PROJECT)


@pytest.fixture(scope="module")
def rehearsed_store(tmp_path_factory):
    work = tmp_path_factory.mktemp("handover_e2e")
    p = kikan("sample", "--residents", "10000", "--out", str(work / "extract"), "--seed", "1", "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    url = f"sqlite:///{work / 'kikan.db'}"
    p = kikan("rehearse", str(work / "extract" / "manifest.yaml"), "--store", url, "--run-dir", str(work / "run"), "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    return open_engine(url), work


def test_utf8_csv_of_the_sample_reimports_identically(rehearsed_store):
    engine, work = rehearsed_store
    m = export_isl(engine, work / "csv", ExportOptions(gyomu=("juki",)))
    jumin = next(f for f in m["files"] if f["table"] == "juki_jumin")
    assert jumin["records"] > 10_000 and len(m["source_run_ids"]) == 1
    rep = verify_export(work / "csv", engine)
    assert rep.ok, rep.problems
    assert all(t.folds == 0 for t in rep.tables)
    # issue 19: the 外国人住民 / 法第7条 items and the 支援措置・抑止・通称履歴 tables travel too (re-imported identically above)
    by_table = {f["table"]: f for f in m["files"]}
    for t in ("juki_shien_sochi", "juki_shien_kagaisha", "juki_yokushi", "juki_tsusho_rireki"):
        assert by_table[t]["records"] > 0, t
    header = (work / "csv" / jumin["path"]).read_text(encoding="utf-8").splitlines()[0]
    for item in ("国籍・地域(kokuseki)", "在留カード等の番号(zairyu_card_no)", "旧氏(kyu_uji)", "支援対象者である旨(shien_taisho)",
                 "届出の年月日(todokede_nengappi)"):
        assert item in header, item


def test_folded_fixed_length_of_the_sample_differs_only_by_recorded_folds(rehearsed_store):
    engine, work = rehearsed_store
    m = export_isl(engine, work / "fixed", ExportOptions(fmt="fixed", encoding="utf-8", fold="jisx0213", gyomu=("juki",)))
    assert m["folds"]["records"] > 0
    rep = verify_export(work / "fixed", engine)
    assert rep.ok, rep.problems


def test_cp932_jisx0208_without_the_full_map_lists_what_cannot_be_written(rehearsed_store, tmp_path, monkeypatch):
    """Without an MJ index the only fold source is jntajis: 鷗󠄁 (JIS X 0213) has no JIS X 0208 form there."""
    from kikan_hub.gaiji.fold import default_related

    engine, work = rehearsed_store
    monkeypatch.setenv("KIKAN_DATA_DIR", str(tmp_path / "empty"))
    default_related.cache_clear()
    with pytest.raises(HandoverError) as ei:
        export_isl(engine, work / "cp932-nomap", ExportOptions(fmt="fixed", encoding="cp932", fold="jisx0208",
                                                                gyomu=("juki",)))
    assert "U+9DD7" in str(ei.value)
    assert "U+2461" not in str(ei.value)  # ② folds by the symbol table, recorded
    assert not any((work / "cp932-nomap").iterdir())
    default_related.cache_clear()


def test_cp932_jisx0208_of_the_sample_differs_only_by_recorded_folds(rehearsed_store, reference_data, tmp_path,
                                                                     monkeypatch):
    """Issue 4: CP932 fixed length with JIS X 0208 folding → re-import → every difference is a recorded fold."""
    from kikan_hub.gaiji.fold import default_related
    from kikan_hub.gaiji.mj_index import MJIndex

    engine, work = rehearsed_store
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    MJIndex(data_dir / "mj_index.sqlite").import_file(reference_data / "mj" / "mojikiban_moji.csv")
    monkeypatch.setenv("KIKAN_DATA_DIR", str(data_dir))
    default_related.cache_clear()
    try:
        m = export_isl(engine, work / "cp932", ExportOptions(fmt="fixed", encoding="cp932", fold="jisx0208",
                                                             gyomu=("juki",)))
        assert m["folds"]["records"] > 0
        cats = m["folds"]["by_category"]
        assert "機種依存文字の置換" in cats and any("逆引き" in c for c in cats)
        rep = verify_export(work / "cp932", engine)
        assert rep.ok, rep.problems
        assert any(t.folds for t in rep.tables)
    finally:
        default_related.cache_clear()
