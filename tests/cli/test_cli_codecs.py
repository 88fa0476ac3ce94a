"""`kikan codecs list` and `kikan codecs convert` (strict; exit 2 naming the first bad byte)."""
import json
import subprocess
import sys

from typer.testing import CliRunner

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.api import cli_codecs
from kikan_hub.api.cli import app

TEXT = "住民記録 山田　太郎 ﾔﾏﾀﾞ ﾀﾛｳ 0123456789\n高橋 渡邊\n" * 3  # (髙 is in IBM and JEF, not in KEIS)


def test_list_shows_names_aliases_state_and_gaiji_area():
    r = CliRunner().invoke(app, ["codecs", "list", "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.output)}
    for name in ("ibm930", "ibm939", "ibm1390", "ibm1399", "jef-ebcdik", "keis78-ebcdik", "keis83-ebcdik",
                 "jips-j", "jips-e", "cp932"):
        assert name in rows
    assert rows["keis83-ebcdik"]["gaiji_area"] == "81A1-A0FE" and rows["keis83-ebcdik"]["stateful"]
    assert "cp930" in rows["ibm930"]["aliases"]
    r = CliRunner().invoke(app, ["codecs", "list"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "80A1-A0FE" in r.output and "jef-ebcdik" in r.output


def test_convert_round_trips_through_every_mainframe_encoding(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(TEXT, encoding="utf-8")
    prev, prev_enc = src, "utf-8"
    for enc in ("ibm930", "ibm1390", "jef-ebcdik", "keis83", "keis78", "jips-j", "jips-e", "cp932"):
        out = tmp_path / f"out.{enc}"
        r = CliRunner().invoke(app, ["codecs", "convert", "--from", prev_enc, "--to", enc, str(prev), str(out)])
        assert r.exit_code == 0, r.output
        assert get_codec(enc).decode(out.read_bytes()) == TEXT
        prev, prev_enc = out, enc


def test_convert_streams_big_files_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_codecs, "_BLOCK", 37)  # blocks cut through shifts and characters
    src = tmp_path / "in.ibm"
    src.write_bytes(get_codec("ibm1390").encode(TEXT * 5))
    out = tmp_path / "out.txt"
    r = CliRunner().invoke(app, ["codecs", "convert", "--from", "ibm1390", "--to", "utf-8", str(src), str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8") == TEXT * 5
    src.write_bytes(get_codec("jips-e").encode(TEXT * 5))
    r = CliRunner().invoke(app, ["codecs", "convert", "--from", "jips-e", "--to", "utf-8", str(src), str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8") == TEXT * 5


def test_convert_fails_at_the_first_bad_byte_and_leaves_no_output(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_codecs, "_BLOCK", 64)
    good = get_codec("ibm930").encode(TEXT)
    src = tmp_path / "bad.ibm"
    src.write_bytes(good + b"\x0e\xff\xff\x0f" + good)
    out = tmp_path / "out.txt"
    # a real process: exit status 2, the message on stderr, no traceback
    p = subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "codecs", "convert", "--from", "ibm930",
                        "--to", "utf-8", str(src), str(out)], capture_output=True, text=True)
    assert p.returncode == 2
    assert f"byte offset {len(good) + 1}" in p.stderr and "FF FF" in p.stderr
    assert "Traceback" not in p.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.txt*"))


def test_convert_refuses_characters_the_target_lacks(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("山田𠮷男", encoding="utf-8")  # 𠮷 is not in IBM 930
    r = CliRunner().invoke(app, ["codecs", "convert", "--from", "utf-8", "--to", "ibm930", str(src),
                                 str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "character 2" in r.output and "U+20BB7" in r.output
    r = CliRunner().invoke(app, ["codecs", "convert", "--from", "klingon", "--to", "utf-8", str(src),
                                 str(tmp_path / "o")])
    assert r.exit_code == 2 and "klingon" in r.output
