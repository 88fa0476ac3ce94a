"""An alarm when a file's bytes, taken as a whole, contradict its declared encoding.

The declared encoding is always the one used to decode; this module never chooses a decoder.
It looks at a bounded prefix of the file and raises an alarm (returns a message) only when the
evidence is overwhelming: the bytes are clearly UTF-8 while a Japanese legacy encoding is
declared, clearly EBCDIC while an ASCII-based encoding is declared (or the reverse), or a
large share of the records do not decode at all. A handful of bad records, CP932 gaiji
(user-defined area F0–F9) and NEC/IBM extension characters in an otherwise valid file never
raise it: those are the reader's business (READ-DECODE) and the gaiji stage's.
charset-normalizer is consulted only as a second opinion for the UTF-8 and EBCDIC families.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from kikan_hub.adapters.codecs import Codec, DecodeFailure, get_codec

SAMPLE_BYTES = 1 << 20
BAD_LINE_SHARE = 0.2      # more than this share of sampled lines undecodable → alarm
MIN_UTF8_MULTIBYTE = 8    # at least this many multi-byte UTF-8 sequences to call a file UTF-8
EBCDIC_FAMILY = {"cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140", "cp1250_ebcdic"}


def _read_sample(path: Path, limit: int) -> bytes:
    with Path(path).open("rb") as fh:
        return fh.read(limit)


def _utf8_multibyte_count(sample: bytes) -> int | None:
    """Number of multi-byte UTF-8 sequences if the sample is valid UTF-8 (a cut tail allowed), else None."""
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end < len(sample) - 3 or exc.reason != "unexpected end of data":
            return None
        text = sample[: exc.start].decode("utf-8")
    return sum(1 for ch in text if ord(ch) > 0x7F)


def _lines(sample: bytes, full: bool, ascii_based: bool) -> list[bytes]:
    lines = sample.split(b"\n")
    if not full and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sample limit
    lines = [ln.rstrip(b"\r") for ln in lines if ln.strip(b"\r\x1a")]
    if len(lines) < 4:
        # few or no terminators (fixed-length blocks, a header and one record): judge ~256-byte slices instead
        lines = _slices(sample, ascii_based)
        if not full and len(lines) > 1:
            lines = lines[:-1]
    return lines


def _slices(sample: bytes, ascii_based: bool, size: int = 256) -> list[bytes]:
    """Pieces of about ``size`` bytes. In an ASCII-based encoding each cut moves on to just after a byte
    below 0x40: never inside a multi-byte character of CP932, EUC-JP or UTF-8 (their later bytes are
    0x40 or above), so a cut character is not taken for a bad byte."""
    if not ascii_based:
        return [sample[i:i + size] for i in range(0, len(sample), size)]
    after_safe = np.flatnonzero(np.frombuffer(sample, dtype=np.uint8) < 0x40) + 1
    cuts = [0]
    while cuts[-1] + size < len(sample):
        j = int(np.searchsorted(after_safe, cuts[-1] + size))
        if j >= len(after_safe) or after_safe[j] >= len(sample):
            break
        cuts.append(int(after_safe[j]))
    cuts.append(len(sample))
    return [sample[a:b] for a, b in zip(cuts, cuts[1:])]


_PUA = re.compile("[\ue000-\uf8ff]")


def _decode_lines(lines: list[bytes], codec: Codec) -> tuple[float, float]:
    """(share of lines that do not decode, share of private-use characters in those that do)."""
    if not lines:
        return 0.0, 0.0
    bad = 0
    texts = []
    for ln in lines:
        try:
            texts.append(codec.decode(ln))
        except DecodeFailure as exc:
            # a multi-byte character cut by a 256-byte slice is not evidence
            if not (exc.position >= len(ln) - 3 and "incomplete" in exc.reason):
                bad += 1
    text = "".join(texts)
    # one regex over the sample, not a Python loop per character (5 s of a 97-file manifest's preflight)
    pua = len(_PUA.findall(text))
    return bad / len(lines), (pua / len(text) if text else 0.0)


def _ebcdic_score(sample: bytes) -> tuple[float, float]:
    """(share of EBCDIC-looking bytes: 0x40 spaces, C1–F9 letters/digits; share of ASCII spaces/digits/newlines)."""
    if not sample:
        return 0.0, 0.0
    arr = np.frombuffer(sample, dtype=np.uint8)
    n = len(arr)
    ebcdic_space = np.count_nonzero(arr == 0x40) / n
    ebcdic_alnum = np.count_nonzero((arr >= 0xC1) & (arr <= 0xF9)) / n
    # ASCII digits, spaces and line ends: common in any ASCII-based file, control codes in EBCDIC
    ascii_ws = np.count_nonzero((arr == 0x20) | (arr == 0x0A) | (arr == 0x0D) | ((arr >= 0x30) & (arr <= 0x39))) / n
    return ebcdic_space + ebcdic_alnum, ascii_ws


def _normalizer_guess(sample: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - it is a dependency, but an alarm must never break a run
        return None
    try:
        best = from_bytes(sample[: 256 << 10]).best()
    except Exception:  # noqa: BLE001 - a second opinion only
        return None
    return best.encoding if best is not None else None


def _msg(declared: str, ja: str, en: str) -> str:
    return (f"宣言された文字コード {declared} とファイルの内容が一致しません: {ja}。マニフェストの encoding を確認してください。"
            f" / The bytes contradict the declared encoding {declared}: {en}. Check the manifest's encoding.")


def check_declared_encoding(path: str | Path, declared: str, sample_bytes: int = SAMPLE_BYTES) -> str | None:
    """A human message (Japanese + English) when the file contradicts ``declared``, else None."""
    codec = get_codec(declared)
    path = Path(path)
    sample = _read_sample(path, sample_bytes)
    if not sample:
        return None
    full = path.stat().st_size <= len(sample)
    name = codec.name
    ebcdic_share, ascii_ws = _ebcdic_score(sample)
    non_ascii = np.count_nonzero(np.frombuffer(sample, dtype=np.uint8) >= 0x80)

    if codec.ascii_compatible:
        if name != "utf-8" and non_ascii:
            mb = _utf8_multibyte_count(sample)
            if mb is not None and mb >= MIN_UTF8_MULTIBYTE:
                return _msg(name, f"UTF-8 として {mb} 文字の多バイト文字がすべて正しく読めます (UTF-8 のファイルです)",
                            f"all {mb} multi-byte sequences are valid UTF-8; this looks like a UTF-8 file")
        share, pua = _decode_lines(_lines(sample, full, ascii_based=True), codec)
        if ebcdic_share > 0.4 and ascii_ws < 0.03 and (pua > 0.05 or share > BAD_LINE_SHARE):
            return _msg(name, f"EBCDIC の空白 (0x40) と英数字 (0xC1–0xF9) がバイトの {ebcdic_share:.0%} を占め、ASCII の数字や改行がなく、"
                              f"{name} として読むと外字領域の文字が {pua:.0%} になります (EBCDIC のファイルです)",
                        f"EBCDIC spaces (0x40) and letters/digits (0xC1–0xF9) make up {ebcdic_share:.0%} of the bytes, "
                        f"and read as {name} {pua:.0%} of the characters fall in the private-use area; "
                        f"this looks like an EBCDIC file")
        if share > BAD_LINE_SHARE:
            return _msg(name, f"先頭 {len(sample):,} バイトのレコードの {share:.0%} が {name} として読めません",
                        f"{share:.0%} of the records in the first {len(sample):,} bytes do not decode as {name}")
        if pua > 0.2:
            return _msg(name, f"{name} として読むと外字領域の文字が {pua:.0%} を占めます",
                        f"read as {name}, {pua:.0%} of the characters fall in the private-use (gaiji) area")
        guess = (_normalizer_guess(sample) or "").lower().replace("-", "_")
        if guess in EBCDIC_FAMILY and ebcdic_share > 0.4 and ascii_ws < 0.03:
            return _msg(name, f"charset-normalizer も EBCDIC ({guess}) と判定しています",
                        f"charset-normalizer also takes it for EBCDIC ({guess})")
        return None

    # an EBCDIC (or other non-ASCII-based) encoding is declared
    if ascii_ws > 0.15:
        return _msg(name, f"ASCII の数字・空白・改行がバイトの {ascii_ws:.0%} を占めます (EBCDIC ではなく ASCII 系のファイルです)",
                    f"ASCII digits, spaces and newlines make up {ascii_ws:.0%} of the bytes; this looks like an ASCII-based "
                    f"file (cp932, UTF-8 …), not EBCDIC")
    if codec.stateful:
        return None  # records of a stateful encoding cannot be cut from a sample without the layout
    share, _pua = _decode_lines(_lines(sample, full, ascii_based=False), codec)
    if share > BAD_LINE_SHARE:
        return _msg(name, f"先頭 {len(sample):,} バイトの {share:.0%} が {name} として読めません",
                    f"{share:.0%} of the first {len(sample):,} bytes do not decode as {name}")
    return None
