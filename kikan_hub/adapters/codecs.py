"""Codec registry: the declared encoding of a legacy file → a strict codec.

A codec never replaces or drops bytes: :meth:`Codec.decode` raises :class:`DecodeFailure`
with the byte position of the first byte it cannot decode. Codecs are looked up by name
(``get_codec("cp932")``); new ones are registered with ``register_codec(name, factory)``.

Built in: ``cp932`` (Python's cp932: the Windows code page with NEC row 13, NEC-selected and
IBM extensions and the user-defined area F0–F9 → U+E000–U+E757), ``shift_jis``, ``euc_jp``,
``utf-8``, and the stateful mainframe encodings of ``codec_tables/codecs.yaml``: IBM 930, 939,
1390, 1399 (ICU tables), Fujitsu JEF (+EBCDIK / EBCDIC / ASCII), Hitachi KEIS 78 / 83 (+EBCDIK /
EBCDIC), NEC JIPS(J) / JIPS(E) (jef4j tables). Their tables ship compiled inside the package
(``codec_tables/tables.npz``); no reference folder is needed. A mainframe encoding may carry
vendor options after a colon, ``jef-ebcdik:ivs=hd,decode_only=no`` (see ``codec_tables``); the
codec's ``name`` spells the options that differ from the defaults, so a run records them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

from kikan_hub.adapters import codec_tables
from kikan_hub.adapters.codec_errors import DecodeFailure, EncodeFailure
from kikan_hub.adapters.shifted import PureDbcsCodec, ShiftedDbcsCodec

__all__ = ["Codec", "CodecError", "DecodeFailure", "EncodeFailure", "PythonCodec", "PureDbcsCodec",
           "ShiftedDbcsCodec", "codec_info", "get_codec", "known_codecs", "register_codec"]


class CodecError(LookupError):
    """Unknown codec name (the message lists the known ones) or a codec that cannot be built."""


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


# --------------------------------------------------------------------------- registry

CodecFactory = Callable[[], Codec]
_FACTORIES: dict[str, CodecFactory] = {}
_OPTION_FACTORIES: dict[str, Callable[[str], Codec]] = {}
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
    """The codec registered under ``name`` (case and _/- insensitive), with vendor options after a
    colon for the mainframe encodings (``jef-ebcdik:ivs=hd``). Unknown → CodecError listing known names."""
    if not isinstance(name, str) or not name.strip():
        raise CodecError(f"no encoding given; known encodings: {', '.join(known_codecs())}")
    base, colon, opts = name.partition(":")
    key = _norm(base) + (":" + opts.strip().lower() if colon else "")
    with _LOCK:
        codec = _CACHE.get(key)
        if codec is not None:
            return codec
        factory = _FACTORIES.get(_norm(base))
        option_factory = _OPTION_FACTORIES.get(_norm(base))
    if factory is None:
        raise CodecError(f"unknown encoding {base.strip()!r}; known encodings: {', '.join(known_codecs())}")
    if colon and option_factory is None:
        raise CodecError(f"encoding {base.strip()!r} takes no options (got {opts!r})")
    try:
        codec = option_factory(opts) if colon else factory()
    except CodecError:
        raise
    except codec_tables.TableError as exc:
        raise CodecError(str(exc)) from None
    except Exception as exc:  # a table file missing, unreadable …
        raise CodecError(f"encoding {name!r} cannot be loaded: {exc}") from exc
    with _LOCK:
        _CACHE[key] = codec
    return codec


register_codec("cp932", lambda: PythonCodec("cp932", "cp932"), aliases=("windows-31j", "ms932", "windows-932"))
register_codec("shift_jis", lambda: PythonCodec("shift_jis", "shift_jis"), aliases=("sjis", "shift-jis"))
register_codec("euc_jp", lambda: PythonCodec("euc_jp", "euc_jp"), aliases=("eucjp",))
register_codec("utf-8", lambda: PythonCodec("utf-8", "utf-8"), aliases=("utf8",))




# --------------------------------------------------------------------------- mainframe encodings


def _mainframe(spec_name: str, option_text: str = "") -> ShiftedDbcsCodec:
    """Build a stateful mainframe codec from the shipped tables and the declared options."""
    spec = codec_tables.specs()[spec_name]
    family = spec["family"]
    opts = codec_tables.parse_options(spec_name, family, option_text)
    if family == "ibm":
        ents = codec_tables.entries(spec["table"])
        sb_ents = [e for e in ents if e.nbytes == 1]
        db_ents = [e for e in ents if e.nbytes == 2]
    else:
        sb_ents = codec_tables.entries(spec["sbcs_table"])
        db_ents = codec_tables.entries(spec["dbcs_table"])
    sb_dec, sb_enc, _ = codec_tables.select(sb_ents, opts)
    db_dec, db_enc, _ = codec_tables.select(db_ents, opts, pua_fallbacks=family == "ibm")
    gaiji = codec_tables.gaiji_map(spec)
    for code, ch in gaiji.items():
        if code not in db_dec:
            db_dec[code] = ch
            db_enc.setdefault(ch, code)
    if spec.get("byte_map"):  # JIPS(E): every byte of a double-byte code travels as its EBCDIK image
        m = codec_tables.arrays()[f"{spec['byte_map']}.map"]

        def wire(code: int) -> int:
            return (int(m[code >> 8]) << 8) | int(m[code & 0xFF])

        db_dec = {wire(c): t for c, t in db_dec.items()}
        db_enc = {t: wire(c) for t, c in db_enc.items()}
    name = spec_name + codec_tables.option_suffix(opts)
    return ShiftedDbcsCodec(name, sb_dec, db_dec, shift_out=tuple(bytes.fromhex(s) for s in spec["shift_out"]),
                            shift_in=bytes.fromhex(spec["shift_in"]), description=spec.get("description", ""),
                            aliases=tuple(spec.get("aliases", ())), gaiji_area=str((spec.get("gaiji") or {}).get("area", "")),
                            options=opts, encode_sbcs=sb_enc, encode_dbcs=db_enc)


def _register_mainframe() -> None:
    for spec_name, spec in codec_tables.specs().items():
        aliases = tuple(spec.get("aliases", ()))
        register_codec(spec_name, lambda s=spec_name: _mainframe(s), aliases=aliases)
        for n in (spec_name, *aliases):
            _OPTION_FACTORIES[_norm(n)] = lambda text, s=spec_name: _mainframe(s, text)


_register_mainframe()


def codec_info() -> list[dict[str, Any]]:
    """One row per registered encoding (for ``kikan codecs list``): name, aliases, stateful, gaiji area,
    options. Building the codecs is not needed: the mainframe rows come from codecs.yaml."""
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    mainframe = codec_tables.specs()
    groups: dict[int, list[str]] = {}
    for n, f in _FACTORIES.items():
        groups.setdefault(id(f), []).append(n)
    for names in groups.values():
        primary = next((n for n in names if n in mainframe), None)
        if primary is not None:
            spec = mainframe[primary]
            allowed = codec_tables.IBM_OPTIONS if spec["family"] == "ibm" else (*codec_tables.BOOL_OPTIONS, "ivs")
            rows.append({"name": primary, "aliases": [a for a in names if a != primary], "stateful": True,
                         "gaiji_area": str((spec.get("gaiji") or {}).get("area", "")),
                         "description": spec.get("description", ""),
                         "options": {k: codec_tables.DEFAULTS[k] for k in allowed}})
            continue
        codec = get_codec(names[0])
        if id(codec) in seen:
            continue
        seen.add(id(codec))
        rows.append({"name": codec.name, "aliases": [a for a in names if a != _norm(codec.name)],
                     "stateful": bool(codec.stateful),
                     "gaiji_area": "F040-F9FC" if codec.name == "cp932" else "",
                     "description": getattr(codec, "description", "") or f"Python codec {getattr(codec, 'python_name', '')}",
                     "options": {}})
    return sorted(rows, key=lambda r: r["name"])
