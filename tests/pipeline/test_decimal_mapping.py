"""Issue 12 (2): a legacy number mapped to a decimal ISL item stays an exact decimal, and a value the item's
type cannot hold is quarantined with MAP-TYPE naming it — never pyarrow's "Precision is not great enough"
traceback (an int64 field cast to decimal128(18, 0) used to crash the whole rehearsal)."""
from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from sample_copy import rehearse_in_process  # noqa: E402

from kikan_hub.layouts.isl import get_table  # noqa: E402
from kikan_hub.mapping.engine import map_batch  # noqa: E402
from kikan_hub.mapping.spec import ColumnSpec, TargetSpec  # noqa: E402
from kikan_hub.validation.check_digits import m11_check_digit as m11  # noqa: E402

TABLE = "zei_kei_kazei_meisai"   # 税率・減免額・税額: decimal, 8 桁, scale 0


def _atena(i: int) -> str:
    return f"{i:09d}{m11(i, 9)}"


def _write(d: Path, rows: list[list[str]], zeigaku_type: str = "integer") -> Path:
    header = ["kazei_nendo", "sharyo_no", "atena_no", "shashu_kubun", "juka_keika_kubun", "zeiritsu",
              "genmen_gaku", "zeigaku", "shori_date"]
    types = {"kazei_nendo": "integer", "zeiritsu": "integer", "genmen_gaku": "integer", "zeigaku": zeigaku_type,
             "shori_date": "date"}
    d.mkdir(parents=True, exist_ok=True)
    (d / "KAZEI.CSV").write_bytes(("\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n").encode("cp932"))
    layout = {"layout": "V-KAZEI", "format": "delimited", "encoding": "cp932", "terminator": "crlf", "header": header,
              "record_types": [{"name": "kazei", "role": "data", "fields": [
                  {"name": h, "column": i, "type": types.get(h, "digits" if h.endswith("_no") else "text"),
                   **({"sign": "leading"} if types.get(h) == "integer" else {})}
                  for i, h in enumerate(header, 1)]}]}
    cols = {h: {"from": h} for h in header}
    cols["shori_date"]["date"] = "western"
    mapping = {"targets": [{"table": TABLE, "source": {"file": "KAZEI", "record_type": "kazei"}, "columns": cols}]}
    manifest = {"name": "軽自動車税 課税明細", "source_system": "V社税", "mapping": "mapping.yaml",
                "files": [{"id": "KAZEI", "path": "KAZEI.CSV", "layout": "layout.yaml", "encoding": "cp932"}]}
    for name, doc in (("layout.yaml", layout), ("mapping.yaml", mapping), ("manifest.yaml", manifest)):
        (d / name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d


def _row(i: int, zeiritsu: str, genmen: str, zeigaku: str) -> list[str]:
    return ["2024", f"{i:010d}", _atena(100 + i), "212", "0", zeiritsu, genmen, zeigaku, "20240401"]


def test_legacy_integer_amounts_load_as_exact_decimals(tmp_path):
    src = _write(tmp_path / "src", [_row(1, "10800", "0", "10800"), _row(2, "10800", "", "10800"),
                                    _row(3, "10800", "3900", "6900")])
    res = rehearse_in_process(src, tmp_path)
    assert res.exit_code == 0, res
    staged = pq.read_table(res.run_dir / "staging" / f"{TABLE}.parquet")
    assert staged.schema.field("zeigaku").type == pa.decimal128(18, 0)
    rows = sorted(staged.select(["sharyo_no", "zeiritsu", "genmen_gaku", "zeigaku"]).to_pylist(),
                  key=lambda r: r["sharyo_no"])
    assert [(r["zeiritsu"], r["genmen_gaku"], r["zeigaku"]) for r in rows] == [
        (Decimal(10800), Decimal(0), Decimal(10800)), (Decimal(10800), None, Decimal(10800)),
        (Decimal(10800), Decimal(3900), Decimal(6900))]


def test_a_value_the_decimal_cannot_hold_is_quarantined_and_named(tmp_path):
    # zeigaku read as text: "12.5" has a fraction digit the item (scale 0) has no room for, "abc" is no number
    src = _write(tmp_path / "src", [_row(1, "10800", "0", "10800"), _row(2, "10800", "0", "12.5"),
                                    _row(3, "10800", "0", "abc")], zeigaku_type="text")
    res = rehearse_in_process(src, tmp_path)
    quarantine = pq.read_table(res.run_dir / "quarantine" / "KAZEI.parquet").to_pylist()
    assert [(q["record_no"], q["rule_ids"], q["field"]) for q in quarantine] == [
        (3, "MAP-TYPE", "税額 (税率から減免額を引いた額)(zeigaku)"), (4, "MAP-TYPE", "税額 (税率から減免額を引いた額)(zeigaku)")]
    assert "値「12.5」を8桁（小数0桁）の数値として読めません" in quarantine[0]["message"]
    assert "値「abc」を8桁（小数0桁）の数値として読めません" in quarantine[1]["message"]
    staged = pq.read_table(res.run_dir / "staging" / f"{TABLE}.parquet").to_pylist()
    assert [r["zeigaku"] for r in staged] == [Decimal(10800)]


def test_map_batch_int64_into_a_scaled_decimal():
    """The unit under the rehearsal: an int64 batch column into decimal(6, 2) (定格出力 kW)."""
    table = get_table("zei_kei_sharyo")
    batch = pa.record_batch({"kw": pa.array([3, None, 10**17], pa.int64())})
    target = TargetSpec(table="zei_kei_sharyo", file="F", record_type="r",
                        columns=(ColumnSpec(target="teikaku_shutsuryoku", source="kw"),))
    mapped = map_batch(batch, target, table, None)
    assert mapped.columns["teikaku_shutsuryoku"].to_pylist() == [Decimal("3.00"), None, None]
    assert list(mapped.errors.rules) == [None, None, "MAP-TYPE"]
    assert "値「100000000000000000」を6桁（小数2桁）の数値として読めません" in mapped.errors.messages[2]
