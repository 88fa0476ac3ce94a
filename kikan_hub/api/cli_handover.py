"""CLI of the handover (次々期への移行): `kikan export isl`, `kikan import isl`, `kikan verify-export`.

Mounted by the lead in cli.py: ``export_app`` as ``export``, ``import_app`` as ``import``,
``verify_export_command`` as ``verify-export``. Exit codes: 0 ok, 1 verification found
differences, 2 usage / input error (a message, no traceback).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from kikan_hub.api.cli_support import fail

export_app = typer.Typer(help="引継ぎ用の出力 (handover export)", no_args_is_help=True, add_completion=False,
                         pretty_exceptions_enable=False)
import_app = typer.Typer(help="引継ぎファイルの取込み (handover import)", no_args_is_help=True, add_completion=False,
                         pretty_exceptions_enable=False)
_err = Console(stderr=True, soft_wrap=True)
_out = Console()


def _engine(store: Optional[str], existing: bool = True):
    """The store to read (export, verify: it must exist) or to load into (import: may be new)."""
    from kikan_hub.store.engine import StoreError, default_store_url, open_engine, open_existing_engine

    try:
        return open_existing_engine(store) if existing else open_engine(store or default_store_url())
    except StoreError as exc:
        fail(str(exc))


def _user_errors():
    from kikan_hub.gaiji.errors import GaijiError
    from kikan_hub.handover.errors import HandoverError
    from kikan_hub.layouts.errors import LayoutError
    from kikan_hub.store.engine import StoreError

    return (HandoverError, StoreError, LayoutError, GaijiError)


def _run(fn):
    """Call fn; user-facing errors → message + exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return fn()
    except _user_errors() as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"ストアを読めません: {getattr(exc, 'orig', None) or exc}")
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}")


@export_app.command("isl")
def export_isl_command(
    store: Optional[str] = typer.Option(None, "--store", help="SQLAlchemy URL of the canonical store"),
    out: Path = typer.Option(..., "--out", help="output directory (must be empty or new)"),
    gyomu: Optional[List[str]] = typer.Option(None, "--gyomu", help="業務 id or name (repeatable); without it every 業務"),
    every: bool = typer.Option(False, "--all", help="every 業務 of the definitions (the default, said explicitly; "
                                                     "empty tables as files of 0 records)"),
    encoding: str = typer.Option("utf-8", "--encoding", help="utf-8 | cp932"),
    fmt: str = typer.Option("csv", "--format", help="csv | fixed | kihon-data-list"),
    fold: str = typer.Option("none", "--fold", help="none | jisx0213 | jisx0208 (MJ縮退マップ; every fold recorded)"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """中間標準レイアウトで出力: one file per canonical table of every 業務 (or of --gyomu) + manifest.json (+ folds.csv)."""
    if every and gyomu:
        fail("--all と --gyomu は同時に指定できません (--all is every 業務; --gyomu picks some)")
    engine = _engine(store)

    def progress(table: str, n: int) -> None:
        if not quiet:
            _err.print(f"  {table}: {n:,}", end="\r", highlight=False)

    if fmt.strip().lower() in ("kihon-data-list", "kihon"):
        from kikan_hub.handover.kihon import export_kihon_data_list

        m = _run(lambda: export_kihon_data_list(engine, out, encoding=encoding, fold=fold,
                                                  gyomu=tuple(gyomu or ())))
    else:
        from kikan_hub.handover.export import ExportOptions, export_isl

        m = _run(lambda: export_isl(engine, out, ExportOptions(fmt=fmt, encoding=encoding, fold=fold,
                                                               gyomu=tuple(gyomu or ())), progress=progress))
    for f in m["files"]:
        _out.print(f"{f['path']}: {f['records']:,} records, {f['bytes']:,} bytes, sha256 {f['sha256'][:16]}…",
                   highlight=False)
    for gid, g in (m.get("gyomu") or {}).items():
        _out.print(f"業務 {g['gyomu']} ({gid}): {g['tables']} tables, {g['records']:,} records", highlight=False)
    folds = m.get("folds") or {}
    if folds.get("records"):
        cats = ", ".join(f"{k} {v:,}" for k, v in folds["by_category"].items())
        _out.print(f"縮退 (folds): {folds['records']:,} — {cats} → {folds['file']}", highlight=False)
    _out.print(f"manifest: {Path(out) / 'manifest.json'} ({m['totals']['records']:,} records in {m['totals']['files']} files)",
               highlight=False)


@import_app.command("isl")
def import_isl_command(
    directory: Path = typer.Argument(..., help="handover directory (with manifest.json)"),
    store: Optional[str] = typer.Option(None, "--store", help="SQLAlchemy URL of the (fresh) store to load into"),
) -> None:
    """引継ぎファイルを新しいストアに取り込む (checks SHA-256 and counts, loads in one transaction)."""
    from kikan_hub.handover.importer import import_isl

    engine = _engine(store, existing=False)
    res = _run(lambda: import_isl(directory, engine))
    for t, n in res["tables"].items():
        _out.print(f"{t}: {n:,}", highlight=False)
    _out.print(f"run {res['run_id']}: loaded {res['records']:,} records", highlight=False)


def verify_export_command(
    dir: Path = typer.Argument(..., help="handover directory (with manifest.json)"),
    store: str = typer.Option(None, "--store", help="SQLAlchemy URL of the store the handover was exported from"),
) -> None:
    """引継ぎファイルの検証: files vs manifest, counts, and re-import → same content hash per table.

    Exit 0 verified, 1 differences found (each named: file, record, item), 2 usage error."""
    from kikan_hub.handover.verify import verify_export

    engine = _engine(store)
    rep = _run(lambda: verify_export(dir, engine))
    for t in rep.tables:
        mark = "一致" if t.ok else "不一致"
        fold = f" (縮退 {t.folds:,} 件を適用して比較)" if t.folds else ""
        _out.print(f"{t.file}: {mark} records {t.reimport_records:,} sha256 {(t.reimport_sha256 or '')[:16]}…{fold}",
                   highlight=False)
    if rep.ok:
        _out.print(f"verified: {dir} re-imports to the store's content ({len(rep.tables)} tables)", highlight=False)
        return
    _err.print("[bold red]検証に失敗しました (verification failed):[/]")
    for p in rep.problems:
        _err.print(f"  - {p}", highlight=False, markup=False)
    raise typer.Exit(1)


# For mounting as a sub-app when a Typer is preferred.
verify_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
verify_app.command("verify-export")(verify_export_command)
