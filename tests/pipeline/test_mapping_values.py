"""Issue 16 (3): a constant is typed like any value (date:, code_map: apply), header and trailer
values feed data rows (from_header / from_trailer), and unknown keys list the allowed ones."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from csv_vendor import write_vendor  # noqa: E402
from sample_copy import edit, rehearse_in_process  # noqa: E402

from kikan_hub.pipeline.errors import ConfigError  # noqa: E402
from kikan_hub.pipeline.manifest import load_manifest  # noqa: E402


@pytest.fixture
def sample(clean_copy) -> Path:
    return clean_copy


def _staged(run_dir: Path, table: str, *cols: str) -> list[dict]:
    return pq.read_table(run_dir / "staging" / f"{table}.parquet", columns=list(cols)).to_pylist()


def test_const_date_is_parsed_like_a_field(tmp_path):
    write_vendor(tmp_path, columns={"shori_date": {"const": "20261120", "date": "western"}})
    res = rehearse_in_process(tmp_path, tmp_path)
    assert res.exit_code == 0
    assert {r["shori_date"] for r in _staged(res.run_dir, "juki_setai", "shori_date")} == {dt.date(2026, 11, 20)}


def test_const_goes_through_its_code_map(tmp_path):
    write_vendor(tmp_path, columns={"jusho_code": {"const": "A", "code_map": {"A": "123456789"}}})
    res = rehearse_in_process(tmp_path, tmp_path)
    assert {r["jusho_code"] for r in _staged(res.run_dir, "juki_setai", "jusho_code")} == {"123456789"}


def test_a_bad_constant_is_refused_before_reading(tmp_path):
    write_vendor(tmp_path, columns={"shori_date": {"const": "20261131", "date": "western"}})
    with pytest.raises(ConfigError, match="const '20261131'"):
        load_manifest(tmp_path / "manifest.yaml")
    write_vendor(tmp_path, columns={"jusho_code": {"const": "B", "code_map": {"A": "123456789"}}})
    with pytest.raises(ConfigError, match="const 'B' is not in the code map"):
        load_manifest(tmp_path / "manifest.yaml")


def test_a_date_item_without_a_date_form_is_refused(tmp_path):
    write_vendor(tmp_path, columns={"shori_date": {"const": "20261120"}})
    with pytest.raises(ConfigError, match="date: western"):
        load_manifest(tmp_path / "manifest.yaml")


def test_header_value_in_every_data_row(sample, tmp_path):
    head = (sample / "JUMIN.DAT").read_bytes()[:400]
    sakusei = head[9:17].decode("ascii")
    edit(sample / "mapping.yaml", "todokede_date: {from: todokede_date, date: western}",
         "todokede_date: {from_header: sakusei_date, date: western}")
    res = rehearse_in_process(sample, tmp_path)
    got = {r["todokede_date"] for r in _staged(res.run_dir, "juki_jumin", "todokede_date")}
    assert got == {dt.datetime.strptime(sakusei, "%Y%m%d").date()}


def test_from_header_must_name_a_header_field(sample):
    edit(sample / "mapping.yaml", "todokede_date: {from: todokede_date, date: western}",
         "todokede_date: {from_header: todokede_date, date: western}")
    with pytest.raises(ConfigError, match="from_header 'todokede_date' is not a field of a header record type"):
        load_manifest(sample / "manifest.yaml")


def test_unknown_column_keys_list_the_allowed_ones(tmp_path):
    write_vendor(tmp_path, columns={"jusho_code": {"value": "123456789"}})
    with pytest.raises(ConfigError) as e:
        load_manifest(tmp_path / "manifest.yaml")
    assert "targets[0](juki_setai).columns.jusho_code: unknown key 'value'" in e.value.message
    for k in ("from", "const", "from_header", "from_trailer", "code_map", "date"):
        assert k in e.value.message.split("allowed keys")[1]


@pytest.mark.parametrize("where, text", [
    ("mapping", "targets:\n  []\ncodemaps: {}\n"),
    ("target", "targets:\n  - {table: juki_setai, source: {file: SETAI, record_type: household}, colums: {}}\n"),
])
def test_unknown_keys_anywhere_in_the_mapping(tmp_path, where, text):
    write_vendor(tmp_path)
    (tmp_path / "mapping.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="allowed keys"):
        load_manifest(tmp_path / "manifest.yaml")
