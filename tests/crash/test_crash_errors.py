"""Disk full and no permission: exit 2 with a clear message (no traceback), the store as it was.

What each test uses (the tests run as root, so chmod proves nothing):
- SQLite disk full: the store file on a real tmpfs barely larger than the store, so the load's
  WAL writes hit ENOSPC inside SQLite (SQLITE_FULL) in the bulk-load child — the real path.
- run directory full: the run directory on a 64 KiB tmpfs, so staging Parquet writes fail.
- SQLite no permission: a read-only bind mount of the store directory, and `chattr +i` on the
  store file (immutable even for root).
- PostgreSQL no permission: a role with SELECT but no INSERT/DELETE on the store's tables.
- PostgreSQL disk full: no small tablespace here, so the fault hook raises OSError(ENOSPC) at
  the second ingest batch (mid-transaction, after the deletes) — the same rollback and message
  path a server-side "could not extend file: No space left on device" takes.
Mount-based tests skip where mounting is not permitted.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from crash_harness import PROJECT, snapshot


def kikan_rehearse(manifest: Path, store: str, run_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "rehearse", str(manifest), "--store", store,
                           "--run-dir", str(run_dir), "--quiet"], cwd=PROJECT, capture_output=True, text=True,
                          env={**os.environ, "KIKAN_FAULT_AT": "", **env})


def assert_clear_failure(proc: subprocess.CompletedProcess, *words: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out and "Exception ignored" not in out, out
    flat = "".join(out.split())  # rich wraps long lines
    assert any("".join(w.split()) in flat for w in words), out


@pytest.fixture
def mounts():
    made: list[Path] = []

    def mount(*args: str, target: Path) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount here: {proc.stderr.strip()}")
        made.append(target)
        return target

    yield mount
    for t in reversed(made):
        subprocess.run(["umount", "-l", str(t)], capture_output=True)


def _store_with(runner, manifest: Path, db: Path, run_dir: Path) -> str:
    url = f"sqlite:///{db}"
    assert runner.run(manifest, url, run_dir)["exit"] == 0
    with sqlite3.connect(db) as c:  # fold the WAL in, so the file alone is the store
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return url


def test_sqlite_disk_full_during_load(runner, extracts, references, mounts, tmp_path):
    built = tmp_path / "built.db"
    _store_with(runner, extracts["A"], built, tmp_path / "r0")
    size = built.stat().st_size
    # Room for the store and the WAL index, not for the WAL of a replacing load.
    full = mounts("-t", "tmpfs", "-o", f"size={size + 160 * 1024}", "tmpfs", target=tmp_path / "tmpfs")
    shutil.copy(built, full / "kikan.db")
    url = f"sqlite:///{full / 'kikan.db'}"
    before = snapshot(url)
    assert before.content == references["A"].content
    proc = kikan_rehearse(extracts["B"], url, tmp_path / "r1")
    assert_clear_failure(proc, "ディスクがいっぱい", "disk full")
    assert snapshot(url) == before


def test_run_directory_full_during_staging(runner, extracts, references, mounts, tmp_path):
    url = _store_with(runner, extracts["A"], tmp_path / "kikan.db", tmp_path / "r0")
    before = snapshot(url)
    small = mounts("-t", "tmpfs", "-o", "size=64k", "tmpfs", target=tmp_path / "tmpfs")
    proc = kikan_rehearse(extracts["B"], url, small / "run")
    assert_clear_failure(proc, "No space left on device")
    assert str(small / "run") in "".join((proc.stdout + proc.stderr).split())  # rich wraps long paths
    assert snapshot(url) == before


def test_sqlite_read_only_store_directory(runner, extracts, mounts, tmp_path):
    url = _store_with(runner, extracts["A"], tmp_path / "rw" / "kikan.db", tmp_path / "r0")
    before = snapshot(url)
    ro = mounts("--bind", str(tmp_path / "rw"), target=tmp_path / "ro")
    if subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], capture_output=True).returncode != 0:
        pytest.skip("cannot remount read-only here")
    proc = kikan_rehearse(extracts["B"], f"sqlite:///{ro / 'kikan.db'}", tmp_path / "r1")
    assert_clear_failure(proc, "ストアを準備できません", "権限", "read-only", "readonly")
    assert snapshot(url) == before


def test_sqlite_immutable_store_file(runner, extracts, tmp_path):
    if not shutil.which("chattr"):
        pytest.skip("no chattr")
    db = tmp_path / "kikan.db"
    url = _store_with(runner, extracts["A"], db, tmp_path / "r0")
    before = snapshot(url)
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i not supported on this file system")
    try:
        proc = kikan_rehearse(extracts["B"], url, tmp_path / "r1")
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert_clear_failure(proc, "権限がありません", "permission denied")
    assert snapshot(url) == before


@pytest.mark.postgres
def test_postgresql_role_without_write_privilege(runner, extracts, references, pg_url, tmp_path):
    assert runner.run(extracts["A"], pg_url, tmp_path / "r0")["exit"] == 0
    before = snapshot(pg_url)
    role = f"kikan_ro_{uuid.uuid4().hex[:8]}"
    eng = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        c.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        c.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    ro_url = pg_url.replace("postgres@", f"{role}@", 1)
    try:
        proc = kikan_rehearse(extracts["B"], ro_url, tmp_path / "r1")
        assert_clear_failure(proc, "権限がありません", "permission denied")
        assert snapshot(pg_url) == before
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f"REASSIGN OWNED BY {role} TO postgres"))
            c.execute(sa.text(f"DROP OWNED BY {role}"))
            c.execute(sa.text(f"DROP ROLE {role}"))
        eng.dispose()


@pytest.mark.postgres
def test_postgresql_disk_full_mid_load(runner, extracts, pg_url, tmp_path):
    assert runner.run(extracts["A"], pg_url, tmp_path / "r0")["exit"] == 0
    before = snapshot(pg_url)
    proc = kikan_rehearse(extracts["B"], pg_url, tmp_path / "r1", KIKAN_FAULT_AT="load:ingest_batch@2=enospc",
                          KIKAN_BATCH_ROWS="100")
    assert_clear_failure(proc, "ディスクがいっぱい", "disk full")
    assert snapshot(pg_url) == before
