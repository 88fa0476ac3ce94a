"""CP932 as Windows writes it. The policy (which code for which character) is data:
``cp932_policy.yaml``; this module applies it on top of CPython's strict ``cp932`` codec.

CPython's encoder differs from Windows for 373 characters of the IBM extensions (it writes the
NEC-selected ED/EE codes); the overlay here is computed from the codec itself (decode the two
areas the policy names and pair equal characters), so no table is copied from anywhere.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from .codes import parse_ucs
from .errors import GaijiError

POLICY_PATH = Path(__file__).with_name("cp932_policy.yaml")


@dataclass(frozen=True)
class EncodeNote:
    position: int
    char: str
    code: str          # hex bytes written
    reason: str


class CP932EncodeError(GaijiError):
    def __init__(self, position: int, char: str, reason: str) -> None:
        self.position, self.char, self.reason = position, char, reason
        super().__init__(f"position {position}: U+{ord(char):04X} {char!r} cannot be written in CP932 ({reason})")


@functools.lru_cache(maxsize=1)
def load_policy() -> dict:
    with open(POLICY_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _codes(first: str, last: str):
    lo, hi = int(first, 16), int(last, 16)
    for code in range(lo, hi + 1):
        if 0x40 <= (code & 0xFF) <= 0xFC and (code & 0xFF) != 0x7F:
            yield code


@functools.lru_cache(maxsize=1)
def overlay() -> dict[str, bytes]:
    """Character → the bytes Windows writes, where CPython's cp932 writes something else."""
    pol = load_policy()
    out: dict[str, bytes] = {}
    for dup in pol["duplicates"]:
        if "nec_selected" not in dup:
            continue
        ibm: dict[str, bytes] = {}
        for code in _codes(dup["ibm"]["first"], dup["ibm"]["last"]):
            b = code.to_bytes(2, "big")
            try:
                ibm.setdefault(b.decode("cp932"), b)
            except UnicodeDecodeError:
                continue
        for code in _codes(dup["nec_selected"]["first"], dup["nec_selected"]["last"]):
            b = code.to_bytes(2, "big")
            try:
                ch = b.decode("cp932")
            except UnicodeDecodeError:
                continue
            if ch.encode("cp932") == b and ch in ibm:
                out[ch] = ibm[ch]
    for pair in pol["pairs"]:
        jis, cp = parse_ucs(pair["jis"]), parse_ucs(pair["cp932"])
        code = bytes.fromhex(pair["code"])
        if cp.encode("cp932") != code:
            raise GaijiError(f"cp932_policy.yaml: {pair['cp932']} does not encode to {pair['code']} in CPython's cp932")
        if pair["jis_on_encode"] == "map":
            out[jis] = code
    return out


@functools.lru_cache(maxsize=1)
def _rejected() -> dict[str, str]:
    return {parse_ucs(p["jis"]): f"{p['jis_name']}: policy jis_on_encode=reject"
            for p in load_policy()["pairs"] if p["jis_on_encode"] == "reject"}


@functools.lru_cache(maxsize=1)
def _jis_forms() -> dict[str, dict]:
    return {parse_ucs(p["jis"]): p for p in load_policy()["pairs"]}


def encode_cp932_windows(text: str, notes: list[EncodeNote] | None = None) -> bytes:
    """Encode as Windows writes CP932 (IBM extensions FA/FB/FC, not ED/EE).

    Characters that have no CP932 code raise :class:`CP932EncodeError` (never a replacement).
    JIS-form characters of the seven pairs are written per policy; when ``notes`` is given,
    each such substitution is appended to it."""
    ov = overlay()
    rejected = _rejected()
    jis_forms = _jis_forms()
    out = bytearray()
    for i, ch in enumerate(text):
        if ch in rejected:
            raise CP932EncodeError(i, ch, rejected[ch])
        b = ov.get(ch)
        if b is None:
            try:
                b = ch.encode("cp932")
            except UnicodeEncodeError:
                raise CP932EncodeError(i, ch, "no CP932 code") from None
        elif notes is not None and ch in jis_forms:
            p = jis_forms[ch]
            notes.append(EncodeNote(i, ch, p["code"], f"{p['jis_name']} → {p['code']} (reads back as {p['cp932_name']})"))
        out += b
    return bytes(out)


def decode_cp932(data: bytes) -> str:
    """Strict CP932 decode (what Windows reads); user-defined codes become U+E000–U+E757."""
    return data.decode("cp932")
