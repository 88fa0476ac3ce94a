"""Errors raised while loading layout definitions: always name the file and the problem."""
from __future__ import annotations

from pathlib import Path


class LayoutError(Exception):
    """A layout, mapping or code-table file a user must fix; str() is the user-facing message.

    ``message`` names what is wrong and where inside the file (record type, field, line);
    ``path`` is the file. ``str(exc)`` is ``"<path>: <message>"``.
    """

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")
