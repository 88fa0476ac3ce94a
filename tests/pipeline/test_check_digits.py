import pyarrow as pa

from kikan_hub.validation.check_digits import m11_check_digit, m11_valid


def test_mynumber_known_example():
    # The widely published valid example 123456789018 (番号法施行令第8条の算式).
    assert m11_check_digit("12345678901") == 8


def test_m11_remainder_rule():
    # Σ = 0 → remainder 0 → check digit 0 (j130: 余りが０の場合、検査付番は０).
    assert m11_check_digit("000000000") == 0
    # remainder 1 gives 0 as well (11 − 1 = 10 cannot be one digit).
    digits = next(f"{i:09d}" for i in range(1, 10**6)
                  if sum(int(c) * (2 + k % 6) for k, c in enumerate(reversed(f"{i:09d}"))) % 11 == 1)
    assert m11_check_digit(digits) == 0


def test_m11_valid_vectorised():
    good = "123456789" + str(m11_check_digit("123456789"))
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    ok = m11_valid(pa.array([good, bad, None, "12345", "12345678a0", good + "1"]), 10)
    assert ok.tolist() == [True, False, True, False, False, False]
