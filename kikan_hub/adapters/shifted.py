"""The engine of the stateful mainframe codecs: single-byte mode, a shift into double-byte mode,
a shift back — IBM 930/939/1390/1399 (SO 0x0E / SI 0x0F), Fujitsu JEF (0x28 or 0x38 / 0x29),
Hitachi KEIS (0x0A42 / 0x0A41), NEC JIPS (0x1A70 / 0x1A71, 0x3F75 / 0x3F76).

Decoding is vectorised with numpy (one pass of array operations over the whole input instead of
a Python step per byte), so a column of values joined by the codec's newline decodes at about
the speed of Python's own multibyte codecs; short inputs take a plain Python path that gives the
same result. Strict: an unmapped byte, a double-byte character cut by a shift or the end, or a
missing shift back at the end raises :class:`DecodeFailure` naming the byte offset — nothing is
ever replaced. A redundant shift (a shift into the mode already current) is accepted, as ICU does.

:class:`PureDbcsCodec` reads the same double-byte table without any shift codes (COBOL
``PIC N`` / ``PIC G`` fields).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from kikan_hub.adapters.codec_errors import DecodeFailure, EncodeFailure

UNMAPPED = np.uint32(0xFFFFFFFF)
_MULTI = 0x80000000  # table value flag: index into the list of multi-code-point texts
_SMALL = 192         # below this many bytes the Python path is faster than numpy's fixed costs


def _table(entries: Mapping[int, str], size: int, multi: list[str]) -> np.ndarray:
    tbl = np.full(size, UNMAPPED, dtype=np.uint32)
    for code, text in entries.items():
        if len(text) == 1:
            tbl[code] = ord(text)
        else:
            tbl[code] = _MULTI | len(multi)
            multi.append(text)
    return tbl


def _to_text(vals: np.ndarray, multi: list[str]) -> str:
    """uint32 code points (some flagged as multi-code-point texts) → str."""
    flagged = np.flatnonzero(vals & _MULTI)
    if not len(flagged):
        return vals.astype("<u4", copy=False).tobytes().decode("utf-32-le")
    pieces: list[str] = []
    prev = 0
    for k in flagged.tolist():
        pieces.append(vals[prev:k].astype("<u4", copy=False).tobytes().decode("utf-32-le"))
        pieces.append(multi[int(vals[k]) & ~_MULTI])
        prev = k + 1
    pieces.append(vals[prev:].astype("<u4", copy=False).tobytes().decode("utf-32-le"))
    return "".join(pieces)


class ShiftedDbcsCodec:
    """Table-driven stateful codec.

    ``sbcs``: byte → text; ``dbcs``: 16-bit code → text (text may be several code points, e.g. a
    kanji with its variation selector). ``shift_out``: the sequence(s) into double-byte mode (one
    bytes or a tuple: JEF has two); the first is written when encoding. ``shift_in``: back to
    single-byte. Two-byte shift sequences must start with a byte that is never part of a
    double-byte character (true of KEIS 0x0A and JIPS 0x1A / 0x3F). ``user_area`` (kept for
    callers of the first version): (low, high) double-byte range decoded to the Private Use Area
    from U+E000 upwards where the table has no entry, row by row. ``encode_sbcs`` /
    ``encode_dbcs``: text → code for encoding when it is not simply the inverse of the decode
    tables (decode-only and encode-only entries).
    """

    stateful = True
    ascii_compatible = False
    joinable = True  # decode_column may join a whole column with ``newline`` and decode it at once

    def __init__(self, name: str, sbcs: Mapping[int, str], dbcs: Mapping[int, str],
                 shift_out: bytes | tuple[bytes, ...] = b"\x0e", shift_in: bytes = b"\x0f",
                 user_area: tuple[int, int] | None = None, newline: str = "\n",
                 description: str = "", aliases: tuple[str, ...] = (), gaiji_area: str = "",
                 options: Mapping[str, object] | None = None, encode_sbcs: Mapping[str, int] | None = None,
                 encode_dbcs: Mapping[str, int] | None = None) -> None:
        self.name = name
        self.description = description
        self.aliases = aliases
        self.gaiji_area = gaiji_area
        self.options = dict(options or {})
        self.shift_outs = (shift_out,) if isinstance(shift_out, bytes) else tuple(shift_out)
        self.shift_out = self.shift_outs[0]
        self.shift_in = shift_in
        self.user_area = user_area
        dbcs = dict(dbcs)
        if user_area is not None:
            dbcs = {**_legacy_user_area(user_area), **dbcs}
        shift_lens = {len(s) for s in (*self.shift_outs, shift_in)}
        if len(shift_lens) != 1:
            raise ValueError("shift sequences must all have the same length")
        self._shift_len = shift_lens.pop()
        self._shift_lead = self.shift_in[0] if self._shift_len == 2 else None
        if self._shift_len == 2 and any(s[0] != self._shift_lead for s in self.shift_outs):
            raise ValueError("two-byte shift sequences must share their first byte")
        # a single-byte shift code is never a character
        shift_bytes = {s[0] for s in (*self.shift_outs, shift_in)} if self._shift_len == 1 else set()
        self.sbcs = {k: v for k, v in sbcs.items() if k not in shift_bytes}
        self.dbcs = dbcs
        self._multi: list[str] = []
        self._sb = _table(self.sbcs, 256, self._multi)
        self._db = _table(self.dbcs, 65536, self._multi)
        self._sb_py = [self.sbcs.get(i) for i in range(256)]
        if encode_sbcs is None:
            self._enc_sb = {v: bytes([k]) for k, v in sorted(self.sbcs.items(), reverse=True)}
        else:
            self._enc_sb = {t: bytes([k]) for t, k in encode_sbcs.items() if k not in shift_bytes}
        if encode_dbcs is None:
            self._enc_db = {v: k.to_bytes(2, "big") for k, v in sorted(self.dbcs.items(), reverse=True)}
        else:
            self._enc_db = {t: k.to_bytes(2, "big") for t, k in encode_dbcs.items() if t not in self._enc_sb}
        self._enc_long = {t for t in (*self._enc_sb, *self._enc_db) if len(t) > 1}
        self._enc_max = max((len(t) for t in self._enc_long), default=1)
        nl = [k for k, v in self.sbcs.items() if v == newline]
        self.newline = bytes([min(nl)]) if nl else b"\n"
        sp = [k for k, v in self.sbcs.items() if v == " "]
        self.space = bytes([min(sp)]) if sp else b" "
        if self._shift_len == 1:
            self._is_shift = np.zeros(256, dtype=bool)
            self._is_shift[list(shift_bytes)] = True
            self._is_so = np.zeros(256, dtype=bool)
            self._is_so[[s[0] for s in self.shift_outs]] = True
        else:
            self._so2 = np.zeros(256, dtype=bool)
            self._so2[[s[1] for s in self.shift_outs]] = True
            self._si2 = shift_in[1]
        self._pure: PureDbcsCodec | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # ------------------------------------------------------------------ decode

    def decode(self, data: bytes | bytearray | memoryview) -> str:
        data = bytes(data)
        if len(data) < _SMALL:
            return self._decode_py(data)
        return self._decode_np(data)

    def _decode_py(self, data: bytes) -> str:
        """The reference path: one step per character."""
        out: list[str] = []
        i, n = 0, len(data)
        sl = self._shift_len
        outs, si = self.shift_outs, self.shift_in
        dbcs_mode = False
        sb, db = self._sb_py, self.dbcs
        while i < n:
            if sl == 1 or data[i] == self._shift_lead:
                seq = data[i:i + sl]
                if seq in outs:
                    dbcs_mode = True
                    i += sl
                    continue
                if seq == si:
                    dbcs_mode = False
                    i += sl
                    continue
            if not dbcs_mode:
                ch = sb[data[i]]
                if ch is None:
                    raise DecodeFailure(self.name, i, data[i:i + 1], "unmapped single-byte code")
                out.append(ch)
                i += 1
                continue
            if i + 1 >= n or (sl == 1 and data[i + 1:i + 2] in (*outs, si)) or \
                    (sl == 2 and data[i + 1] == self._shift_lead and data[i + 1:i + 3] in (*outs, si)):
                raise DecodeFailure(self.name, i, data[i:i + 2],
                                    "truncated double-byte character or missing shift-in")
            ch = db.get((data[i] << 8) | data[i + 1])
            if ch is None:
                raise DecodeFailure(self.name, i, data[i:i + 2], "unmapped double-byte code")
            out.append(ch)
            i += 2
        if dbcs_mode:
            raise DecodeFailure(self.name, max(n - 1, 0), data[-1:], "missing shift-in at end of data")
        return "".join(out)

    def _decode_np(self, data: bytes) -> str:
        a = np.frombuffer(data, dtype=np.uint8)
        n = len(a)
        pos = np.arange(n, dtype=np.int64)
        if self._shift_len == 1:
            shift = self._is_shift[a]
            so_at = self._is_so[a]
            content = ~shift
            marker = np.where(shift, pos, -1)
        else:
            lead = np.zeros(n, dtype=bool)
            lead[:-1] = a[:-1] == self._shift_lead
            so_at = np.zeros(n, dtype=bool)
            so_at[:-1] = lead[:-1] & self._so2[a[1:]]
            si_at = np.zeros(n, dtype=bool)
            si_at[:-1] = lead[:-1] & (a[1:] == self._si2)
            shift = so_at | si_at
            content = ~shift
            content[1:] &= ~shift[:-1]
            marker = np.where(shift, pos + 1, -1)  # the run starts after the marker's last byte
        last = np.maximum.accumulate(marker)
        if self._shift_len == 1:
            in_db = (last >= 0) & so_at[np.maximum(last, 0)]
        else:
            in_db = (last >= 0) & so_at[np.maximum(last - 1, 0)]
        db_content = in_db & content
        if not db_content.any():
            vals = self._sb[a[content]]
            return self._finish(vals, np.flatnonzero(content), data)
        # double-byte runs: a lead byte is at an even distance from its run's first byte (last + 1)
        lead_mask = db_content & (((pos - last) & 1) == 1)
        leads = np.flatnonzero(lead_mask)
        trail_ok = np.zeros(len(leads), dtype=bool)
        inb = leads + 1 < n
        trail_ok[inb] = db_content[leads[inb] + 1]
        sb_mask = content & ~in_db
        starts = sb_mask | lead_mask
        idx = np.flatnonzero(starts)
        vals = np.empty(len(idx), dtype=np.uint32)
        is_lead = lead_mask[idx]
        li = idx[is_lead]
        safe_trail = np.minimum(li + 1, n - 1)
        vals[is_lead] = self._db[(a[li].astype(np.uint32) << 8) | a[safe_trail]]
        vals[~is_lead] = self._sb[a[idx[~is_lead]]]
        # the first failure of any kind, so that a caller decoding joined values finds the first bad one
        failures: list[tuple[int, int, str]] = []
        if not trail_ok.all():
            failures.append((int(leads[np.argmin(trail_ok)]), 2, "truncated double-byte character or missing shift-in"))
        bad = vals == UNMAPPED
        if bad.any():
            j = int(np.argmax(bad))
            failures.append((int(idx[j]), 2 if is_lead[j] else 1,
                             "unmapped double-byte code" if is_lead[j] else "unmapped single-byte code"))
        if in_db[-1]:
            failures.append((n - 1, 1, "missing shift-in at end of data"))
        if failures:
            k, width, reason = min(failures)
            raise DecodeFailure(self.name, k, data[k:k + width], reason)
        return _to_text(vals, self._multi)

    def _finish(self, vals: np.ndarray, idx: np.ndarray, data: bytes) -> str:
        bad = vals == UNMAPPED
        if bad.any():
            k = int(idx[np.argmax(bad)])
            raise DecodeFailure(self.name, k, data[k:k + 1], "unmapped single-byte code")
        return _to_text(vals, self._multi)

    # ------------------------------------------------------------------ encode

    def encode(self, text: str) -> bytes:
        out = bytearray()
        dbcs_mode = False
        i, n = 0, len(text)
        enc_sb, enc_db, longs = self._enc_sb, self._enc_db, self._enc_long
        while i < n:
            ch = None
            if longs:
                for width in range(min(self._enc_max, n - i), 1, -1):
                    if text[i:i + width] in longs:
                        ch = text[i:i + width]
                        break
            if ch is None:
                ch = text[i]
            b = enc_sb.get(ch)
            if b is not None:
                if dbcs_mode:
                    out += self.shift_in
                    dbcs_mode = False
                out += b
            else:
                d = enc_db.get(ch)
                if d is None:
                    raise EncodeFailure(self.name, i, text[i], "no mapping")
                if not dbcs_mode:
                    out += self.shift_out
                    dbcs_mode = True
                out += d
            i += len(ch)
        if dbcs_mode:
            out += self.shift_in
        return bytes(out)

    def dbcs_only(self) -> "PureDbcsCodec":
        """The double-byte table alone, without shift codes (PIC N / PIC G fields)."""
        if self._pure is None:
            self._pure = PureDbcsCodec(self)
        return self._pure


class PureDbcsCodec:
    """Double-byte characters only, no shift codes (COBOL PIC N / PIC G). ``newline`` is a pair
    of the base codec's newline byte, which no double-byte table maps, so a column of values can
    still be decoded joined."""

    stateful = False
    ascii_compatible = False
    joinable = True

    def __init__(self, base: ShiftedDbcsCodec) -> None:
        self.base = base
        self.name = f"{base.name}/dbcs"
        self.newline = base.newline * 2
        self._db = base._db.copy()
        self._nl_code = int.from_bytes(self.newline, "big")
        if self._db[self._nl_code] != UNMAPPED:
            raise ValueError(f"{base.name}: the newline pair {self.newline.hex()} is a double-byte character")
        self._db[self._nl_code] = 0x0A
        sp = base._enc_db.get("\u3000")
        self.space = sp if sp is not None else b"\x40\x40"

    def decode(self, data: bytes | bytearray | memoryview) -> str:
        data = bytes(data)
        n = len(data)
        if n % 2:
            raise DecodeFailure(self.name, n - 1, data[-1:], "odd number of bytes in a double-byte field")
        codes = np.frombuffer(data, dtype=">u2")
        vals = self._db[codes]
        bad = vals == UNMAPPED
        if bad.any():
            k = int(np.argmax(bad)) * 2
            raise DecodeFailure(self.name, k, data[k:k + 2], "unmapped double-byte code")
        text = _to_text(vals, self.base._multi)
        return text

    def encode(self, text: str) -> bytes:
        enc = self.base.encode(text)
        out = bytearray()
        si, so = self.base.shift_in, self.base.shift_outs
        i = 0
        in_db = False
        pos = 0
        while i < len(enc):
            seq = enc[i:i + len(si)]
            if seq in so:
                in_db = True
                i += len(seq)
                continue
            if seq == si:
                in_db = False
                i += len(seq)
                continue
            if not in_db:
                raise EncodeFailure(self.name, pos, text[min(pos, len(text) - 1)],
                                    "a single-byte character in a double-byte (PIC N/G) field")
            out += enc[i:i + 2]
            i += 2
            pos += 1
        return bytes(out)


def _legacy_user_area(area: tuple[int, int]) -> dict[int, str]:
    """The first version's PUA rule: rows of (high trail − low trail + 1) cells packed from U+E000."""
    lo, hi = area
    lo_lead, lo_trail, hi_trail = lo >> 8, lo & 0xFF, hi & 0xFF
    per_row = hi_trail - lo_trail + 1
    out: dict[int, str] = {}
    for lead in range(lo_lead, (hi >> 8) + 1):
        for trail in range(lo_trail, hi_trail + 1):
            cp = 0xE000 + (lead - lo_lead) * per_row + (trail - lo_trail)
            if cp <= 0xF8FF:
                out[(lead << 8) | trail] = chr(cp)
    return out
