"""A second vendor's CSV export of households (世帯), written from scratch: layout, mapping, manifest.

Small on purpose: each test changes one thing (a header, a date form, a constant …) and runs it."""
from __future__ import annotations

from pathlib import Path

import yaml

from kikan_hub.validation.check_digits import m11_check_digit as m11

HEADER = ["世帯番号", "履歴番号", "世帯主宛名番号", "世帯主氏名", "住所", "処理日"]


def setai_no(i: int) -> str:
    return f"{i:09d}{m11(i, 9)}"


def rows(n: int = 3) -> list[list[str]]:
    return [[setai_no(100 + i), "1", setai_no(500 + i), f"山田　{'一二三四五六七八九'[i % 9]}郎",
             "架空市桜町1丁目2番3号", "20240401"] for i in range(n)]


def write_vendor(d: Path, *, header: list[str] | None = HEADER, lines: list[list[str]] | None = None,
                 layout_header: object = HEADER, shori_format: str = "western", columns: dict | None = None,
                 manifest_extra: dict | None = None, extra_fields: list[dict] | None = None,
                 extra_record_types: list[dict] | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    body = [header] if header is not None else []
    body += lines if lines is not None else rows()
    (d / "SETAI.CSV").write_bytes(("\r\n".join(",".join(r) for r in body) + "\r\n").encode("cp932"))
    layout = {
        "layout": "B-SETAI", "format": "delimited", "encoding": "cp932", "terminator": "crlf",
        "record_types": [{"name": "household", "role": "data", "fields": [
            {"name": "setai_no", "column": 1, "type": "digits"},
            {"name": "rireki_no", "column": 2, "type": "integer"},
            {"name": "setainushi_atena_no", "column": 3, "type": "digits"},
            {"name": "setainushi_shimei", "column": 4, "type": "text"},
            {"name": "jusho", "column": 5, "type": "text"},
            {"name": "shori_date", "column": 6, "type": "date"},
            *(extra_fields or [])]}, *(extra_record_types or [])],
    }
    if extra_record_types:
        layout["discriminator"] = {"column": 7}
        layout["record_types"][0]["code"] = "D"
    if layout_header is not None:
        layout["header"] = layout_header
    (d / "layout.yaml").write_text(yaml.safe_dump(layout, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cols = {"setai_no": {"from": "setai_no"}, "rireki_no": {"from": "rireki_no"},
            "setainushi_atena_no": {"from": "setainushi_atena_no"}, "setainushi_shimei": {"from": "setainushi_shimei"},
            "jusho": {"from": "jusho"}, "shori_date": {"from": "shori_date", "date": shori_format}}
    cols.update(columns or {})
    mapping = {"targets": [{"table": "juki_setai", "source": {"file": "SETAI", "record_type": "household"},
                            "columns": {k: v for k, v in cols.items() if v is not None}}]}
    (d / "mapping.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False), encoding="utf-8")
    manifest = {"name": "第二ベンダー CSV", "source_system": "B社住記", "mapping": "mapping.yaml",
                "files": [{"id": "SETAI", "path": "SETAI.CSV", "layout": "layout.yaml", "encoding": "cp932"}],
                **(manifest_extra or {})}
    (d / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d / "manifest.yaml"
