"""The mainframe codecs against their oracles: ICU's ``uconv`` for IBM 930/939/1390/1399 (every
code both ways) and the vendors' published tables (jef4j JSON, read from the reference folder)
for JEF, KEIS and JIPS; strictness, options, gaiji areas, and decoding with no reference data."""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kikan_hub.adapters.codecs import CodecError, DecodeFailure, EncodeFailure, codec_info, get_codec
from kikan_hub.adapters import codec_tables

PROJECT = Path(__file__).resolve().parents[2]
IBM = [("ibm930", "ibm-930"), ("ibm939", "ibm-939"), ("ibm1390", "ibm-1390"), ("ibm1399", "ibm-1399")]
VENDOR = [("jef-ebcdik", "fujitsu_ebcdik", "fujitsu_jef"), ("jef-ebcdic", "fujitsu_ebcdic", "fujitsu_jef"),
          ("jef-ascii", "fujitsu_ascii", "fujitsu_jef"),
          ("keis83-ebcdik", "hitachi_ebcdik", "hitachi_keis83"), ("keis83-ebcdic", "hitachi_ebcdic", "hitachi_keis83"),
          ("keis78-ebcdik", "hitachi_ebcdik", "hitachi_keis78"), ("keis78-ebcdic", "hitachi_ebcdic", "hitachi_keis78"),
          ("jips-j", "nec_jis8", "nec_jips"), ("jips-e", "nec_ebcdik", "nec_jips")]


def _uconv() -> str:
    path = shutil.which("uconv")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("uconv (Debian icu-devtools) must be installed in CI (.ci/services.sh)")
        pytest.skip("uconv (icu-devtools) not installed")
    return path


def _run_uconv(args: list[str], data: bytes) -> bytes:
    p = subprocess.run([_uconv(), *args], input=data, capture_output=True)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


# --------------------------------------------------------------------------- no reference data


