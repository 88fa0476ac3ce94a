from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from kikan_hub.validation.synthetic import build  # noqa: E402


@pytest.fixture(scope="module")
def planted():
    return build(households=400, seed=11)
