"""Errors of the handover package: each names the file / table / record / item to act on."""
from __future__ import annotations


class HandoverError(Exception):
    """A user-facing handover problem (bad option, unreadable file, value that does not fit …)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.message = message
        self.problems = list(problems or [])
        text = message if not self.problems else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)