def test_decodes_with_reference_data_pointing_at_an_empty_folder(tmp_path):
    """A fresh interpreter, KIKAN_REFERENCE_DATA at an empty folder and no ../shared beside a copy
    of the package: every mainframe codec still decodes (the tables are inside the package)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    pkg = tmp_path / "site" / "kikan_hub"
    shutil.copytree(PROJECT / "kikan_hub", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import kikan_hub, sys\n"
        "from kikan_hub.adapters.codecs import get_codec\n"
        "assert kikan_hub.__file__.startswith(sys.argv[1]), kikan_hub.__file__\n"
        "for name in ('ibm930','ibm939','ibm1390','ibm1399','jef-ebcdik','keis83','keis78','jips-j','jips-e'):\n"
        "    c = get_codec(name)\n"
        "    t = '山田 太郎 ﾔﾏﾀﾞ 123' if name not in ('ibm939','ibm1399') else '山田 太郎 Yamada 123'\n"
        "    assert c.decode(c.encode(t)) == t, name\n"
        "print(get_codec('ibm1390').decode(bytes.fromhex('0e45c10f')))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(KIKAN_REFERENCE_DATA=str(empty), PYTHONPATH=str(tmp_path / "site"))
    p = subprocess.run([sys.executable, "-c", script, str(tmp_path / "site")], capture_output=True, text=True,
                       env=env, cwd=empty)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == get_codec("ibm1390").decode(bytes.fromhex("0e45c10f"))


# --------------------------------------------------------------------------- IBM against uconv


@pytest.mark.parametrize("name,icu", IBM)
def test_ibm_decodes_every_code_like_uconv(name, icu):
    """Every double-byte code (lead and trail 0x41–0xFE, and 0x4040) and every single byte, decoded
    by uconv with escapes for what it does not map: our table must give the same characters and
    fail exactly where uconv fails."""
    c = get_codec(name)
    codes = [0x4040] + [(lead << 8) | t for lead in range(0x41, 0xFF) for t in range(0x41, 0xFF)]
    blob = b"\x0e" + b"".join(x.to_bytes(2, "big") for x in codes) + b"\x0f"
    theirs = _run_uconv(["-f", icu, "-t", "utf-8", "--callback", "escape-c"], blob).decode("utf-8")
    ours = []
    for x in codes:
        try:
            ours.append(c.decode(b"\x0e" + x.to_bytes(2, "big") + b"\x0f"))
        except DecodeFailure:
            ours.append("\\x%02X\\x%02X" % (x >> 8, x & 0xFF))
    assert theirs == "".join(ours)
    singles = bytes(b for b in range(256) if b not in (0x0E, 0x0F))
    theirs = _run_uconv(["-f", icu, "-t", "utf-8", "--callback", "escape-c"], singles).decode("utf-8")
    ours = []
    for b in singles:
        try:
            ours.append(c.decode(bytes([b])))
        except DecodeFailure:
            ours.append("\\x%02X" % b)
    assert theirs == "".join(ours)
    # the vectorised path over the whole blob agrees with the per-code results
    mapped = [x for x in codes if x in c.dbcs]
    assert c.decode(b"\x0e" + b"".join(x.to_bytes(2, "big") for x in mapped) + b"\x0f") == \
        "".join(c.dbcs[x] for x in mapped)


def _icu_table_chars(table: str) -> list[str]:
    ents = codec_tables.entries(table)
    return sorted({"".join(map(chr, e.cps)) for e in ents} - {"\n"})


@pytest.mark.parametrize("name,icu", IBM)
@pytest.mark.parametrize("fallback", [False, True])
def test_ibm_encodes_every_character_like_uconv(name, icu, fallback):
    """Every character the ICU table mentions (round-trip, decode-only and encode-only fallback
    entries), each on its own line: uconv --no-fallback (our default) or --fallback (our option
    encode_only) writes the same bytes, and refuses where we refuse."""
    c = get_codec(name + (":encode_only" if fallback else ""))
    chars = _icu_table_chars(icu)
    out = _run_uconv(["-f", "utf-8", "-t", icu, "--fallback" if fallback else "--no-fallback", "--callback",
                      "escape-c"], "\n".join(chars).encode("utf-8"))
    pieces = out.split(c.newline)
    assert len(pieces) == len(chars)
    escape = c.encode("\\")
    refused = 0
    for ch, piece in zip(chars, pieces):
        try:
            ours = c.encode(ch)
        except EncodeFailure:
            refused += 1
            assert piece.startswith(escape), f"uconv encodes {ch!r} as {piece.hex()}, we refuse"
            continue
        assert ours == piece, f"{ch!r}: ours {ours.hex()} uconv {piece.hex()}"
    assert refused < len(chars) // 100


def test_ibm_user_defined_area_is_private_use():
    for name in ("ibm930", "ibm939", "ibm1390", "ibm1399"):
        c = get_codec(name)
        assert c.decode(b"\x0e\x69\x41\x0f") == "\ue000"
        assert c.encode("\ue000") == b"\x0e\x69\x41\x0f"
        assert c.decode(b"\x0e\x69\x42\x0f") == "\ue001"


def test_ibm1390_has_the_extra_kanji_930_lacks():
    extra = set(get_codec("ibm1390").dbcs.values()) - set(get_codec("ibm930").dbcs.values())
    assert len(extra) > 9000
    ch = "\u4ff1" if "\u4ff1" in extra else sorted(extra)[0]
    with pytest.raises(EncodeFailure):
        get_codec("ibm930").encode(ch)
    assert get_codec("ibm1390").decode(get_codec("ibm1390").encode(ch)) == ch


# --------------------------------------------------------------------------- vendor tables


def _vendor(reference_data: Path, table: str) -> list[dict]:
    return json.loads((reference_data / "enc" / "jef4j" / f"{table}_mapping.json").read_text(encoding="utf-8"))


def _text(e: dict, ivs: str = "none") -> str:
    t = "".join(chr(int(u, 16)) for u in e["unicode"].split()) + (chr(int(e["sp"], 16)) if "sp" in e else "")
    if ivs in e:
        t += chr(int(e[ivs], 16))
    return t


def _wire(name: str, code: str, reference_data: Path) -> bytes:
    raw = bytes.fromhex(code)
    if name != "jips-e":
        return raw
    m = {int(e["jis8"], 16): int(e["ebcdik"], 16) for e in _vendor(reference_data, "nec_jis8_ebcdik")}
    return bytes(m[b] for b in raw)


@pytest.mark.parametrize("name,sbcs,dbcs", VENDOR)
def test_vendor_codec_agrees_with_the_published_table(name, sbcs, dbcs, reference_data):
    """Every entry of the vendor table: a round-trip entry decodes to its character and that
    character encodes back to the code; a decode-only or one-way entry decodes to its character;
    an encode-only entry never decodes; an unmappable or substitute entry fails to decode. Codes the
    table gives two different round-trip characters are the only exceptions, and are errors."""
    c = get_codec(name)
    so, si = c.shift_out, c.shift_in
    table = _vendor(reference_data, dbcs)
    dup: dict[str, set[str]] = {}
    round_trip_codes: dict[str, int] = {}
    for e in table:
        dup.setdefault(e["code"], set()).add(_text(e))
        if not e["options"]:
            round_trip_codes[_text(e)] = round_trip_codes.get(_text(e), 0) + 1
    checked = 0
    for e in table:
        opts = set(e["options"])
        data = so + _wire(name, e["code"], reference_data) + si
        if opts & {"unmappable", "substitution"} or e["unicode"] == "FFFD":
            if not opts - {"unmappable", "substitution", "oneway"} and len(dup[e["code"]]) == 1:
                with pytest.raises(DecodeFailure):
                    c.decode(data)
            continue
        if opts & {"encode_only", "cjk_ci"}:
            continue  # another entry of the same code decodes; checked there
        text = _text(e)
        if len(dup[e["code"]]) > 1 and not opts:
            try:
                got = c.decode(data)
            except DecodeFailure:
                continue  # ambiguous in the table: refused, never guessed
            assert got in dup[e["code"]]
            continue
        assert c.decode(data) == text, (e, c.decode(data))
        if not opts:
            assert c.decode(c.encode(text)) == text
            if round_trip_codes[text] == 1 and len(c.encode(text)) != 1:  # (a single-byte form wins)
                assert c.encode(text) == data, e
        checked += 1
    assert checked > 6000
    # the single-byte table
    sb_table = _vendor(reference_data, sbcs)
    sb_dup: dict[str, set[str]] = {}
    for e in sb_table:
        if "encode_only" not in e["options"]:
            sb_dup.setdefault(e["code"], set()).add(_text(e))
    for e in sb_table:
        b = bytes.fromhex(e["code"])
        if b in (so[:1], si[:1]) and len(so) == 1:
            continue  # the shift codes themselves
        opts = set(e["options"])
        if "encode_only" in opts:
            continue
        if "compatible" in opts:
            with pytest.raises(DecodeFailure):
                c.decode(b)
            assert get_codec(name + ":compatible").decode(b) == _text(e)
            continue
        if len(so) == 2 and b == so[:1]:
            continue
        if len(sb_dup[e["code"]]) > 1:  # two characters for one code in the table: refused
            with pytest.raises(DecodeFailure):
                c.decode(b)
            continue
        assert c.decode(b) == _text(e), e


def test_vendor_encode_only_entries_are_an_option(reference_data):
    c = get_codec("jef-ebcdik")
    with pytest.raises(EncodeFailure):
        c.encode("\u3099")  # COMBINING KATAKANA-HIRAGANA VOICED SOUND MARK
    assert get_codec("jef-ebcdik:encode_only").encode("\u3099") == b"\x28\xa1\xab\x29"


def test_decode_only_entries_are_an_option():
    assert get_codec("jef-ebcdik").decode(b"\x28\xa1\xa1\x29") == "\u3000"
    assert get_codec("jef-ebcdik").encode("\u3000") == b"\x28\x40\x40\x29"
    strict = get_codec("jef-ebcdik:decode_only=no")
    assert strict.name == "jef-ebcdik:decode_only=no"
    with pytest.raises(DecodeFailure) as ei:
        strict.decode(b"\xc1\x28\xa1\xa1\x29")
    assert ei.value.position == 2
    assert get_codec("keis83:decode_only=no").decode(b"\x0a\x42\x40\x40\x0a\x41") == "\u3000"


def test_ivs_alternatives_are_an_option(reference_data):
    e = next(x for x in _vendor(reference_data, "fujitsu_jef") if x["code"] == "41A5")  # 丈 variant, one-way
    plain, hd, aj1 = get_codec("jef"), get_codec("jef:ivs=hd"), get_codec("jef:ivs=aj1")
    data = b"\x28" + bytes.fromhex("41A5") + b"\x29"
    assert plain.decode(data) == "\u4e08"
    assert hd.decode(data) == "\u4e08" + chr(int(e["hd"], 16))
    assert aj1.decode(data) == "\u4e08" + chr(int(e["aj1"], 16))
    assert hd.encode("\u4e08" + chr(int(e["hd"], 16))) == data  # the variant round-trips with its selector
    assert plain.encode("\u4e08") != data                      # without, 丈 is the standard code
    with pytest.raises(DecodeFailure):
        get_codec("jef:decode_only=no").decode(data)           # a one-way entry is decode-only without ivs
    assert get_codec("jef:cjk_ci").decode(b"\x28\x42\xbb\x29") == "\ufa30"
    assert get_codec("jef").decode(b"\x28\x42\xbb\x29") == "\u4fae"


def test_unknown_options_are_refused_by_name():
    with pytest.raises(CodecError, match="unknown option 'colour'"):
        get_codec("jef-ebcdik:colour=red")
    with pytest.raises(CodecError, match="ivs must be one of"):
        get_codec("jef-ebcdik:ivs=xx")
    with pytest.raises(CodecError, match="unknown option 'ivs'"):
        get_codec("ibm1390:ivs=hd")
    with pytest.raises(CodecError, match="takes no options"):
        get_codec("cp932:ivs=hd")


@pytest.mark.parametrize("name,shift_in_code,first_pua,row2", [
    ("jef-ebcdik", "80A1", 0xE000, "81A1"), ("keis83", "81A1", 0xE000, "82A1"), ("keis78-ebcdic", "81A1", 0xE000, "82A1"),
    ("jips-j", "7421", 0xE000, "7521"), ("jips-e", "7421", 0xE000, "7521")])
def test_vendor_gaiji_areas_go_to_private_use(name, shift_in_code, first_pua, row2, reference_data):
    c = get_codec(name)
    code = _wire(name, shift_in_code, reference_data)
    assert c.decode(c.shift_out + code + c.shift_in) == chr(first_pua)
    assert c.decode(c.shift_out + _wire(name, row2, reference_data) + c.shift_in) == chr(first_pua + 94)
    assert c.encode(chr(first_pua + 94)) == c.shift_out + _wire(name, row2, reference_data) + c.shift_in


def test_jips_g1_area():
    c = get_codec("jips-j")
    assert c.decode(b"\x1a\x70\xe0\xa1\x1a\x71") == "\ue40a"
    assert c.decode(b"\x1a\x70\xfe\xfe\x1a\x71") == chr(0xE40A + 31 * 94 - 1)


# --------------------------------------------------------------------------- strictness


ALL = [n for n, _ in IBM] + [v[0] for v in VENDOR]


@pytest.mark.parametrize("name", ALL)
def test_failures_name_the_byte_offset(name):
    c = get_codec(name)
    ok = c.encode("AB" if name not in ("jips-j",) else "AB")
    kanji = c.encode("山")
    # missing shift back at the end
    with pytest.raises(DecodeFailure) as ei:
        c.decode(ok + kanji[:-len(c.shift_in)])
    assert ei.value.position == len(ok) + len(kanji) - len(c.shift_in) - 1
    # a double-byte character cut by the shift back
    cut = ok + kanji[:len(c.shift_out) + 1] + c.shift_in
    with pytest.raises(DecodeFailure) as ei:
        c.decode(cut)
    assert ei.value.position == len(ok) + len(c.shift_out)
    # the same in a long input (the vectorised path)
    long = ok * 200 + cut
    with pytest.raises(DecodeFailure) as ei:
        c.decode(long)
    assert ei.value.position == len(ok) * 201 + len(c.shift_out)
    # an unmapped double-byte code, after a good stretch
    bad = c.shift_out + b"\xff\xff" + c.shift_in
    for prefix in (ok, ok * 300):
        with pytest.raises(DecodeFailure) as ei:
            c.decode(prefix + bad + ok)
        assert ei.value.position == len(prefix) + len(c.shift_out)
        assert ei.value.data == b"\xff\xff"


@pytest.mark.parametrize("name", ALL + ["jef-ebcdik:ivs=hd,cjk_ci", "jips-e:ivs=aj1"])
def test_vectorised_and_reference_paths_agree(name):
    """Random byte strings made of real characters, shifts, redundant shifts and junk: the numpy path
    and the one-step-per-character path give the same text or fail at the same offset."""
    c = get_codec(name)
    rng = random.Random(17)
    singles = [bytes([k]) for k in sorted(c.sbcs)]
    doubles = [k.to_bytes(2, "big") for k in sorted(c.dbcs)]
    for trial in range(60):
        parts, in_db = [], False
        for _ in range(rng.randint(50, 400)):
            r = rng.random()
            if r < 0.1:
                parts.append(c.shift_out if rng.random() < 0.5 else c.shift_in)
                in_db = parts[-1] in c.shift_outs
            elif in_db:
                parts.append(rng.choice(doubles))
            else:
                parts.append(rng.choice(singles))
        if in_db:
            parts.append(c.shift_in)
        data = b"".join(parts)
        if trial % 3 == 0:
            k = rng.randrange(len(data))
            data = data[:k] + bytes([rng.randrange(256)]) + data[k + 1:]
        results = []
        for fn in (c._decode_py, c._decode_np):
            try:
                results.append(("ok", fn(data)))
            except DecodeFailure as exc:
                results.append(("fail", exc.position))
        assert results[0] == results[1], (trial, data.hex())


def test_pure_dbcs_codec():
    for name in ("ibm1390", "jef-ebcdik", "keis83", "jips-e"):
        c = get_codec(name).dbcs_only()
        data = c.encode("山田　太郎")
        assert len(data) == 10 and not set(data) & {0x0E, 0x0F, 0x28, 0x29}
        assert c.decode(data) == "山田　太郎"
        with pytest.raises(DecodeFailure) as ei:
            c.decode(data[:5])
        assert ei.value.position == 4
        with pytest.raises(EncodeFailure):
            c.encode("山A")
        with pytest.raises(DecodeFailure) as ei:
            c.decode(data[:4] + b"\xff\xff")
        assert ei.value.position == 4


def test_codec_list_rows():
    rows = {r["name"]: r for r in codec_info()}
    assert rows["ibm1390"]["stateful"] and rows["ibm1390"]["gaiji_area"] == "6941-7FFE"
    assert "jef" in rows["jef-ebcdik"]["aliases"]
    assert rows["jips-j"]["gaiji_area"].startswith("G0 7421-7E7E")
    assert rows["cp932"]["gaiji_area"] == "F040-F9FC" and not rows["cp932"]["stateful"]
    assert rows["jef-ebcdik"]["options"]["ivs"] == "none"


@pytest.mark.parametrize("name", ["ibm930", "keis83"])
def test_input_of_several_pieces(name):
    """Input longer than the vectorised path's piece is cut after shift-ins and decoded piece by
    piece: the text is the same as the one-step-per-character path's, and an unmapped code in a
    later piece is reported at its offset in the whole input."""
    from kikan_hub.adapters import shifted
    c = get_codec(name)
    rng = random.Random(5)
    words = ["山田", "太郎", "住民", "本町", "丁目", "番地"]
    recs = [f"{i:08d}ABC{rng.choice(words)}{rng.randrange(1000)}{rng.choice(words)}\n" for i in range(12_000)]
    text = "".join(recs)
    data = c.encode(text)
    assert len(data) > 2 * shifted._CHUNK
    assert c.decode(data) == text == c._decode_py(data)
    at = data.index(c.shift_out, 2 * shifted._CHUNK + 100) + len(c.shift_out)  # a lead byte, third piece
    bad = data[:at] + b"\xff\xff" + data[at + 2:]
    with pytest.raises(DecodeFailure) as ei:
        c.decode(bad)
    assert ei.value.position == at and ei.value.data == b"\xff\xff"
