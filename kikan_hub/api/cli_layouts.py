"""`kikan layouts …`: work with the 中間標準レイアウト (ISL) definitions."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from kikan_hub.api.cli_support import fail

app = typer.Typer(
    help="中間標準レイアウト (ISL) 定義: 公式データ項目一覧表 (Excel) の取り込みなど。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _layouts() -> None:
    """中間標準レイアウト (ISL) 定義。"""


@app.command("import-xlsx")
def import_xlsx(
    file: Path = typer.Argument(..., help="データ項目一覧表 (.xlsx)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="書き出す定義 YAML (省略時は標準出力)"),
    gyomu_id: Optional[str] = typer.Option(None, "--gyomu-id", help="業務 id (テーブル id の接頭辞; 省略時はファイル名から)"),
    table_id: Optional[str] = typer.Option(None, "--table-id", help="テーブル id (複数シートなら _02, _03 … を付ける)"),
    gyomu: Optional[str] = typer.Option(None, "--gyomu", help="業務名 (日本語; 省略時は業務 id)"),
    sheet: Optional[list[str]] = typer.Option(None, "--sheet", help="取り込むシート名 (繰り返し可; 省略時は見出し行のある全シート)"),
) -> None:
    """公式のデータ項目一覧表 (Excel) を ISL 定義 YAML に変換する。Exit 0 成功、2 ブックの誤り。"""
    from kikan_hub.layouts.xlsx_import import XlsxImportError, dump_definition, import_workbook

    try:
        definition = import_workbook(file, gyomu_id=gyomu_id, table_id=table_id, gyomu=gyomu, sheets=sheet or None)
    except XlsxImportError as exc:
        fail(str(exc))
    text = dump_definition(definition)
    if out is None:
        typer.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"{out}: 書き込めません: {exc.strerror}")
        n_items = sum(len(t["items"]) for t in definition["tables"])
        typer.echo(f"{out}: {len(definition['tables'])} テーブル, {n_items} 項目", err=True)
