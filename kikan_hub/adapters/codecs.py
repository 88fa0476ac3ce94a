"""Codec registry: the declared encoding of a legacy file → a strict codec.

A codec never replaces or drops bytes: :meth:`Codec.decode` raises :class:`DecodeFailure`
with the byte position of the first byte it cannot decode. Codecs are looked up by name
(``get_codec("cp932")``); new ones are registered with ``register_codec(name, factory)``.

Built in: ``cp932`` (Python's cp932: the Windows code page with NEC row 13, NEC-selected and
IBM extensions and the user-defined area F0–F9 → U+E000–U+E757), ``shift_jis``, ``euc_jp``,
``utf-8``, and ``ibm930`` (EBCDIC katakana + DBCS with shift-out/shift-in, table driven from
the ICU ``ibm-930`` mapping file found under the reference data directory).

Stateful, table-driven mainframe encodings (IBM 930/939/1390/1399, Fujitsu JEF, Hitachi KEIS,
NEC JIPS) implement the same :class:`Codec` protocol; :class:`ShiftedDbcsCodec` is the base:
give it a single-byte table, a double-byte table and the shift codes.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable


class CodecError(LookupError):
    """Unknown codec name (the message lists the known ones) or a codec that cannot be built."""


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


@runtime_checkable
class Codec(Protocol):
    """A strict codec.

    ``ascii_compatible``: bytes 0x00–0x7F decode to U+0000–U+007F one to one, and bytes below
    0x40 never occur inside a multi-byte character (so 0x0A, 0x0D, 0x22, 0x2C split records and
    fields safely at byte level). ``stateful``: shift codes change the meaning of later bytes; a
    field is decoded starting in the initial (single-byte) state. ``newline``: the bytes that
    decode to "\\n" and reset the state; the reader appends them to every field of a block to
    decode a whole column at once. ``space``: the encoded U+0020.
    """

    name: str
    ascii_compatible: bool
    stateful: bool
    newline: bytes
    space: bytes

    def decode(self, data: bytes) -> str: ...

    def encode(self, text: str) -> bytes: ...


@dataclass(frozen=True)
class PythonCodec:
    """A codec backed by one of Python's own codecs, always with errors='strict'."""

    name: str
    python_name: str
    ascii_compatible: bool = True
    stateful: bool = False
    newline: bytes = b"\n"
    space: bytes = b" "

    def decode(self, data: bytes | bytearray | memoryview) -> str:
        try:
            return str(data, self.python_name, "strict")
        except UnicodeDecodeError as exc:
            failure = DecodeFailure(self.name, exc.start, bytes(exc.object[exc.start:max(exc.end, exc.start + 2)]),
                                    exc.reason)
        # Raised outside the except block: no __context__ keeping the whole input (exc.object) alive.
        raise failure

    def encode(self, text: str) -> bytes:
        try:
            return text.encode(self.python_name, "strict")
        except UnicodeEncodeError as exc:
            raise EncodeFailure(self.name, exc.start, text[exc.start], exc.reason) from None


