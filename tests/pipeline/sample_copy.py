"""A small sample extract, generated once per module and copied per test, and helpers to run it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def generate_sample(out: Path, residents: int = 200, seed: int = 5, defect_rate: float | None = None) -> Path:
    from kikan_hub.sample.generator import SampleOptions, generate

    opts = {"residents": residents, "out": out, "seed": seed}
    if defect_rate is not None:
        opts["defect_rate"] = defect_rate
    generate(SampleOptions(**opts))
    return out


def copy_sample(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def kikan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", *args], capture_output=True, text=True,
                          cwd=PROJECT, env={**os.environ, "COLUMNS": "200"})


def rehearse_in_process(sample: Path, tmp: Path, store: str | None = None):
    from kikan_hub.pipeline.manifest import load_manifest
    from kikan_hub.pipeline.rehearsal import rehearse

    m = load_manifest(sample / "manifest.yaml")
    return rehearse(m, store or f"sqlite:///{tmp / 'store.db'}", tmp / "run")


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, count), encoding="utf-8")
