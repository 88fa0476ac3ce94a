"""Errors raised while loading layout definitions: always name the file and the problem."""
from __future__ import annotations

from pathlib import Path


class LayoutError(Exception):
    """A layout, mapping or code-table file a user must fix; str() is the user-facing message."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")
