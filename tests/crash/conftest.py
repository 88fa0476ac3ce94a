"""Fixtures of the crash harness: two small extracts (A, B) that replace each other, a warm fork
runner, and the reference stores of uninterrupted runs (fresh SQLite)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crash_harness import PROJECT, Runner, snapshot

RESIDENTS = 300


def _sample(out: Path, seed: int) -> Path:
    subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "sample", "--residents", str(RESIDENTS), "--out",
                    str(out), "--seed", str(seed)], cwd=PROJECT, check=True, capture_output=True,
                   env={**os.environ, "KIKAN_FAULT_AT": ""})
    return out / "manifest.yaml"


@pytest.fixture(scope="session")
def extracts(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("crash_extracts")
    return {"A": _sample(base / "A", 11), "B": _sample(base / "B", 12)}


@pytest.fixture(scope="session")
def runner(extracts):
    r = Runner(extracts["A"])
    yield r
    r.close()


@pytest.fixture(scope="session")
def references(extracts, runner, tmp_path_factory) -> dict[str, object]:
    """Each extract's uninterrupted run into a fresh SQLite store: the state every crash must converge to."""
    base = tmp_path_factory.mktemp("crash_refs")
    refs = {}
    for name, manifest in extracts.items():
        url = f"sqlite:///{base / name}.db"
        res = runner.run(manifest, url, base / f"run_{name}")
        assert res["exit"] == 0, res["log"]
        refs[name] = snapshot(url)
        refs[name + "_seconds"] = res["seconds"]
    assert refs["A"].content != refs["B"].content
    return refs