class ShiftedDbcsCodec:
    """Table-driven stateful codec: single-byte mode, shift-out into double-byte mode, shift-in back.

    ``sbcs``: byte → text; ``dbcs``: 16-bit code → text (text may be several code points, e.g.
    an IVS); ``shift_out``/``shift_in``: the shift sequences (bytes; KEIS and JIPS use two).
    ``user_area``: (low, high) double-byte range decoded to the Private Use Area from U+E000
    upwards when the table has no entry (gaiji), or None.
    """

    stateful = True
    ascii_compatible = False

    def __init__(self, name: str, sbcs: dict[int, str], dbcs: dict[int, str], shift_out: bytes = b"\x0e",
                 shift_in: bytes = b"\x0f", user_area: tuple[int, int] | None = None,
                 newline: str = "\n") -> None:
        self.name = name
        self.sbcs = dict(sbcs)
        self.dbcs = dict(dbcs)
        self.shift_out = shift_out
        self.shift_in = shift_in
        self.user_area = user_area
        self._enc_sbcs = {v: bytes([k]) for k, v in sorted(self.sbcs.items(), reverse=True)}
        self._enc_dbcs = {v: k.to_bytes(2, "big") for k, v in sorted(self.dbcs.items(), reverse=True)}
        nl = [k for k, v in self.sbcs.items() if v == newline]
        self.newline = bytes([min(nl)]) if nl else b"\n"
        sp = [k for k, v in self.sbcs.items() if v == " "]
        self.space = bytes([min(sp)]) if sp else b" "
        # bytes.translate fast path for runs of single-byte characters
        self._sb_table = [self.sbcs.get(i) for i in range(256)]

    def _pua(self, code: int) -> str | None:
        if self.user_area is None:
            return None
        lo, hi = self.user_area
        if not lo <= code <= hi:
            return None
        # rows of 94 (or 190) cells are packed densely from U+E000
        lo_lead, lo_trail = lo >> 8, lo & 0xFF
        hi_trail = hi & 0xFF
        per_row = hi_trail - lo_trail + 1
        idx = ((code >> 8) - lo_lead) * per_row + ((code & 0xFF) - lo_trail)
        if not 0 <= (code & 0xFF) - lo_trail < per_row:
            return None
        cp = 0xE000 + idx
        return chr(cp) if cp <= 0xF8FF else None

    def decode(self, data: bytes | bytearray | memoryview) -> str:
        data = bytes(data)
        out: list[str] = []
        i, n = 0, len(data)
        so, si = self.shift_out, self.shift_in
        dbcs_mode = False
        sb = self._sb_table
        while i < n:
            if not dbcs_mode:
                j = data.find(so, i)
                end = n if j < 0 else j
                for k in range(i, end):
                    ch = sb[data[k]]
                    if ch is None:
                        raise DecodeFailure(self.name, k, data[k:k + 1], "unmapped single-byte code")
                    out.append(ch)
                if j < 0:
                    break
                i = j + len(so)
                dbcs_mode = True
            else:
                if data.startswith(si, i):
                    i += len(si)
                    dbcs_mode = False
                    continue
                if i + 1 >= n:
                    raise DecodeFailure(self.name, i, data[i:i + 2], "truncated double-byte character or missing shift-in")
                code = (data[i] << 8) | data[i + 1]
                ch = self.dbcs.get(code) or self._pua(code)
                if ch is None:
                    raise DecodeFailure(self.name, i, data[i:i + 2], "unmapped double-byte code")
                out.append(ch)
                i += 2
        if dbcs_mode:
            raise DecodeFailure(self.name, n - 1 if n else 0, data[-1:], "missing shift-in at end of data")
        return "".join(out)

    def encode(self, text: str) -> bytes:
        out = bytearray()
        dbcs_mode = False
        for pos, ch in enumerate(text):
            b = self._enc_sbcs.get(ch)
            if b is not None:
                if dbcs_mode:
                    out += self.shift_in
                    dbcs_mode = False
                out += b
                continue
            d = self._enc_dbcs.get(ch)
            if d is None and self.user_area and 0xE000 <= ord(ch) <= 0xF8FF:
                d = self._pua_encode(ord(ch))
            if d is None:
                raise EncodeFailure(self.name, pos, ch, "no mapping")
            if not dbcs_mode:
                out += self.shift_out
                dbcs_mode = True
            out += d
        if dbcs_mode:
            out += self.shift_in
        return bytes(out)

    def _pua_encode(self, cp: int) -> bytes | None:
        lo, hi = self.user_area  # type: ignore[misc]
        lo_lead, lo_trail, hi_trail = lo >> 8, lo & 0xFF, hi & 0xFF
        per_row = hi_trail - lo_trail + 1
        idx = cp - 0xE000
        code = ((lo_lead + idx // per_row) << 8) | (lo_trail + idx % per_row)
        return code.to_bytes(2, "big") if code <= hi else None


# --------------------------------------------------------------------------- registry

CodecFactory = Callable[[], Codec]
_FACTORIES: dict[str, CodecFactory] = {}
_CACHE: dict[str, Codec] = {}
_LOCK = threading.Lock()


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register_codec(name: str, factory: CodecFactory, aliases: tuple[str, ...] = ()) -> None:
    """Register a codec factory under ``name`` (and aliases); the factory is called once, lazily."""
    with _LOCK:
        for n in (name, *aliases):
            _FACTORIES[_norm(n)] = factory
            _CACHE.pop(_norm(n), None)


def known_codecs() -> list[str]:
    return sorted(_FACTORIES)


def get_codec(name: str) -> Codec:
    """The codec registered under ``name`` (case and _/- insensitive). Unknown → CodecError listing known names."""
    if not isinstance(name, str) or not name.strip():
        raise CodecError(f"no encoding given; known encodings: {', '.join(known_codecs())}")
    key = _norm(name)
    with _LOCK:
        codec = _CACHE.get(key)
        if codec is not None:
            return codec
        factory = _FACTORIES.get(key)
    if factory is None:
        raise CodecError(f"unknown encoding {name!r}; known encodings: {', '.join(known_codecs())}")
    try:
        codec = factory()
    except CodecError:
        raise
    except Exception as exc:  # a table file missing, unreadable …
        raise CodecError(f"encoding {name!r} cannot be loaded: {exc}") from exc
    with _LOCK:
        _CACHE[key] = codec
    return codec


register_codec("cp932", lambda: PythonCodec("cp932", "cp932"), aliases=("windows-31j", "ms932", "windows-932"))
register_codec("shift_jis", lambda: PythonCodec("shift_jis", "shift_jis"), aliases=("sjis", "shift-jis"))
register_codec("euc_jp", lambda: PythonCodec("euc_jp", "euc_jp"), aliases=("eucjp",))
register_codec("utf-8", lambda: PythonCodec("utf-8", "utf-8"), aliases=("utf8",))


# --------------------------------------------------------------------------- IBM 930 from ICU tables


def reference_data_dir() -> Path:
    """Where the official tables live: $KIKAN_REFERENCE_DATA (no default: the hub never guesses a folder)."""
    env = os.environ.get("KIKAN_REFERENCE_DATA")
    if not env:
        raise CodecError("IBM930 needs the ICU table ibm-930*.ucm: set KIKAN_REFERENCE_DATA to the folder holding enc/ucm/")
    return Path(env)


def parse_ucm(path: Path) -> tuple[dict[int, str], dict[int, str]]:
    """Read an ICU .ucm mapping file: (single-byte decode table, double-byte decode table).

    Only round-trip (|0) and decode-only (|3) mappings are used for decoding; the first
    round-trip mapping of a code wins.
    """
    sbcs: dict[int, str] = {}
    dbcs: dict[int, str] = {}
    in_map = False
    with path.open(encoding="ascii", errors="strict") as fh:
        for line in fh:
            line = line.strip()
            if line == "CHARMAP":
                in_map = True
                continue
            if line == "END CHARMAP":
                break
            if not in_map or not line.startswith("<U"):
                continue
            uni_part, _, rest = line.partition(" ")
            rest = rest.strip()
            bytes_part, _, flag = rest.partition("|")
            flag = flag.strip()
            if flag not in ("0", "3"):
                continue  # |1 = encode-only fallback, |2 = substitution, |4 = reverse fallback
            text = "".join(chr(int(u, 16)) for u in uni_part.replace("<U", " ").replace(">", " ").split() if u)
            bs = bytes(int(b, 16) for b in bytes_part.strip().replace("\\x", " ").split())
            table = sbcs if len(bs) == 1 else dbcs
            code = int.from_bytes(bs, "big")
            if flag == "0" or code not in table:
                table[code] = text
    return sbcs, dbcs


def _ibm930() -> Codec:
    base = reference_data_dir() / "enc" / "ucm"
    files = sorted(base.glob("ibm-930*.ucm"))
    if not files:
        raise CodecError(f"IBM930 needs the ICU table ibm-930*.ucm under {base} (set KIKAN_REFERENCE_DATA)")
    sbcs, dbcs = parse_ucm(files[0])
    return ShiftedDbcsCodec("ibm930", sbcs, dbcs, shift_out=b"\x0e", shift_in=b"\x0f", user_area=(0x6941, 0x7FFE))


register_codec("ibm930", _ibm930, aliases=("ibm-930", "cp930"))
