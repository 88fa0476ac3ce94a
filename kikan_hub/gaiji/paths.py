"""Where things live: the hub's data directory and the reference data (read by path, never copied)."""
from __future__ import annotations

import os
from pathlib import Path

MJ_INDEX_FILE = "mj_index.sqlite"


def data_dir(explicit: str | Path | None = None) -> Path:
    """KIKAN_DATA_DIR, default ./var (relative to the working directory)."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("KIKAN_DATA_DIR", "var"))


def reference_data(explicit: str | Path | None = None) -> Path | None:
    """The official reference files: the explicit path, else KIKAN_REFERENCE_DATA, else None.

    No default folder: the hub reads what the user points it at, never a path beside the project.
    """
    if explicit:
        return Path(explicit)
    env = os.environ.get("KIKAN_REFERENCE_DATA")
    return Path(env) if env else None


def default_mj_index_path(explicit_data_dir: str | Path | None = None) -> Path:
    return data_dir(explicit_data_dir) / MJ_INDEX_FILE
