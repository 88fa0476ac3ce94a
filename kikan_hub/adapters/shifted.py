"""The engine of the stateful mainframe codecs: single-byte mode, a shift into double-byte mode,
a shift back — IBM 930/939/1390/1399 (SO 0x0E / SI 0x0F), Fujitsu JEF (0x28 or 0x38 / 0x29),
Hitachi KEIS (0x0A42 / 0x0A41), NEC JIPS (0x1A70 / 0x1A71, 0x3F75 / 0x3F76).

Decoding is vectorised with numpy (a few array operations over pieces of up to 128 KiB instead
of a Python step per byte), so a column of values joined by the codec's newline decodes at about
0.4–0.5 of the speed of Python's own C codec for cp932 (bench/codecs.py, blocks of 1,000 records;
docs/mainframe-encodings.md); short inputs take a plain Python
path that gives the same result (tests compare the two). Strict: an unmapped byte, a double-byte character cut by a shift or the end, or a
missing shift back at the end raises :class:`DecodeFailure` naming the byte offset — nothing is
ever replaced. A redundant shift (a shift into the mode already current) is accepted, as ICU does.

:class:`PureDbcsCodec` reads the same double-byte table without any shift codes (COBOL
``PIC N`` / ``PIC G`` fields).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from kikan_hub.adapters.codec_errors import DecodeFailure, EncodeFailure

# Decoded values are UTF-16 code units. Two lone low surrogates (never a character, and never
# preceded by a high surrogate since no table maps to one) flag the exceptions, so the final
# utf-16 decode itself detects them at no extra cost: UNMAPPED, and SPECIAL (a text beyond one
# BMP code point — an astral kanji, a kanji with its variation selector — looked up by code).
UNMAPPED = 0xDFFF
SPECIAL = 0xDC00
_SMALL = 192         # below this many bytes the Python path is faster than numpy's fixed costs
_CHUNK = 128 << 10   # the vectorised path works on pieces of about this size (CPU cache; measured
                     # 32–256 KiB alike, smaller pieces pay numpy's fixed costs per call)


def _table16(entries: Mapping[int, str], size: int) -> np.ndarray:
    tbl = np.full(size, UNMAPPED, dtype=np.uint16)
    for code, text in entries.items():
        simple = len(text) == 1 and ord(text) <= 0xFFFF and not 0xD800 <= ord(text) <= 0xDFFF
        tbl[code] = ord(text) if simple else SPECIAL
    return tbl


def _utf16(units: np.ndarray) -> str | None:
    """UTF-16LE units → str, or None when a flag (lone low surrogate) is among them."""
    try:
        return units.astype("<u2", copy=False).tobytes().decode("utf-16-le")
    except UnicodeDecodeError:
        return None


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
        self._sb16 = _table16(self.sbcs, 256)
        self._maps_feff = "\ufeff" in self.sbcs.values() or "\ufeff" in self.dbcs.values()
        self._db16 = _table16(self.dbcs, 65536)
        # two single-byte characters at once: the 16-bit little-endian word of a byte pair → the
        # pair of their values as one 32-bit word (one gather per two bytes instead of one per byte);
        # a one-byte shift code reads as U+FEFF here, to be dropped with the trail bytes
        self._sb16_run = self._sb16.copy()
        self._sb16_run[sorted(shift_bytes)] = 0xFEFF
        sb32 = self._sb16_run.astype(np.uint32)
        word = np.arange(65536, dtype=np.uint32)
        self._sb_pair = sb32[word & 0xFF] | (sb32[word >> 8] << 16)
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
            self._shift_codes = sorted(shift_bytes)
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
        n = len(data)
        if n < _SMALL:
            return self._decode_py(data)
        if n <= _CHUNK:
            return self._decode_np(data)
        # Cache-sized pieces (measured ~10x faster than one pass over megabytes), each ending just
        # after a shift back to single-byte mode, where decoding may start afresh.
        pieces: list[str] = []
        start = 0
        while start < n:
            cut = data.find(self.shift_in, start + _CHUNK) if n - start > _CHUNK else -1
            end = n if cut < 0 else cut + len(self.shift_in)
            try:
                pieces.append(self._decode_np(data[start:end]) if end - start >= _SMALL
                              else self._decode_py(data[start:end]))
            except DecodeFailure as exc:
                raise DecodeFailure(self.name, start + exc.position, exc.data, exc.reason) from None
            start = end
        return "".join(pieces)

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
        """Vectorised decode. The input is cut into items — runs of single-byte characters, shift
        sequences, runs of double-byte characters — of which there are few (a handful a record);
        per-byte work is a few passes over uint8 arrays and two table gathers."""
        a = np.frombuffer(data, dtype=np.uint8)
        n = len(a)
        # (memory traffic and numpy's per-call costs are what counts; measured: np.take rather than
        # fancy getitem, ndarray setitem rather than np.put, np.compress rather than boolean indexing)
        if self._shift_len == 1:
            mask = a == self._shift_codes[0]
            for b in self._shift_codes[1:]:
                mask |= a == b
            spos = np.flatnonzero(mask)
            is_so = np.take(self._is_so, np.take(a, spos))
        else:
            cand = np.flatnonzero(a[:-1] == self._shift_lead)
            second = np.take(a, cand + 1)
            so_c = self._so2[second]
            keep_c = so_c | (second == self._si2)
            spos, is_so = cand[keep_c], so_c[keep_c]
        k = len(spos)
        vals = self._sb_values(data, a)
        if k == 0:
            text = _utf16(vals)
            return text if text is not None else self._checked(vals, None, data, None)
        ml = self._shift_len
        # items: run0, shift0, run1, shift1, …, run_k; a run after a shift-out is double-byte.
        run_start = np.empty(k + 1, dtype=np.intp)
        run_start[0] = 0
        run_start[1:] = spos + ml
        run_end = np.empty(k + 1, dtype=np.intp)
        run_end[:-1] = spos
        run_end[-1] = n
        run_len = run_end - run_start
        failures: list[tuple[int, int, str]] = []
        dbl = np.empty(k + 1, dtype=bool)
        dbl[0] = False
        dbl[1:] = is_so
        odd = np.flatnonzero(dbl & ((run_len & 1) == 1))
        if len(odd):
            run_len = run_len.copy()
            run_len[odd] -= 1  # the unpaired last byte is not read as a lead
            j = int(odd[0])
            failures.append((int(run_end[j]) - 1, 2, "missing shift-in at end of data" if j == k
                             else "truncated double-byte character or missing shift-in"))
        if dbl[-1]:
            failures.append((n - 1, 1, "missing shift-in at end of data"))
        # Double-byte characters: the offsets of all lead bytes from (run start, pairs) per run, one
        # gather of lead and trail bytes, one table gather, and the values put at the lead bytes;
        # shift sequences and trail bytes become U+FEFF, dropped by one compress before the utf-16
        # decode (a table that maps U+FEFF itself takes the slower exact way).
        ds, cnt = np.compress(dbl, run_start), np.compress(dbl, run_len) >> 1
        total = int(cnt.sum())
        li = np.repeat(ds - 2 * (np.cumsum(cnt) - cnt), cnt) + np.arange(0, 2 * total, 2, dtype=np.intp)
        ti = li + 1
        code = np.take(a, li).astype(np.intp) << 8
        code |= np.take(a, ti)
        vals[li] = np.take(self._db16, code)
        vals[ti] = 0xFEFF
        if failures or self._maps_feff:
            return self._slow(vals, data, li, spos, failures)
        if ml == 2:
            vals[spos] = 0xFEFF
            vals[spos + 1] = 0xFEFF
        text = _utf16(np.compress(vals != 0xFEFF, vals))
        if text is None:
            return self._slow(vals, data, li, spos, failures)
        return text

    def _sb_values(self, data: bytes, a: np.ndarray) -> np.ndarray:
        """Every byte read as a single-byte character (UTF-16 unit, or a flag)."""
        n = len(a)
        m = n // 2
        vals = np.empty(n, dtype=np.uint16)
        pairs = np.frombuffer(data, dtype="<u2", count=m).astype(np.intp)
        np.take(self._sb_pair, pairs, out=vals[:2 * m].view("<u4"))
        if n & 1:
            vals[-1] = self._sb16_run[a[-1]]
        return vals

    def _slow(self, vals: np.ndarray, data: bytes, li: np.ndarray, spos: np.ndarray,
              failures: list[tuple[int, int, str]]) -> str:
        n = len(vals)
        keep = np.ones(n, dtype=bool)
        keep[li[li + 1 < n] + 1] = False
        for j in range(self._shift_len):
            keep[spos + j] = False
        lead = np.zeros(n, dtype=bool)
        lead[li] = True
        idx = np.flatnonzero(keep)
        return self._checked(vals[idx], idx, data, lead, failures)

    def _checked(self, vals: np.ndarray, idx: np.ndarray | None, data: bytes, lead: np.ndarray | None,
                 failures: list[tuple[int, int, str]] | None = None) -> str:
        """The slow end of the vectorised path: find the first failure, or put in the special texts.
        ``idx``: byte offset of each value (None: value i is byte i, all single-byte)."""
        failures = list(failures or [])
        bad = vals == UNMAPPED
        if bad.any():
            j = int(np.argmax(bad))
            k = int(idx[j]) if idx is not None else j
            is_lead = bool(lead[k]) if lead is not None else False
            failures.append((k, 2 if is_lead else 1,
                             "unmapped double-byte code" if is_lead else "unmapped single-byte code"))
        if failures:
            k, width, reason = min(failures)
            raise DecodeFailure(self.name, k, data[k:k + width], reason)
        pieces: list[str] = []
        prev = 0
        for j in np.flatnonzero(vals == SPECIAL).tolist():
            pieces.append(vals[prev:j].astype("<u2", copy=False).tobytes().decode("utf-16-le"))
            k = int(idx[j]) if idx is not None else j
            if lead is not None and lead[k]:
                pieces.append(self.dbcs[(data[k] << 8) | data[k + 1]])
            else:
                pieces.append(self.sbcs[data[k]])
            prev = j + 1
        pieces.append(vals[prev:].astype("<u2", copy=False).tobytes().decode("utf-16-le"))
        return "".join(pieces)

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
        self._db16 = base._db16.copy()
        self._nl_code = int.from_bytes(self.newline, "big")
        if self._db16[self._nl_code] != UNMAPPED:
            raise ValueError(f"{base.name}: the newline pair {self.newline.hex()} is a double-byte character")
        self._db16[self._nl_code] = 0x0A
        sp = base._enc_db.get("\u3000")
        self.space = sp if sp is not None else b"\x40\x40"

    def decode(self, data: bytes | bytearray | memoryview) -> str:
        data = bytes(data)
        n = len(data)
        if n % 2:
            raise DecodeFailure(self.name, n - 1, data[-1:], "odd number of bytes in a double-byte field")
        codes = np.frombuffer(data, dtype=">u2").astype(np.intp)
        vals = np.take(self._db16, codes)
        text = _utf16(vals)
        if text is not None:
            return text
        bad = vals == UNMAPPED
        if bad.any():
            k = int(np.argmax(bad)) * 2
            raise DecodeFailure(self.name, k, data[k:k + 2], "unmapped double-byte code")
        pieces: list[str] = []
        prev = 0
        for j in np.flatnonzero(vals == SPECIAL).tolist():
            pieces.append(vals[prev:j].astype("<u2", copy=False).tobytes().decode("utf-16-le"))
            pieces.append(self.base.dbcs[int(codes[j])])
            prev = j + 1
        pieces.append(vals[prev:].astype("<u2", copy=False).tobytes().decode("utf-16-le"))
        return "".join(pieces)

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
