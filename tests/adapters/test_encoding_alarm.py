"""The declared-encoding alarm: loud on whole-file contradictions, silent on a few bad records and gaiji."""
import random

import pytest

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.adapters.encoding_alarm import check_declared_encoding

NAMES = ["山田　太郎", "佐藤　花子", "髙橋　一郎", "渡邊　美咲", "斎藤　翔", "ﾔﾏﾀﾞ ﾀﾛｳ", "東京都千代田区丸の内１丁目"]


def records(n=400, seed=1):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append(f"2{i:010d}{rnd.choice(NAMES)}　　　　{rnd.randint(0, 99999):05d}")
    return out


def write(tmp_path, data: bytes, name="f.dat"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def cp932_file(extra: bytes = b""):
    return b"".join(r.encode("cp932") + b"\r\n" for r in records()) + extra


def test_valid_cp932_is_silent(tmp_path):
    assert check_declared_encoding(write(tmp_path, cp932_file()), "cp932") is None


def test_cp932_with_gaiji_extensions_and_a_few_bad_records_is_silent(tmp_path):
    recs = [r.encode("cp932") for r in records()]
    for i in range(0, len(recs), 40):                 # gaiji in every 40th record (F0-F9 user area)
        recs[i] += b"\xf0\x40\xf5\x9f\xf9\xfc"
    for i in range(5, len(recs), 50):                 # NEC row 13, NEC-selected IBM and IBM extensions
        recs[i] += "①№".encode("cp932") + b"\xed\x40\xfa\x40\xfb\xfc"
    for i in (3, 77, 150):                            # a few broken records
        recs[i] += b"\x82\x0d\xff"
    data = b"".join(r + b"\r\n" for r in recs)
    assert check_declared_encoding(write(tmp_path, data), "cp932") is None


def test_utf8_declared_as_cp932_alarms(tmp_path):
    data = b"".join(r.encode("utf-8") + b"\n" for r in records())
    msg = check_declared_encoding(write(tmp_path, data), "cp932")
    assert msg and "UTF-8" in msg and "cp932" in msg
    assert check_declared_encoding(write(tmp_path, data, "u.dat"), "utf-8") is None


def test_cp932_declared_as_utf8_alarms(tmp_path):
    msg = check_declared_encoding(write(tmp_path, cp932_file()), "utf-8")
    assert msg and "utf-8" in msg


def test_ebcdic_declared_as_cp932_alarms(tmp_path):
    c = get_codec("ibm930")
    data = b"".join(c.encode(r).ljust(80, b"\x40") for r in records())   # fixed blocks, no terminators
    p = write(tmp_path, data)
    msg = check_declared_encoding(p, "cp932")
    assert msg and "EBCDIC" in msg
    assert check_declared_encoding(p, "ibm930") is None
    # and an ASCII-based file declared as EBCDIC
    assert "ASCII" in (check_declared_encoding(write(tmp_path, cp932_file(), "a.dat"), "ibm930") or "")


def test_only_a_bounded_prefix_is_read(tmp_path):
    data = cp932_file() * 100 + b"\xff" * 10_000   # garbage after the sampled prefix is the reader's business
    assert len(data) > (1 << 20)
    assert check_declared_encoding(write(tmp_path, data), "cp932") is None


@pytest.mark.parametrize("data", [b"", b"\r\n", b"ABC"])
def test_tiny_files(tmp_path, data):
    assert check_declared_encoding(write(tmp_path, data), "cp932") is None


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_a_header_and_one_record_is_silent(tmp_path, encoding):
    """A small vendor CSV (a long Japanese header line and one record: too few lines, so judged in
    slices) is not taken for the wrong encoding because a slice cut a character in two."""
    header = ",".join(["年度", "入居番号", "宛名番号", "収入申告日", "世帯の所得 (年額)",
                       "控除額 (同居親族・老人・障害者 等)", "政令月収", "収入分位", "家賃算定基礎額",
                       "算定した家賃 (月額)", "家賃の減免額", "決定した家賃 (月額)", "収入認定日", "処理日"] * 2)
    bom = "\ufeff" if encoding == "utf-8" else ""

    def file(pad: int) -> bytes:
        return (bom + "x" * pad + header + "\r\n2023,0000000001,0001000861,,124171,191248,250364,2,231955,57213,,"
                "197556,2019/07/04,2022/02/16\r\n").encode(encoding)

    def cuts_a_character(data: bytes) -> bool:
        try:
            data[:256].decode(encoding)
            return False
        except UnicodeDecodeError:
            return True

    data = next(file(pad) for pad in range(4) if cuts_a_character(file(pad)))   # byte 256 is inside a character
    assert check_declared_encoding(write(tmp_path, data, "f.csv"), encoding) is None
    other = "cp932" if encoding == "utf-8" else "utf-8"
    assert check_declared_encoding(write(tmp_path, data, "f.csv"), other) is not None
