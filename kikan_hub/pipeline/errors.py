"""Errors that stop a run before anything is loaded; the CLI prints them and exits 2."""
from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """A manifest, layout, mapping or input problem, with the file it concerns."""

    def __init__(self, path: str | Path | None, message: str) -> None:
        self.path = Path(path) if path else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class RunOutputError(ConfigError):
    """The run's own output (reports, summary) could not be written; says whether the store was loaded."""
