"""CLI of the validation gates: `kikan validate` and `kikan report diff` (mounted by cli.py).

    kikan validate --store URL --run-dir DIR [--ge-suite DIR]
    kikan report diff RUN_A RUN_B [--json OUT]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from kikan_hub.api.cli_support import fail

out = Console()
report_app = typer.Typer(help="検証レポート (validation reports): diff between rehearsals.", no_args_is_help=True,
                         add_completion=False, pretty_exceptions_enable=False)


@report_app.callback()
def _report_group() -> None:
    """検証レポート: `kikan report diff RUN_A RUN_B`."""


def validate_command(
    store: str = typer.Option(..., "--store", help="SQLAlchemy URL of the canonical store to validate"),
    run_dir: Path = typer.Option(..., "--run-dir", help="where report/ is written (summary.json there is used if present)"),
    ge_suite: Optional[Path] = typer.Option(None, "--ge-suite", help="also write a Great Expectations suite + Data Docs here"),
    gyomu: Optional[str] = typer.Option(None, "--gyomu", help="only this 業務 (juki, zei_kojin … or its Japanese name)"),
) -> None:
    """検証ゲート: run the rule catalogue on the store and write report/ (HTML, Excel, JSON). Exit 1 on a critical rule."""
    from kikan_hub.store.engine import StoreError, open_existing_engine
    from kikan_hub.store.frames import read_store_tables, validate_store
    from kikan_hub.validation.engine import validate_tables
    from kikan_hub.validation.reports import write_reports

    frames = None
    try:
        engine = open_existing_engine(store)
        if ge_suite is None:    # streamed through Parquet: memory does not grow with the store
            result = validate_store(engine, gyomu=gyomu)
        else:                   # the GE export judges the same frames again: they are read once, whole
            frames = read_store_tables(engine)
            result = validate_tables(frames, gyomu=gyomu)
    except StoreError as exc:
        fail(str(exc))
    except Exception as exc:  # unreachable server, missing tables …
        fail(f"ストアを検証できません ({store}): {exc}")
    run_dir.mkdir(parents=True, exist_ok=True)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    written = write_reports(run_dir, result, summary)
    _print_result(result)
    out.print(f"report: {written['all']['html']}")
    if ge_suite is not None:
        from kikan_hub.validation.ge_export import export_ge

        info = export_ge(ge_suite, result, frames=frames)
        out.print(f"Great Expectations: {info['suite']}  Data Docs: {info['data_docs']}")
    raise typer.Exit(1 if result.outcome == "critical" else 0)


def _print_result(result) -> None:
    t = RichTable(title=f"検証ゲート: {result.outcome}")
    for col in ("ルール", "内容", "担当課", "件数", "対象", "水準"):
        t.add_column(col)
    for r in result.rules:
        if r.failed or r.level != "ok":
            t.add_row(r.id, r.title, r.division, f"{r.failed:,}", f"{r.total:,} {r.unit}", r.level)
    out.print(t)


@report_app.command("diff")
def diff(run_a: Path = typer.Argument(..., help="the earlier rehearsal's run directory"),
         run_b: Path = typer.Argument(..., help="the later rehearsal's run directory"),
         json_out: Optional[Path] = typer.Option(None, "--json", help="write the full diff as JSON here")) -> None:
    """二つのリハーサルの差分: per rule (counts, newly failing, fixed) and per table (added, removed, changed)."""
    from kikan_hub.validation.diff import diff_runs

    for d in (run_a, run_b):
        if not (d / "staging").is_dir() and not (d / "report" / "report.json").exists():
            fail(f"{d}: リハーサルの実行ディレクトリではありません (no staging/ or report/report.json)")
    d = diff_runs(run_a, run_b)
    if json_out:
        json_out.write_text(json.dumps(d, ensure_ascii=False, indent=2), encoding="utf-8")
    t = RichTable(title=f"ルール別の差分 {run_a.name} → {run_b.name}")
    for col in ("ルール", "内容", "前回", "今回", "増減", "新たに該当", "解消"):
        t.add_column(col)
    for r in d["rules"]:
        if r["failed_a"] or r["failed_b"]:
            t.add_row(r["id"], r["title"], _n(r["failed_a"]), _n(r["failed_b"]), f"{r['delta']:+,}",
                      f"{r['newly_failing']:,}", f"{r['fixed']:,}")
    out.print(t)
    if d["quarantine"]:
        q = RichTable(title="隔離ルール別の差分")
        for col in ("ルール", "前回", "今回", "増減"):
            q.add_column(col)
        for r in d["quarantine"]:
            q.add_row(r["id"], f"{r['failed_a']:,}", f"{r['failed_b']:,}", f"{r['delta']:+,}")
        out.print(q)
    tt = RichTable(title="テーブル別の差分（主キー＋内容ハッシュ）")
    for col in ("テーブル", "前回", "今回", "追加", "削除", "変更", "変更なし"):
        tt.add_column(col)
    for r in d["tables"]:
        tt.add_row(f"{r['table']} ({r['name']})", f"{r['rows_a']:,}", f"{r['rows_b']:,}", f"{r['added']:,}",
                   f"{r['removed']:,}", f"{r['changed']:,}", f"{r['unchanged']:,}")
    out.print(tt)


def _n(v) -> str:
    return "—" if v is None else f"{v:,}"
