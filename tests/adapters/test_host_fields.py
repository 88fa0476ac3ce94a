"""Field kinds of host files: COMP binary, PIC N/G double-byte, fixed OCCURS (layout checks and reader)."""
from __future__ import annotations

import numpy as np
import pytest

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.adapters.numbers import decode_binary, encode_binary
from kikan_hub.layouts.errors import LayoutError
from kikan_hub.layouts.legacy import parse_legacy_layout


def test_binary_round_trip_and_limits():
    vals = [0, 1, -1, 32767, -32768]
    block = np.frombuffer(b"".join(encode_binary(v, 2) for v in vals), dtype=np.uint8).reshape(-1, 2)
    got, ok = decode_binary(block, signed=True)
    assert got.tolist() == vals and ok.all()
    got, ok = decode_binary(block, signed=False)
    assert got.tolist() == [0, 1, 65535, 32767, 32768]
    big = np.frombuffer(b"\xff" * 8 + (10 ** 18).to_bytes(8, "big") + (10 ** 18 - 1).to_bytes(8, "big"),
                        dtype=np.uint8).reshape(-1, 8)
    got, ok = decode_binary(big, signed=False)
    assert ok.tolist() == [False, False, True] and got[2] == 10 ** 18 - 1
    got, ok = decode_binary(big, signed=True)
    assert ok.tolist() == [True, False, True] and got[0] == -1
    assert encode_binary("-1.25", 4, scale=2) == (-125).to_bytes(4, "big", signed=True)
    with pytest.raises(ValueError):
        encode_binary(40000, 2)
    with pytest.raises(ValueError):
        encode_binary(-1, 2, signed=False)


def _layout(fields, record_length=40):
    return parse_legacy_layout({"layout": "H", "encoding": "ibm930", "record_length": record_length,
                                "terminator": "none", "record_types": [{"name": "r", "fields": fields}]})


@pytest.mark.parametrize("field,message", [
    ({"name": "b", "start": 1, "length": 3, "type": "binary"}, "1, 2, 4 or 8 bytes"),
    ({"name": "n", "start": 1, "length": 5, "type": "dbcs"}, "even length"),
    ({"name": "t", "start": 1, "length": 4, "type": "text", "signed": True}, "signed"),
    ({"name": "o", "start": 1, "length": 10, "type": "text", "occurs": 5}, "past record_length"),
    ({"name": "o", "start": 1, "length": 10, "type": "text", "occurs": 2, "stride": 5}, "shorter than the field"),
])
def test_layout_refuses_impossible_host_fields(field, message):
    with pytest.raises(LayoutError, match=message):
        _layout([field])


def test_interleaved_occurs_do_not_overlap_but_real_overlaps_are_found():
    lay = _layout([{"name": "zip", "start": 1, "length": 3, "type": "digits", "occurs": 2, "stride": 7},
                   {"name": "town", "start": 4, "length": 4, "type": "dbcs", "occurs": 2, "stride": 7}])
    assert lay.record_types[0].field("town").occurrences == [3, 10]
    with pytest.raises(LayoutError, match="overlap"):
        _layout([{"name": "zip", "start": 1, "length": 3, "type": "digits", "occurs": 2, "stride": 7},
                 {"name": "x", "start": 9, "length": 1, "type": "text"}])


def test_double_byte_fields_need_a_mainframe_encoding(tmp_path):
    from kikan_hub.adapters.reader import read_file

    lay = _layout([{"name": "n", "start": 1, "length": 4, "type": "dbcs"}], record_length=4)
    p = tmp_path / "f.dat"
    p.write_bytes(b"\x45\x41\x45\x42" * 10)
    with pytest.raises(ValueError, match="need a mainframe encoding"):
        read_file(p, lay, encoding="cp932")
    rows = [r for _, b in read_file(p, lay) for r in b.to_pylist()]
    assert len(rows) == 10 and rows[0]["n"] == get_codec("ibm930").dbcs_only().decode(b"\x45\x41\x45\x42")
