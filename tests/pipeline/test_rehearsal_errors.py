"""Bad configuration and bad input: exit 2, a message naming the file and the problem, nothing loaded."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[2]


def kikan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], capture_output=True, text=True,
                          cwd=PROJECT, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def base_sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("s") / "extract"
    assert kikan("sample", "--residents", "200", "--out", str(out), "--seed", "5", "--quiet").returncode == 0
    return out


@pytest.fixture
def sample(base_sample, tmp_path) -> Path:
    dst = tmp_path / "extract"
    shutil.copytree(base_sample, dst)
    return dst


def rehearse_fails(sample: Path, tmp_path: Path, *words: str) -> str:
    db = tmp_path / "store.db"
    proc = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{db}", "--run-dir",
                 str(tmp_path / "run"), "--quiet")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text, text
    for w in words:
        assert w in text, (w, text)
    if db.exists():  # nothing loaded
        with sa.create_engine(f"sqlite:///{db}").connect() as c:
            tables = sa.inspect(c).get_table_names()
            if "juki_jumin" in tables:
                assert c.execute(sa.text("select count(*) from juki_jumin")).scalar() == 0
    return text


def test_missing_manifest(tmp_path):
    proc = kikan("rehearse", str(tmp_path / "nope.yaml"), "--quiet")
    assert proc.returncode == 2 and "nope.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_malformed_manifest_yaml(sample, tmp_path):
    (sample / "manifest.yaml").write_text("name: x\nfiles: [\n", encoding="utf-8")
    rehearse_fails(sample, tmp_path, "manifest.yaml", "YAML")


def test_manifest_without_encoding(sample, tmp_path):
    text = (sample / "manifest.yaml").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if "encoding:" not in ln]
    (sample / "manifest.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rehearse_fails(sample, tmp_path, "encoding")


def test_missing_input_file(sample, tmp_path):
    (sample / "SETAI.DAT").unlink()
    rehearse_fails(sample, tmp_path, "SETAI.DAT")


def test_malformed_layout(sample, tmp_path):
    p = sample / "layout_jumin.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("type: digits", "type: dgits", 1), encoding="utf-8")
    rehearse_fails(sample, tmp_path, "layout_jumin.yaml", "dgits")


def test_mapping_to_unknown_item(sample, tmp_path):
    p = sample / "mapping.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("shimei_kana:", "shimei_kanaa:", 1), encoding="utf-8")
    rehearse_fails(sample, tmp_path, "mapping.yaml", "shimei_kanaa")


def test_utf8_file_declared_cp932(sample, tmp_path):
    raw = (sample / "JUMIN.DAT").read_bytes()
    # The same records as UTF-8: the whole file contradicts the declaration.
    lines = []
    for line in raw.rstrip(b"\x1a").split(b"\r\n"):
        try:
            lines.append(line.decode("cp932").encode("utf-8"))
        except UnicodeDecodeError:
            continue
    (sample / "JUMIN.DAT").write_bytes(b"\r\n".join(lines))
    rehearse_fails(sample, tmp_path, "JUMIN.DAT")


def test_ebcdic_file_declared_cp932(sample, tmp_path):
    raw = (sample / "JUMIN.DAT").read_bytes()
    ascii_part = bytes(b if b < 0x80 else 0x40 for b in raw)
    (sample / "JUMIN.DAT").write_bytes(ascii_part.decode("ascii").encode("cp500"))
    rehearse_fails(sample, tmp_path, "JUMIN.DAT")


def test_single_bad_record_is_not_a_config_error(sample, tmp_path):
    p = sample / "JUMIN.DAT"
    raw = bytearray(p.read_bytes())
    second = raw.index(b"\r\n") + 2 + 40  # inside the first data record's name field
    raw[second:second + 2] = b"\x85\x40"
    p.write_bytes(bytes(raw))
    proc = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{tmp_path / 's.db'}",
                 "--run-dir", str(tmp_path / "run"), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
