"""Codec registry: strict codecs, positions of bad bytes, CP932 vs Shift_JIS, gaiji, IBM930 from ICU tables."""
import shutil
import subprocess

import pytest

from kikan_hub.adapters.codecs import (CodecError, DecodeFailure, EncodeFailure, PythonCodec, get_codec,
                                       known_codecs, register_codec)


@pytest.mark.parametrize("name", ["cp932", "shift_jis", "euc_jp", "utf-8", "CP932", "Shift-JIS", "utf8"])
def test_builtin_codecs_round_trip(name):
    c = get_codec(name)
    text = "山田　太郎 ABC 123"
    assert c.decode(c.encode(text)) == text


def test_unknown_codec_lists_known_ones():
    with pytest.raises(CodecError) as ei:
        get_codec("ebcdic-klingon")
    assert "ebcdic-klingon" in str(ei.value)
    for k in ("cp932", "shift-jis", "euc-jp", "utf-8"):
        assert k in str(ei.value)


def test_decode_failure_position():
    c = get_codec("cp932")
    with pytest.raises(DecodeFailure) as ei:
        c.decode(b"abc\x82\x0adef")
    assert ei.value.position == 3
    assert ei.value.data.startswith(b"\x82")
    with pytest.raises(DecodeFailure) as ei:
        c.decode("あいう".encode("cp932") + b"\x81")  # truncated lead byte at the end
    assert ei.value.position == 6


def test_never_replaces():
    with pytest.raises(DecodeFailure):
        get_codec("utf-8").decode(b"\xff")
    with pytest.raises(EncodeFailure):
        get_codec("shift_jis").encode("①")  # NEC row 13: CP932 only
    assert get_codec("cp932").encode("①") == b"\x87\x40"


def test_cp932_is_not_shift_jis():
    # 0x8160 is WAVE DASH in Shift_JIS but FULLWIDTH TILDE in CP932; 0x817C minus sign likewise
    assert get_codec("cp932").decode(b"\x81\x60") == "\uff5e"
    assert get_codec("shift_jis").decode(b"\x81\x60") == "\u301c"
    assert get_codec("cp932").decode(b"\x81\x7c") == "\uff0d"
    assert get_codec("shift_jis").decode(b"\x81\x7c") == "\u2212"


def test_cp932_gaiji_and_extensions():
    c = get_codec("cp932")
    assert c.decode(b"\xf0\x40") == "\ue000"          # first user-defined code point
    assert c.decode(b"\xf9\xfc") == "\ue757"          # last one
    assert c.decode(b"\xfa\x40") == "\u2170"          # IBM extension ⅰ
    assert c.decode(b"\xed\x40") == "\u7e8a"          # NEC-selected IBM extension 纊
    assert c.decode(b"\x87\x82") == "\u2116"          # NEC row 13 №


def test_register_custom_codec():
    register_codec("test-latin1", lambda: PythonCodec("test-latin1", "latin-1"))
    assert "test-latin1" in known_codecs()
    assert get_codec("TEST_LATIN1").decode(b"\xe9") == "é"


@pytest.fixture
def ibm930():
    return get_codec("ibm930")  # compiled into the package: no reference data needed


def test_ibm930_basics(ibm930):
    assert ibm930.stateful and not ibm930.ascii_compatible
    # SBCS part is EBCDIC (katakana variant): digits F0-F9, space 40
    assert ibm930.decode(b"\xf1\xf2\xf3\x40") == "123 "
    text = "ﾔﾏﾀﾞ 山田太郎 123"
    enc = ibm930.encode(text)
    assert b"\x0e" in enc and b"\x0f" in enc
    assert ibm930.decode(enc) == text
    with pytest.raises(DecodeFailure) as ei:
        ibm930.decode(b"\xf1\x0e\x45")  # truncated double-byte character
    assert ei.value.position == 2
    with pytest.raises(DecodeFailure, match="shift-in"):
        ibm930.decode(b"\x0e" + ibm930.encode("山")[1:3])


def _oracle(data: bytes) -> str | None:
    if shutil.which("uconv"):
        p = subprocess.run(["uconv", "-f", "ibm-930", "-t", "utf-8", "--callback", "stop"], input=data,
                           capture_output=True)
        if p.returncode == 0:
            return p.stdout.decode("utf-8")
    if shutil.which("iconv"):
        p = subprocess.run(["iconv", "-f", "IBM930", "-t", "UTF-8"], input=data, capture_output=True)
        if p.returncode == 0:
            return p.stdout.decode("utf-8")
    return None


def test_ibm930_against_uconv_or_iconv(ibm930):
    if not (shutil.which("uconv") or shutil.which("iconv")):
        pytest.skip("neither uconv nor iconv here")
    text = "ｼﾞｭｳｼｮ 東京都千代田区丸の内１丁目 ABC 0123456789 髙橋 斎藤 渡邊"
    sample = ibm930.encode(text)
    expected = _oracle(sample)
    assert expected is not None
    assert ibm930.decode(sample) == expected
    # the whole double-byte table: every code we decode, the oracle decodes the same way
    codes = sorted(ibm930.dbcs)[::7]
    blob = b"\x0e" + b"".join(c.to_bytes(2, "big") for c in codes) + b"\x0f"
    ours = ibm930.decode(blob)
    theirs = _oracle(blob)
    assert theirs is not None and ours == theirs
