"""verify-export finds a changed byte, a missing file, a wrong count; the CLI speaks clearly (exit 2, no traceback)."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
import typer
from typer.testing import CliRunner

from kikan_hub.api.cli_handover import export_app, import_app, verify_export_command
from kikan_hub.handover.export import ExportOptions, export_isl
from kikan_hub.handover.verify import verify_export

from .conftest import fill_store

runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One SQLite store, exported once as UTF-8 CSV and once as CP932 fixed length with JIS X 0208 folds."""
    tmp = tmp_path_factory.mktemp("verify")
    url = f"sqlite:///{tmp / 'src.db'}"
    engine = fill_store(url, tmp)
    export_isl(engine, tmp / "csv", ExportOptions(gyomu=("juki",)))
    export_isl(engine, tmp / "fixed", ExportOptions(fmt="fixed", encoding="cp932", fold="jisx0208", gyomu=("juki",)))
    return url, engine, tmp


def copy(exported, kind, tmp_path):
    d = tmp_path / kind
    shutil.copytree(exported[2] / kind, d)
    return d


@pytest.mark.parametrize("kind,ext,enc", [("csv", "csv", "utf-8"), ("fixed", "dat", "cp932")])
def test_a_changed_byte_is_located_to_file_record_and_item(exported, tmp_path, kind, ext, enc):
    d = copy(exported, kind, tmp_path)
    p = d / f"juki_jumin.{ext}"
    data = bytearray(p.read_bytes())
    i = data.index("竹町".encode(enc))            # 住所 of 宛名番号 0000000019 履歴番号 2 (record 2)
    data[i + 1] ^= 0x01
    p.write_bytes(bytes(data))
    rep = verify_export(d, exported[1])
    assert not rep.ok
    (msg,) = rep.problems
    assert msg.startswith(f"juki_jumin.{ext}: SHA-256")
    assert "レコード2 (atena_no=0000000019,rireki_no=2)" in msg and "項目 住所(jusho)" in msg


def test_a_missing_file_is_named(exported, tmp_path):
    d = copy(exported, "csv", tmp_path)
    (d / "juki_setai.csv").unlink()
    rep = verify_export(d, exported[1])
    assert rep.problems == ["juki_setai.csv: ファイルがありません (missing file)"]


@pytest.mark.parametrize("delta", [+1, -1])
def test_a_wrong_count_in_the_manifest_names_file_and_record(exported, tmp_path, delta):
    d = copy(exported, "fixed", tmp_path)
    m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    f = next(f for f in m["files"] if f["table"] == "juki_jumin")
    f["records"] += delta
    (d / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    rep = verify_export(d, exported[1])
    assert not rep.ok
    assert any(p.startswith("juki_jumin.dat: manifest のレコード件数") for p in rep.problems)
    want = "レコード8 以降は manifest にありません" if delta < 0 else "レコード9 がファイルにありません"
    assert any(want in p for p in rep.problems), rep.problems


def test_a_changed_fold_record_is_caught(exported, tmp_path):
    """The folds file is part of the proof: its SHA-256 is in the manifest."""
    d = copy(exported, "fixed", tmp_path)
    rows = list(csv.reader((d / "folds.csv").open(encoding="utf-8", newline="")))
    rows[1][9] = "亮"
    with (d / "folds.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    rep = verify_export(d, exported[1])
    assert any(p.startswith("folds.csv:") for p in rep.problems)


def _app():
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
    app.command("verify-export")(verify_export_command)
    return app


def test_cli_export_import_verify(exported, tmp_path):
    url = exported[0]
    out = tmp_path / "h"
    r = runner.invoke(_app(), ["export", "isl", "--store", url, "--out", str(out), "--gyomu", "juki",
                               "--encoding", "cp932", "--format", "fixed", "--fold", "jisx0208", "-q"])
    assert r.exit_code == 0, r.output
    assert "juki_jumin.dat: 8 records" in r.output and "縮退 (folds)" in r.output
    r = runner.invoke(_app(), ["import", "isl", str(out), "--store", f"sqlite:///{tmp_path / 'new.db'}"])
    assert r.exit_code == 0, r.output
    assert "juki_jumin: 8" in r.output
    r = runner.invoke(_app(), ["verify-export", str(out), "--store", url])
    assert r.exit_code == 0, r.output
    assert "verified" in r.output
    (out / "juki_setai.dat").unlink()
    r = runner.invoke(_app(), ["verify-export", str(out), "--store", url])
    assert r.exit_code == 1
    assert "juki_setai.dat: ファイルがありません" in r.output


@pytest.mark.parametrize("args,expect", [
    (["--encoding", "latin-1"], "encoding"),
    (["--format", "xml"], "--format"),
    (["--fold", "ascii"], "--fold"),
    (["--gyomu", "nosuch"], "--gyomu"),
    (["--encoding", "cp932"], "U+20BB7"),
])
def test_cli_errors_exit_2_without_traceback(exported, tmp_path, args, expect):
    r = runner.invoke(_app(), ["export", "isl", "--store", exported[0], "--out", str(tmp_path / "x"), "-q", *args])
    assert r.exit_code == 2, r.output
    assert expect in r.output and "Traceback" not in r.output


def test_cli_import_of_a_missing_directory_exits_2(tmp_path):
    r = runner.invoke(_app(), ["import", "isl", str(tmp_path / "nope"), "--store", f"sqlite:///{tmp_path / 'n.db'}"])
    assert r.exit_code == 2 and "引継ぎディレクトリがありません" in r.output


def test_kihon_data_list(exported, tmp_path):
    url = exported[0]
    out = tmp_path / "kihon"
    r = runner.invoke(_app(), ["export", "isl", "--store", url, "--out", str(out), "--format", "kihon-data-list", "-q"])
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["file_format"] == "kihon-data-list" and m["encoding"] == "utf-8"
    rows = list(csv.reader((out / "住民基本台帳_住民.csv").open(encoding="utf-8", newline="")))
    assert rows[0][:8] == ["宛名番号", "履歴番号", "世帯番号", "住民種別", "住民状態", "氏名", "氏名のフリガナ", "生年月日"]
    assert len(rows) == 1 + 8
    by_name = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert by_name[0]["生年月日"] == "1955-03-01"
    watanabe = next(r for r in by_name if r["氏名"] == "渡邊　太郎")
    assert watanabe["生年月日"] == "" and watanabe["生年月日_和暦表記"] == "昭和30年頃" and watanabe["生年月日_不詳"] == "1"
    assert any(r["氏名"] == "𠮷田　花子" for r in by_name)
    r = runner.invoke(_app(), ["verify-export", str(out), "--store", url])
    assert r.exit_code == 0, r.output
