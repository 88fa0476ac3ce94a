"""Round trip: canonical text → CP932 through the register → re-read through the register → identical."""
import pyarrow as pa
import pytest

from kikan_hub.gaiji.cp932 import CP932EncodeError
from kikan_hub.gaiji.register import GaijiRegister, GaijiRow
from kikan_hub.gaiji.resolve import Resolver
from kikan_hub.gaiji.vendor_encode import VendorEncoder


@pytest.fixture
def register(tmp_path):
    rows = [
        GaijiRow("旧住記", "F040", "U+E000", "", "MJ000000", "", "20BB7", "同定済"),        # 𠮷
        GaijiRow("旧住記", "F041", "U+E001", "", "", "", "8FBB E0102", "同定済"),          # 辻 + IVS
        GaijiRow("旧住記", "F042", "U+E002", "", "", "", "9AD9", "同定済"),                # 髙 (also in CP932)
        GaijiRow("旧住記", "F043", "U+E003", "", "", "", "", "未同定"),
    ]
    reg = GaijiRegister(rows)
    path = tmp_path / "reg.csv"
    reg.save(path)
    return path


def test_every_register_character_round_trips(register):
    enc = VendorEncoder.from_register(register)
    res = Resolver.from_register(register)
    texts = ["𠮷田　太郎", "辻\U000E0102本　花子", "髙橋①㈱", "渡辺　～", "辻本"]
    encoded = [enc.encode_cp932(t) for t in texts]
    assert encoded[0][:2] == b"\xf0\x40" and encoded[1][:2] == b"\xf0\x41"
    assert encoded[4][:2] != b"\xf0\x41"  # the bare 辻 is standard CP932, not the IVS gaiji
    decoded = pa.array([b.decode("cp932") for b in encoded])
    resolved, unresolved = res.resolve_array(decoded)
    assert unresolved == []
    assert resolved.to_pylist() == texts


def test_character_outside_cp932_and_register_is_an_error(register):
    enc = VendorEncoder.from_register(register)
    with pytest.raises(CP932EncodeError):
        enc.encode_cp932("𩸽")  # not in CP932, not in the register: never replaced


def test_cp932_policy_change_is_recorded_not_silent(register):
    from kikan_hub.gaiji.cp932 import encode_cp932_windows

    notes = []
    data = encode_cp932_windows(VendorEncoder.from_register(register).to_vendor_text("渡辺　〜"), notes)
    assert data.decode("cp932") == "渡辺　～"  # WAVE DASH is written as 8160, read back as FULLWIDTH TILDE
    assert len(notes) == 1
