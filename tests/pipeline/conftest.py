"""A small clean sample extract (60 residents, no planted defects), generated once per session;
each test gets its own copy to change."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sample_copy import copy_sample, generate_sample  # noqa: E402


@pytest.fixture(scope="session")
def clean_sample60(tmp_path_factory) -> Path:
    return generate_sample(tmp_path_factory.mktemp("clean60") / "extract", residents=60, defect_rate=0.0)


@pytest.fixture
def clean_copy(clean_sample60, tmp_path) -> Path:
    return copy_sample(clean_sample60, tmp_path / "extract")
