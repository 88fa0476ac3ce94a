"""Run directories hold personal data (staging Parquet, quarantine with raw records and 個人番号):
they are created owner-only, whatever the process umask — directories 0700, files 0600."""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask, and an existing directory keeps its own
    return path


def private_file(path: Path) -> Path:
    """Create (or truncate) ``path`` as 0600 before a writer opens it, so no byte is ever world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path
