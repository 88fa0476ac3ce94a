"""The `kikan` command line: the one entry point that wires the hub's parts to a user."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from kikan_hub.api.cli_support import definition_error, fail, hub_version, install_subcommands

app = typer.Typer(
    name="kikan",
    help="kikan-hub: 基幹システムのデータ移行・連携ハブ (migration rehearsals, interfaces, reports, handover).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console()


def _print_version(value: bool) -> None:
    if value:
        out.print(f"kikan-hub {hub_version()}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="print the hub's version and exit")) -> None:
    """kikan-hub: 基幹システムのデータ移行・連携ハブ (migration rehearsals, interfaces, reports, handover)."""
    _check_definitions_path()


def _check_definitions_path() -> None:
    """Extra definition folders are read before any command runs: a clash or a broken file is exit 2
    with the file named, whichever command would first have tripped over it."""
    from kikan_hub.layouts.definitions_path import ENV
    from kikan_hub.layouts.errors import LayoutError

    if not os.environ.get(ENV, "").strip():
        return
    from kikan_hub.layouts.isl import load_definitions
    from kikan_hub.validation.catalogue import load_catalogue

    try:
        load_definitions()
        load_catalogue()
    except LayoutError as exc:
        fail(definition_error(exc.path, exc.message))


@app.command()
def rehearse(
    manifest: Path = typer.Argument(..., help="rehearsal manifest (manifest.yaml)"),
    store: Optional[str] = typer.Option(None, "--store", help="SQLAlchemy URL of the canonical store (default sqlite:///var/kikan.db)"),
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="where summary.json, quarantine/ and report/ go"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars, only the final line"),
    rosters_as_of: Optional[str] = typer.Option(None, "--rosters-as-of", metavar="DATE",
                                                help="ロード後、この基準日の名簿レポート (担当課ごと) を report/ に書く "
                                                "(YYYY-MM-DD または和暦; kikan roster-report と同じ)"),
) -> None:
    """移行リハーサル: read → map → resolve characters → check → load. Exit 0 loaded, 1 gate failed, 2 usage error."""
    from kikan_hub.layouts.errors import LayoutError
    from kikan_hub.pipeline.errors import ConfigError
    from kikan_hub.pipeline.manifest import load_manifest
    from kikan_hub.pipeline.rehearsal import rehearse as run_rehearsal
    from kikan_hub.store.engine import StoreError, default_store_url

    store_url = store or default_store_url()
    try:
        m = load_manifest(manifest)
    except ConfigError as exc:
        fail(definition_error(exc.path, exc.message))
    except LayoutError as exc:
        fail(definition_error(exc.path, exc.message))
    try:
        if quiet:
            result = run_rehearsal(m, store_url, run_dir)
        else:
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                          TimeRemainingColumn(), console=console, transient=False) as prog:
                tasks: dict[str, int] = {}

                def progress(file_id: str, done: int, total: int) -> None:
                    if file_id not in tasks:
                        tasks[file_id] = prog.add_task(f"読込 {file_id}", total=total)
                    prog.update(tasks[file_id], completed=done)

                result = run_rehearsal(m, store_url, run_dir, progress=progress)
    except (StoreError, ConfigError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror} — ストアは変更されていません (the store was left as it was)")
    s = result.summary
    if not quiet:
        _print_summary(s)
    status = ("ロードしました (LOADED)" if result.exit_code == 0
              else "不採用: 重大な検査結果のため何もロードしていません (REJECTED: nothing was loaded)")
    out.print(f"run {s['run_id']}: {status} — 読込 {s['records_read']:,} = 変換済 {s['records_staged']:,} "
              f"+ 隔離 {s['records_quarantined']:,}; ロード {s['records_loaded']:,}")
    out.print(f"store:      {s['store']}")
    out.print(f"quarantine: {result.run_dir / 'quarantine'}")
    out.print(f"summary:    {result.run_dir / 'summary.json'}")
    if (result.run_dir / "report" / "report.html").exists():
        out.print(f"report:     {result.run_dir / 'report' / 'report.html'}")
    if rosters_as_of and result.exit_code == 0:
        _roster_reports(result.run_dir, store_url, rosters_as_of)
    elif rosters_as_of:
        out.print("名簿レポート: 不採用のため書いていません (nothing was loaded)")
    raise typer.Exit(result.exit_code)


def _roster_reports(run_dir: Path, store_url: str, as_of: str) -> None:
    from kikan_hub.api.cli_rosters import rehearsal_roster_reports
    from kikan_hub.modules.juki import JukiQueryError
    from kikan_hub.modules.rosters import RosterError

    try:
        written = rehearsal_roster_reports(run_dir, store_url, as_of)
    except (RosterError, JukiQueryError) as exc:
        fail(f"名簿レポート: {exc} — リハーサルはロード済みです (the rehearsal itself was loaded)")
    for div, paths in written.items():
        out.print(f"名簿:       {div}: {paths['html']}")


def _print_summary(s: dict) -> None:
    t = RichTable(title=f"移行リハーサル {s['run_id']} ({s['source_system']})")
    counts = ("読込", "変換済", "ロード", "隔離")
    for col in ("ファイル", "レコード種別", *counts):
        t.add_column(col, justify="right" if col in counts else "left")
    for fid, rts in s["files"].items():
        for rt, c in rts.items():
            t.add_row(fid, rt, f"{c['read']:,}", f"{c['staged']:,}", f"{c['loaded']:,}", f"{c['quarantined']:,}")
    t.add_row("合計", "", f"{s['records_read']:,}", f"{s['records_staged']:,}", f"{s['records_loaded']:,}",
              f"{s['records_quarantined']:,}")
    out.print(t)
    _print_by_gyomu(s.get("by_gyomu") or {})
    gate = s["gate"]
    if gate["rules"]:
        g = RichTable(title=f"読込・変換の検査（隔離）: {gate.get('records_outcome', gate['outcome'])}")
        for col in ("ルール", "内容", "件数", "水準"):
            g.add_column(col)
        for r in s["gate"]["rules"]:
            g.add_row(r["rule_id"], r["title"], f"{r['failed']:,}", r["level"])
        out.print(g)
    v = s.get("validation")
    if v and v["rules"]:
        g = RichTable(title=f"業務ルール検証: {v['outcome']}")
        for col in ("ルール", "内容", "担当課", "件数", "水準"):
            g.add_column(col)
        for r in v["rules"]:
            g.add_row(r["rule_id"], r["title"], r["division"], f"{r['failed']:,} / {r['total']:,}", r["level"])
        out.print(g)
    for o in s.get("rule_overrides", []):  # a rule judged differently for this rehearsal, and why
        out.print(f"ルール変更 {o['rule_id']}: {', '.join(k for k in ('thresholds', 'severity') if k in o)} — 理由: {o['reason']}")
    decided = "、".join(gate.get("decided_by") or [])
    out.print(f"ゲート判定: {gate['outcome']}" + (f"（{decided}）" if decided else ""))
    for c in s.get("control", []):
        mark = "一致" if c.get("ok") else "不一致"
        out.print(f"トレーラ照合 {c['file_id']} {c.get('kind', '')}: {mark}（トレーラ {c.get('expected')}、実際 {c.get('actual')}）")


def _print_by_gyomu(by_gyomu: dict) -> None:
    """The same records per 業務 and its 担当課 (summary.json by_gyomu): each division checks its own counts."""
    if not by_gyomu:
        return
    t = RichTable(title="業務別の件数")
    counts = ("読込", "変換済", "ロード", "隔離")
    for col in ("業務", "担当課", *counts):
        t.add_column(col, justify="right" if col in counts else "left")
    for g in by_gyomu.values():
        t.add_row(g["gyomu"], "・".join(g["divisions"]), f"{g['records_read']:,}", f"{g['records_staged']:,}",
                  f"{g['records_loaded']:,}", f"{g['records_quarantined']:,}")
    out.print(t)


install_subcommands(app)


def main() -> None:
    from kikan_hub.layouts.errors import LayoutError

    try:
        app()
    except LayoutError as exc:  # a definition file (shipped or on KIKAN_DEFINITIONS_PATH) to fix: exit 2
        console.print(f"エラー: {definition_error(exc.path, exc.message)}", markup=False, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("中断しました (interrupted)")
        sys.exit(130)


if __name__ == "__main__":
    main()
