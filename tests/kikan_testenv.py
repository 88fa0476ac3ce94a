"""What the tests need from the machine, found (or started) the way CI does, else a one-line skip.

- PostgreSQL: KIKAN_TEST_PG_URL when given (CI: .ci/services.sh); otherwise, when the Debian
  server binaries are installed, a throwaway cluster in a temporary directory for this pytest
  session (stopped and removed at the end).
- Chromium: KIKAN_CHROMIUM, else `chromium` / `chromium-browser` on PATH.
- Reference data (official files the product cannot ship: the MJ list is CC BY-SA):
  KIKAN_REFERENCE_DATA only. There is no default folder.
Under CI=true a missing part is a failure, never a skip.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, NoReturn

import pytest

REFERENCE_HINT = ("needs the official reference files (MJ list etc., CC BY-SA, not shipped): "
                  "set KIKAN_REFERENCE_DATA to their folder")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip with a one-line reason; under CI the same reason fails the test."""
    if in_ci():
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def reference_dir() -> Path | None:
    env = os.environ.get("KIKAN_REFERENCE_DATA")
    return Path(env) if env and Path(env).is_dir() else None


def need_reference(*parts: str) -> Path:
    base = reference_dir()
    if base is None:
        unavailable(REFERENCE_HINT)
    path = base.joinpath(*parts)
    if not path.exists():
        unavailable(f"KIKAN_REFERENCE_DATA={base} has no {'/'.join(parts)}")
    return path


def chromium_path() -> str | None:
    env = os.environ.get("KIKAN_CHROMIUM")
    if env and Path(env).exists():
        return env
    return shutil.which("chromium") or shutil.which("chromium-browser")


def need_chromium() -> str:
    path = chromium_path()
    if not path:
        unavailable("no headless Chromium here (install Debian `chromium` or set KIKAN_CHROMIUM)")
    return path


# ------------------------------------------------------------------ a throwaway PostgreSQL cluster

def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    """initdb + pg_ctl start in a temporary directory; as user postgres when run as root (pg_ctl refuses root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="kikan-test-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chmod(self.dir, 0o755)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> str:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "start", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def start_postgres_if_installed() -> tuple[ThrowawayPostgres | None, str | None]:
    """(server, why not): a running throwaway server, or the one-line reason there is none."""
    bindir = _pg_bin()
    if bindir is None:
        return None, "no PostgreSQL server binaries here (install Debian `postgresql` or set KIKAN_TEST_PG_URL)"
    try:
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")
        server = ThrowawayPostgres(bindir)
        os.environ["KIKAN_TEST_PG_URL"] = server.start()
        return server, None
    except (KeyError, OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return None, f"could not start a throwaway PostgreSQL from {bindir}: {exc} {detail.decode(errors='replace')[-200:]}".strip()


# ------------------------------------------------------------------ the CLI as a user runs it

PROJECT = Path(__file__).resolve().parents[1]


def run_kikan(*args: str, cwd: Path = PROJECT, **env: str) -> subprocess.CompletedProcess:
    """`kikan ARGS` in a subprocess (this checkout first on the path), stdout/stderr captured as text."""
    import sys

    full = {**os.environ, "PYTHONPATH": str(PROJECT), "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=full)


def pg_database(prefix: str = "kikan_e2e") -> tuple[str, Callable[[], None]]:
    """A fresh database on the real PostgreSQL server (KIKAN_TEST_PG_URL) and the function that drops it —
    for module-scoped fixtures (the function-scoped one is conftest's pg_url)."""
    import uuid

    import sqlalchemy as sa

    admin = os.environ.get("KIKAN_TEST_PG_URL")
    if not admin:
        unavailable(os.environ.get("KIKAN_TEST_PG_UNAVAILABLE") or "no PostgreSQL server (set KIKAN_TEST_PG_URL)")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(admin.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()
    return f"{admin.rsplit('/', 1)[0]}/{name}", drop
