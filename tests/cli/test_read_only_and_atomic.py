"""Read-only commands never create a store; a failed MJ import leaves nothing; a mapping of the
wrong shape is a clear usage error (issue 16 point 8). Real subprocesses, real files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from kikan_testenv import run_kikan


def kikan(*args: str, cwd: Path):
    return run_kikan(*args, cwd=cwd, KIKAN_DATA_DIR=str(cwd / "var"), KIKAN_STORE_URL="")


def listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.mark.parametrize("argv", [
    ["validate", "--store", "sqlite:///typo.db", "--run-dir", "run"],
    ["runs", "--store", "sqlite:///no/such/dir/kikan.db"],
    ["runs"],                                              # the default store var/kikan.db, never made
    ["juki", "person", "1000000001", "--store", "sqlite:///typo.db"],
    ["export", "isl", "--store", "sqlite:///typo.db", "--out", "out"],
])
def test_read_only_commands_never_create_a_store(tmp_path, argv):
    proc = kikan(*argv, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    url = next((a for a in argv if a.startswith("sqlite:")), "sqlite:///var/kikan.db")
    assert url in proc.stderr and "ストアがありません" in proc.stderr
    assert not [p for p in listing(tmp_path) if p != "run" and not p.startswith("run/")], listing(tmp_path)


def test_read_only_command_refuses_a_database_that_is_not_a_store(tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").execute("create table t(x)").connection.close()
    before = hashlib.sha256((tmp_path / "other.db").read_bytes()).hexdigest()
    proc = kikan("runs", "--store", "sqlite:///other.db", cwd=tmp_path)
    assert proc.returncode == 2 and "kikan-hub のストアではありません" in proc.stderr, proc.stderr
    assert hashlib.sha256((tmp_path / "other.db").read_bytes()).hexdigest() == before


MOJIKIBAN = "mj,kanji,lines,yomi,shrink,jis\n1,々,3,おなじ,々,1-01-25\n2,〆,2,しめ,〆,1-01-26\n"


def test_failed_mj_import_leaves_nothing(tmp_path):
    good = tmp_path / "mojikiban_moji.csv"
    good.write_text(MOJIKIBAN, encoding="utf-8")
    bad = tmp_path / "broken.csv"
    bad.write_text("no,header,here\n1,2,3\n", encoding="utf-8")
    # a first import into a new data directory that fails on its second file: no directory, no index
    proc = kikan("gaiji", "import-mj", str(good), str(bad), "--data-dir", "d/new", cwd=tmp_path)
    assert proc.returncode == 2 and "broken.csv" in proc.stderr, proc.stderr
    assert not (tmp_path / "d").exists()
    # an existing index is left byte for byte as it was
    assert kikan("gaiji", "import-mj", str(good), "--data-dir", "d", cwd=tmp_path).returncode == 0
    index = tmp_path / "d" / "mj_index.sqlite"
    before = hashlib.sha256(index.read_bytes()).hexdigest()
    files = listing(tmp_path / "d")
    proc = kikan("gaiji", "import-mj", str(good), str(bad), "--data-dir", "d", cwd=tmp_path)
    assert proc.returncode == 2
    assert hashlib.sha256(index.read_bytes()).hexdigest() == before and listing(tmp_path / "d") == files


@pytest.mark.parametrize("targets, where", [
    ("targets: [x]\n", "targets[0]: expected a mapping, got 'x'"),
    ("targets:\n  - {table: juki_setai, source: [SETAI], columns: {}}\n", "targets[0](juki_setai).source: expected a mapping, got ['SETAI']"),
    ("targets:\n  - {table: juki_setai, source: {file: SETAI, record_type: household}, columns: [a]}\n",
     "targets[0](juki_setai).columns: expected a mapping, got ['a']"),
    ("targets:\n  - {table: juki_setai, source: {file: SETAI, record_type: household}, columns: {setai_no: [a]}}\n",
     "targets[0](juki_setai).columns.setai_no: expected a mapping, got ['a']"),
])
def test_mapping_of_the_wrong_shape_is_a_usage_error(tmp_path, targets, where):
    (tmp_path / "mapping.yaml").write_text(targets, encoding="utf-8")
    from kikan_hub.layouts.errors import LayoutError
    from kikan_hub.mapping.spec import load_mapping

    with pytest.raises(LayoutError) as err:
        load_mapping(tmp_path / "mapping.yaml")
    assert where in err.value.message


def test_mapping_targets_list_of_names_exits_2_through_rehearse(tmp_path):
    proc = kikan("sample", "--residents", "20", "--out", "ex", "--seed", "3", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "ex" / "mapping.yaml").write_text("targets: [x]\n", encoding="utf-8")
    proc = kikan("rehearse", "ex/manifest.yaml", "--store", "sqlite:///k.db", "--quiet", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "mapping.yaml: targets[0]: expected a mapping, got 'x'" in proc.stderr
