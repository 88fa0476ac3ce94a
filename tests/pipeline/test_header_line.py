"""Issue 16 (11): a delimited file's header line is named in the layout, checked, and counted —
never skipped unchecked (a truthy `header` used to drop the first line, resident or not)."""
from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from csv_vendor import HEADER, rows, write_vendor  # noqa: E402
from sample_copy import kikan  # noqa: E402

from kikan_hub.adapters.reader import HEADER_LINE_RECORD_TYPE, HeaderMismatch, read_file  # noqa: E402
from kikan_hub.layouts.errors import LayoutError  # noqa: E402
from kikan_hub.layouts.legacy import load_legacy_layout, parse_legacy_layout  # noqa: E402
from kikan_hub.pipeline.errors import ConfigError  # noqa: E402
from kikan_hub.pipeline.manifest import load_manifest  # noqa: E402
from kikan_hub.pipeline.rehearsal import rehearse  # noqa: E402


def _read(d: Path):
    lay = load_legacy_layout(d / "layout.yaml")
    r = read_file(d / "SETAI.CSV", lay)
    out: dict[str, list] = {}
    for rt, b in r:
        out.setdefault(rt, []).extend(pa.Table.from_batches([b]).to_pylist())
    return out, r.stats


def test_header_line_is_checked_and_emitted_as_a_record(tmp_path):
    write_vendor(tmp_path)
    out, stats = _read(tmp_path)
    assert stats.header_lines == 1
    assert [r["_record_no"] for r in out[HEADER_LINE_RECORD_TYPE]] == [1]
    assert [r["_record_no"] for r in out["household"]] == [2, 3, 4]
    assert out[HEADER_LINE_RECORD_TYPE][0]["_raw"] == ",".join(HEADER).encode("cp932")
    assert stats.records_total == 4


def test_a_first_resident_is_never_taken_for_a_header(tmp_path):
    # The file has no header line but the layout expects one: an error naming the column, not a lost record.
    write_vendor(tmp_path, header=None)
    with pytest.raises(HeaderMismatch, match="column 1: expected '世帯番号'"):
        _read(tmp_path)
    with pytest.raises(ConfigError) as e:
        load_manifest(tmp_path / "manifest.yaml")
    assert "SETAI.CSV" in str(e.value) and "世帯番号" in e.value.message


def test_header_mismatch_names_the_column_exit_2(tmp_path):
    write_vendor(tmp_path, header=["世帯番号", "履歴番号", "世帯主宛名番号", "世帯主名", "住所", "処理日"])
    proc = kikan("rehearse", str(tmp_path / "manifest.yaml"), "--store", f"sqlite:///{tmp_path / 's.db'}",
                 "--run-dir", str(tmp_path / "run"), "--quiet")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text
    assert "column 4" in text and "世帯主氏名" in text and "世帯主名" in text


def test_a_bare_true_header_is_refused():
    base = {"layout": "X", "format": "delimited", "record_types": [
        {"name": "r", "fields": [{"name": "a", "column": 1, "type": "text"}]}]}
    with pytest.raises(LayoutError, match="header must list the expected column names"):
        parse_legacy_layout({**base, "header": True})
    assert parse_legacy_layout({**base, "header": ["A"]}).header == ("A",)


def test_header_line_counted_in_the_accounting(tmp_path):
    write_vendor(tmp_path, lines=rows(2))
    result = rehearse(load_manifest(tmp_path / "manifest.yaml"), f"sqlite:///{tmp_path / 's.db'}", tmp_path / "run")
    s = result.summary
    assert result.exit_code == 0
    assert s["files"]["SETAI"][HEADER_LINE_RECORD_TYPE] == {"read": 1, "staged": 1, "loaded": 1, "quarantined": 0}
    assert s["files"]["SETAI"]["household"]["read"] == 2
    assert s["records_read"] == 3 == s["records_staged"] + s["records_quarantined"] and s["records_loaded"] == s["records_staged"]
