import pyarrow as pa
import pytest

from kikan_hub.mapping.era_dates import parse_dates

ERA_CODES = {"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}


def one(literal, fmt="era_code", allowed=True, text=None):
    r = parse_dates(pa.array([literal]), fmt, ERA_CODES, unknown_allowed=allowed,
                    unknown_text=pa.array([text]) if text is not None else None)
    return r.iso[0].as_py(), r.literal[0].as_py(), r.unknown[0].as_py(), bool(r.invalid[0]), r.reason[0]


@pytest.mark.parametrize("literal, iso", [
    ("3640107", "1989-01-07"), ("4010108", "1989-01-08"), ("4310430", "2019-04-30"), ("5010501", "2019-05-01"),
    ("1011023", "1868-10-23"), ("3390229", "1964-02-29"),
    # j80: 明治45年7月30日 and 大正15年12月25日 are accepted although the new era began that day.
    ("1450730", "1912-07-30"), ("2151225", "1926-12-25"),
])
def test_valid_era_dates(literal, iso):
    got_iso, got_lit, unknown, invalid, _ = one(literal)
    assert (str(got_iso), got_lit, unknown, invalid) == (iso, literal, False, False)


@pytest.mark.parametrize("literal, reason", [
    ("3640108", "昭和64年1月8日は昭和の期間外です"),
    ("4310501", "平成31年5月1日は平成の期間外です"),
    ("1011022", "明治1年10月22日は明治の期間外です"),
    ("3641308", "月日の値が範囲外です"),
    ("9400101", "元号コードが表にありません"),
    ("3A00101", "年月日が数字の形式ではありません"),
])
def test_impossible_dates_are_invalid(literal, reason):
    iso, lit, unknown, invalid, why = one(literal)
    assert invalid and iso is None and why == reason and lit == literal


def test_unknown_and_non_calendar_dates_kept_where_allowed():
    assert one("3400000") == (None, "3400000", True, False, None)           # 不詳日 with 00
    assert one("3400229") == (None, "3400229", True, False, None)           # 2月29日 in a common year
    assert one("3100000", text="昭和10年頃")[:3] == (None, "昭和10年頃", True)  # 不詳日 literal kept


def test_unknown_dates_rejected_where_not_allowed():
    iso, _, _, invalid, why = one("3400229", allowed=False)
    assert invalid and why == "暦上に存在しない日付です"
    assert one("3400000", allowed=False)[3]


def test_letter_eras_and_western():
    assert str(one("R050401", "era_letter")[0]) == "2023-04-01"
    assert one("S640108", "era_letter")[3]
    assert str(one("20240229", "western", allowed=False)[0]) == "2024-02-29"
    assert one("20230229", "western", allowed=False)[3]


def test_empty_is_null_not_invalid():
    assert one("") == (None, None, False, False, None)


@pytest.mark.parametrize("literal, fmt", [("202401019", "western"), ("40501010", "era_code"), ("R0504010", "era_letter"),
                                          ("２０２４０１０１９", "western")])
def test_over_long_literals_are_invalid_not_cut(literal, fmt):
    """A value one character too long is not the date its first characters spell (ASCII and not)."""
    iso, lit, _unknown, invalid, reason = one(literal, fmt)
    assert invalid and iso is None and reason, (literal, iso, reason)
    assert lit == literal
