"""The two failures of a strict codec (kept apart so the table-driven engines can raise them
without importing the registry)."""
from __future__ import annotations


class DecodeFailure(ValueError):
    """Bytes the codec cannot decode. ``position`` is the 0-based offset of the first bad byte
    inside the data given to ``decode``; ``data`` the offending bytes (a few)."""

    def __init__(self, encoding: str, position: int, data: bytes, reason: str) -> None:
        self.encoding = encoding
        self.position = position
        self.data = data
        self.reason = reason
        super().__init__(f"cannot decode {data.hex(' ').upper()} as {encoding} at byte {position}: {reason}")


class EncodeFailure(ValueError):
    """Text the codec cannot encode. ``position`` is the character index."""

    def __init__(self, encoding: str, position: int, char: str, reason: str) -> None:
        self.encoding = encoding
        self.position = position
        self.char = char
        self.reason = reason
        super().__init__(f"cannot encode {char!r} (U+{ord(char):04X}) as {encoding} at character {position}: {reason}")
