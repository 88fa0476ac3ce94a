"""Write canonical text back in a vendor's code space through the gaiji register.

The inverse of resolution: each identified register character (its Unicode text, IVS
included) becomes the vendor's private-use code point again, then the text is encoded the
way Windows writes CP932 (user-defined area F040–F9FC for U+E000–U+E757). Re-reading such
a file through the same register gives back exactly the canonical text.
"""
from __future__ import annotations

import re
from pathlib import Path

from .cp932 import encode_cp932_windows
from .register import IDENTIFIED, GaijiRegister


class VendorEncoder:
    def __init__(self, text_to_pua: dict[str, str]) -> None:
        self.text_to_pua = text_to_pua
        # Longest sequence first, so a base character with an IVS wins over the bare character.
        keys = sorted(text_to_pua, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    @classmethod
    def from_register(cls, path: str | Path | GaijiRegister, source_system: str | None = None) -> "VendorEncoder":
        reg = path if isinstance(path, GaijiRegister) else GaijiRegister.load(path)
        mapping: dict[str, str] = {}
        for r in reg.rows:
            if r.status != IDENTIFIED or not r.pua or not r.ucs:
                continue
            if source_system and r.source_system != source_system:
                continue
            mapping.setdefault(r.ucs_text, r.pua_char)
        return cls(mapping)

    def to_vendor_text(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.text_to_pua[m.group(0)], text)

    def encode_cp932(self, text: str) -> bytes:
        """Raises CP932EncodeError (with the position) for a character neither CP932 nor the register holds."""
        return encode_cp932_windows(self.to_vendor_text(text))
