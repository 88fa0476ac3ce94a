"""Issue 16 (7, 10): every common date form can be declared per field and is read from the original
bytes (the literal kept as written); 日不詳 and 暦にない日 are two flags; the 和暦 text is stored beside
the raw code (昭和45年2月29日, not only 3450229)."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from csv_vendor import rows, write_vendor  # noqa: E402
from sample_copy import copy_sample, generate_sample, rehearse_in_process  # noqa: E402

from kikan_hub.layouts.errors import LayoutError  # noqa: E402
from kikan_hub.mapping.era_dates import parse_dates  # noqa: E402
from kikan_hub.mapping.spec import load_mapping  # noqa: E402

ERA_CODES = {"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}
D = dt.date


@pytest.mark.parametrize("form, literal, iso", [
    ("GYY.MM.DD", "S25.03.15", D(1950, 3, 15)),
    ("GYY/MM/DD", "H01/01/08", D(1989, 1, 8)),
    ("GYYMMDD", "S250315", D(1950, 3, 15)),
    ("era_letter", "S250315", D(1950, 3, 15)),
    ("EYYMMDD", "4250315", D(2013, 3, 15)),
    ("EYY.MM.DD", "4.25.03.15", None),        # the pattern's dots are literal: this is not the declared form
    ("EYY.MM.DD", "425.03.15", D(2013, 3, 15)),
    ("kanji", "昭和25年3月15日", D(1950, 3, 15)),
    ("kanji", "令和元年5月1日", D(2019, 5, 1)),
    ("kanji", "平成３１年４月３０日", D(2019, 4, 30)),
    ("NYY年MM月DD日", "昭和25年03月15日", D(1950, 3, 15)),
    ("YYYY/MM/DD", "2019/05/01", D(2019, 5, 1)),
    ("YYYY-MM-DD", "2019-05-01", D(2019, 5, 1)),
    ("YYYY.MM.DD", "2019.05.01", D(2019, 5, 1)),
    ("western", "20190501", D(2019, 5, 1)),
    ("YYYY/M/D", "2019/5/1", D(2019, 5, 1)),
])
def test_declared_forms(form, literal, iso):
    p = parse_dates(pa.array([literal]), form, ERA_CODES, wareki=True)
    assert p.iso[0].as_py() == iso
    assert p.literal[0].as_py() == literal            # as written, never rewritten
    assert bool(p.invalid[0]) == (iso is None)


@pytest.mark.parametrize("form, literal, reason", [
    ("kanji", "昭和64年1月8日", "昭和64年1月8日は昭和の期間外です"),
    ("GYY.MM.DD", "H31.05.01", "平成31年5月1日は平成の期間外です"),
    ("YYYY/MM/DD", "2019-05-01", "宣言した形式 YYYY/MM/DD ではありません"),
    ("GYY.MM.DD", "S25.3.15", "宣言した形式 GYY.MM.DD ではありません"),
    ("YYYY/MM/DD", "2019/13/01", "月日の値が範囲外です"),
])
def test_forms_reject_what_they_do_not_say(form, literal, reason):
    p = parse_dates(pa.array([literal]), form, ERA_CODES)
    assert p.invalid[0] and reason in p.reason[0] and p.iso[0].as_py() is None


@pytest.mark.parametrize("form, literal, unknown_day, non_calendar, wareki", [
    ("era_code", "3450229", False, True, "昭和45年2月29日"),    # 暦にない日 (1970 is a common year)
    ("era_code", "3450230", False, True, "昭和45年2月30日"),
    ("era_code", "3450200", True, False, "昭和45年2月日不詳"),  # 日不詳
    ("era_code", "3450000", True, False, "昭和45年月日不詳"),
    ("era_code", "3000000", True, False, "昭和年月日不詳"),
    ("GYY.MM.DD", "S45.02.29", False, True, "昭和45年2月29日"),
    ("western", "20190230", False, True, "平成31年2月30日"),
    ("era_code", "4010108", False, False, "平成元年1月8日"),
    ("YYYY/MM/DD", "1989/01/07", False, False, "昭和64年1月7日"),
])
def test_two_flags_and_the_wareki_text(form, literal, unknown_day, non_calendar, wareki):
    p = parse_dates(pa.array([literal]), form, ERA_CODES, unknown_allowed=True, wareki=True)
    assert not p.invalid[0]
    assert (p.unknown_day[0].as_py(), p.non_calendar[0].as_py()) == (unknown_day, non_calendar)
    assert p.unknown[0].as_py() == (unknown_day or non_calendar)
    assert p.wareki[0].as_py() == wareki and p.literal[0].as_py() == literal


def test_unknown_text_is_an_unknown_day_and_its_own_wareki():
    p = parse_dates(pa.array(["3100000"]), "era_code", ERA_CODES, unknown_allowed=True,
                    unknown_text=pa.array(["昭和１０年頃"]), wareki=True)
    assert p.unknown_day[0].as_py() and not p.non_calendar[0].as_py()
    assert p.wareki[0].as_py() == p.literal[0].as_py() == "昭和１０年頃"


@pytest.mark.parametrize("form", ["YYMMDD", "YYYY/MM", "GYYYY/MM/DD", "EGYYMMDD", 7])
def test_bad_forms_are_refused_with_the_tokens(tmp_path, form):
    write_vendor(tmp_path, columns={"shori_date": {"from": "shori_date", "date": form}})
    with pytest.raises(LayoutError) as e:
        load_mapping(tmp_path / "mapping.yaml")
    assert "date" in e.value.message


def test_a_second_vendors_slashed_dates_rehearse_as_written(tmp_path):
    """The CSV's dates go in as the vendor wrote them: the file is not rewritten first, so its
    SHA-256, offsets and stored literals are those of the original."""
    lines = rows(3)
    for r, d in zip(lines, ["2019/05/01", "2024/02/29", "2019/02/30"]):
        r[5] = d
    write_vendor(tmp_path, lines=lines, shori_format="YYYY/MM/DD")
    res = rehearse_in_process(tmp_path, tmp_path)
    staged = pq.read_table(res.run_dir / "staging" / "juki_setai.parquet").to_pylist()
    assert [r["shori_date"] for r in staged] == [D(2019, 5, 1), D(2024, 2, 29)]
    q = pq.read_table(res.run_dir / "quarantine" / "SETAI.parquet").to_pylist()
    assert [r["rule_ids"] for r in q] == ["MAP-DATE"] and "2019/02/30" in q[0]["raw"].decode("cp932")
    assert res.summary["inputs"][0]["sha256"] == __import__("hashlib").sha256((tmp_path / "SETAI.CSV").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def base_sample(tmp_path_factory) -> Path:
    return generate_sample(tmp_path_factory.mktemp("s") / "extract", residents=120, defect_rate=0.0)


def test_store_keeps_raw_code_wareki_text_and_both_flags(base_sample, tmp_path, store_url):
    sample = copy_sample(base_sample, tmp_path / "extract")
    # The first resident: 生年月日 日不詳 (3450200), 異動日 is left; the second: 生年月日 2月29日 of a common year.
    data = bytearray((sample / "JUMIN.DAT").read_bytes())
    rec = yaml.safe_load((sample / "layout_jumin.yaml").read_text(encoding="utf-8"))["record_length"] + 2
    first, second = rec, 2 * rec        # records 2 and 3 (record 1 is the header), + CRLF each
    data[first + 82:first + 89] = b"3450200"
    data[first + 89:first + 109] = b" " * 20
    data[second + 82:second + 89] = b"3450229"
    data[second + 89:second + 109] = b" " * 20
    (sample / "JUMIN.DAT").write_bytes(bytes(data))
    res = rehearse_in_process(sample, tmp_path, store_url)
    assert res.exit_code == 0
    eng = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with eng.connect() as c:
        got = {r[0]: r[1:] for r in c.execute(sa.text(
            "select _source_offset, birth_date, birth_date_literal, birth_date_wareki, birth_date_unknown, "
            "birth_date_unknown_day, birth_date_non_calendar from juki_jumin where _source_offset in (:a, :b)"),
            {"a": first, "b": second})}
    eng.dispose()
    assert got[first] == (None, "3450200", "昭和45年2月日不詳", True, True, False)
    assert got[second] == (None, "3450229", "昭和45年2月29日", True, False, True)


def test_a_store_made_before_the_new_columns_gets_them(tmp_path):
    from kikan_hub.store.engine import open_engine
    from kikan_hub.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = open_engine(url)
    upgrade(eng)
    with eng.begin() as c:
        for col in ("birth_date_wareki", "birth_date_unknown_day", "birth_date_non_calendar"):
            c.exec_driver_sql(f"ALTER TABLE juki_jumin DROP COLUMN {col}")
    assert "birth_date_wareki" not in {c["name"] for c in sa.inspect(eng).get_columns("juki_jumin")}
    upgrade(eng)
    cols = {c["name"] for c in sa.inspect(eng).get_columns("juki_jumin")}
    assert {"birth_date_wareki", "birth_date_unknown_day", "birth_date_non_calendar"} <= cols
    eng.dispose()
