"""`kikan preview LAYOUT FILE`: check a layout against a real file before the first rehearsal."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kikan_hub.api.cli_support import definition_error, fail

out = Console()
if not out.is_terminal:  # piped into a file or `less`: a wide table, not one folded at 80 columns
    out = Console(width=160)
BYTES_SHOWN = 16  # bytes per field on the console (--json has them all)


def preview_command(
    layout: Path = typer.Argument(..., help="the vendor's layout (layout_*.yaml)"),
    file: Path = typer.Argument(..., help="the extract file it describes"),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="declared encoding (default: the layout's)"),
    limit: int = typer.Option(5, "--limit", min=1, help="how many records from the start of the file"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per record (JSON Lines)"),
) -> None:
    """レイアウト確認: the first records sliced by the layout, field by field (offset, bytes in hex, value, error)."""
    from kikan_hub.adapters.codecs import CodecError
    from kikan_hub.adapters.preview import preview_records
    from kikan_hub.layouts.errors import LayoutError
    from kikan_hub.layouts.legacy import load_legacy_layout

    try:
        lay = load_legacy_layout(layout)
    except LayoutError as exc:
        fail(definition_error(exc.path, exc.message))
    if not file.is_file():
        fail(f"{file}: ファイルがありません (no such file)")
    try:
        records = preview_records(file, lay, encoding, limit)
    except CodecError as exc:
        fail(f"{file}: {exc}")
    except ValueError as exc:  # e.g. a delimited layout with a non-ASCII-compatible encoding
        fail(f"{layout}: {exc}")
    except OSError as exc:
        fail(f"{exc.filename or file}: {exc.strerror}")
    if as_json:
        for r in records:
            print(json.dumps(r, ensure_ascii=False))
        return
    for r in records:
        _print_record(r)
    if not records:
        out.print("レコードがありません (the file has no records)")


def _print_record(r: dict) -> None:
    head = (f"レコード {r['record_no']}  offset {r['offset']:,}  種別 {r['record_type']}"
            f"{' (' + r['role'] + ')' if r['role'] else ''}  {r['length']} バイト")
    t = Table(title=escape(head), title_justify="left", show_lines=False)
    for col in ("項目 field", "位置 offset", "バイト bytes", "値 value", "エラー error"):
        t.add_column(col, overflow="fold")
    for f in r["fields"]:
        data = bytes.fromhex(f["bytes"] or "")
        hexs = data[:BYTES_SHOWN].hex(" ").upper() + (f" …（全 {len(data)} バイト）" if len(data) > BYTES_SHOWN else "")
        name = f["field"] + (f" {f['label']}" if f["label"] else "")
        value = "" if f["value"] is None else f"「{f['value']}」" if isinstance(f["value"], str) else str(f["value"])
        err = f"{f['rule']}: {f['error']}" if f["rule"] else ""
        t.add_row(escape(name), "" if f["offset"] is None else f"{f['offset']:,}", hexs, escape(value),
                  f"[red]{escape(err)}[/]" if err else "")
    out.print(t)
    if r["rule"]:
        out.print(f"  [red]{escape(r['rule'])}[/]: {escape(r['message'] or '')}")
    if not r["fields"] and r.get("bytes"):
        out.print(f"  bytes: {bytes.fromhex(r['bytes'])[:BYTES_SHOWN * 2].hex(' ').upper()} …")
