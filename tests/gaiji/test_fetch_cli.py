from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest
from typer.testing import CliRunner

from kikan_hub.api.cli_gaiji import app
from kikan_hub.gaiji.errors import IntegrityError
from kikan_hub.gaiji.fetch import fetch

from .conftest import write_strict_xlsx
from .test_mj_index import _fixture_rows

runner = CliRunner()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))

    class Quiet(handler.func):  # type: ignore[misc,name-defined]
        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_verifies_sha256(server, tmp_path):
    root, base = server
    xlsx = write_strict_xlsx(root / "mji.00602.xlsx", _fixture_rows())
    digest = hashlib.sha256(xlsx.read_bytes()).hexdigest()
    got = fetch(f"{base}/mji.00602.xlsx", digest, tmp_path / "dl")
    assert got.read_bytes() == xlsx.read_bytes()
    with pytest.raises(IntegrityError):
        fetch(f"{base}/mji.00602.xlsx", "0" * 64, tmp_path / "dl2")
    assert list((tmp_path / "dl2").iterdir()) == []          # nothing kept


def test_cli_fetch_import_lookup(server, tmp_path):
    root, base = server
    xlsx = write_strict_xlsx(root / "mji.00602.xlsx", _fixture_rows())
    digest = hashlib.sha256(xlsx.read_bytes()).hexdigest()
    dd = tmp_path / "var"
    r = runner.invoke(app, ["fetch-mj", "--url", f"{base}/mji.00602.xlsx", "--sha256", digest, "--data-dir", str(dd), "--import"])
    assert r.exit_code == 0, r.output
    assert "3 行" in r.output
    r = runner.invoke(app, ["lookup", "J+9AD9", "--data-dir", str(dd), "--json"])
    assert r.exit_code == 0 and "MJ028902" in r.output
    r = runner.invoke(app, ["fetch-mj", "--url", f"{base}/mji.00602.xlsx", "--sha256", "1" * 64, "--data-dir", str(dd)])
    assert r.exit_code == 2 and "SHA-256" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["fetch-mj", "--url", f"{base}/missing.xlsx", "--sha256", digest, "--data-dir", str(dd)])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_cli_fold_required_behaviour(tmp_path):
    env = {"KIKAN_DATA_DIR": str(tmp_path / "none")}
    r = runner.invoke(app, ["fold", "髙﨑", "--to", "jisx0213"], env=env)
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "高﨑"
    r = runner.invoke(app, ["fold", "髙﨑", "--to", "jisx0208"], env=env)
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "高崎"
    r = runner.invoke(app, ["fold", "x", "--to", "nosuch"], env=env)
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_cli_register_identify_decide(tmp_path, mj_index_path):
    dd = mj_index_path.parent
    reg = tmp_path / "gaiji_register.csv"
    src = tmp_path / "from_vendor.csv"
    src.write_text("source_system,source_code,pua,glyph_note,mj,gj,ucs,status,decided_by,decided_at\n"
                   "旧住記,F040,U+E000,似:高 読み:たか 11画,,,,未同定,,\n", encoding="utf-8")
    r = runner.invoke(app, ["register-import", str(src), "--register", str(reg), "--by", "suzuki"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["identify", str(reg), "--data-dir", str(dd), "--by", "kikan", "--out", str(tmp_path / "c.json")])
    assert r.exit_code == 0, r.output
    assert "MJ028902" in (tmp_path / "c.json").read_text(encoding="utf-8")
    r = runner.invoke(app, ["decide", str(reg), "旧住記", "F040", "--mj", "MJ028902", "--by", "tanaka", "--data-dir", str(dd)])
    assert r.exit_code == 0, r.output
    assert "9AD9" in reg.read_text(encoding="utf-8") and "同定済" in reg.read_text(encoding="utf-8")
    r = runner.invoke(app, ["register-export", str(reg), "--out", str(tmp_path / "台帳.xlsx")])
    assert r.exit_code == 0 and (tmp_path / "台帳.xlsx").exists()
    log = (tmp_path / "gaiji_register.csv.decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == 3
    r = runner.invoke(app, ["identify", str(tmp_path / "nope.csv"), "--data-dir", str(dd)])
    assert r.exit_code == 2 and "Traceback" not in r.output
