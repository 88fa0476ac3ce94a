"""`kikan roster NAME --as-of DATE --out FILE`: a division's roster from 住民記録 as of a date."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from kikan_hub.api.cli_modules import STORE_OPT, _engine, _print_json, _who, out
from kikan_hub.api.cli_support import fail


def roster_command(
        name: str = typer.Argument(..., help="senkyo | gakureibo | keiro | seijin (modules/rosters/rules/*.yaml)"),
        as_of: str = typer.Option(..., "--as-of", help="基準日 (YYYY-MM-DD)"),
        out_path: Path = typer.Option(..., "--out", "-o", help="output file (.csv / .xlsx / .parquet)"),
        fmt: Optional[str] = typer.Option(None, "--format", help="csv | xlsx | parquet (default from --out)"),
        encoding: str = typer.Option("utf-8", "--encoding", help="utf-8 | utf-8-sig | cp932 (CSV)"),
        fold_policy: str = typer.Option("mj", "--fold", help="mj | geta | strict (CP932: every fold in OUT.folds.csv)"),
        role: str = typer.Option("閲覧", "--role", help="masking role (layouts/personal.yaml euc_roles)"),
        everyone: bool = typer.Option(False, "--all", help="also the persons not listed, with the reason (対象外)"),
        who: Optional[str] = typer.Option(None, "--who"), store: Optional[str] = STORE_OPT,
        as_json: bool = typer.Option(False, "--json", help="summary as JSON on stdout")) -> None:
    """Compute a roster (選挙人名簿, 学齢簿, 敬老寿賀, 成人の祝賀式) with every person's reason; audited."""
    from kikan_hub.modules.euc import EucError, MaskingError
    from kikan_hub.modules.juki import JukiQueryError
    from kikan_hub.modules.rosters import RosterError, compute
    from kikan_hub.modules.rosters.output import write

    engine = _engine(store)
    try:
        result = compute(engine, name, as_of)
        summary = write(engine, result, out_path, _who(who), role, fmt, encoding, fold_policy, listed_only=not everyone)
    except (RosterError, JukiQueryError, MaskingError, EucError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out_path}: {exc.strerror}")
    counts: dict[str, int] = {}
    for j in result.table["判定"].to_pylist():
        counts[j] = counts.get(j, 0) + 1
    summary["counts"] = counts
    if as_json:
        _print_json(summary)
        return
    out.print(f"{result.rule.title} (基準日 {result.as_of}): " + "、".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
              + f" → {summary['output']} ({summary['rows']:,} 行, 縮退 {summary['folds']}, 監査 {summary['audit_id']})")


def roster_report_command(
        as_of: str = typer.Option(..., "--as-of", help="基準日 (YYYY-MM-DD; リハーサルの基準日)"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="output folder: 名簿_<担当課>.{html,xlsx,json}"),
        names: list[str] = typer.Option([], "--roster", help="only these rosters (repeatable; default: all)"),
        store: Optional[str] = STORE_OPT) -> None:
    """名簿レポート per 担当課: each roster's 掲載 / 表示 / 対象外 counts with the reasons and breakdowns (counts only)."""
    from kikan_hub.modules.juki import JukiQueryError
    from kikan_hub.modules.rosters import RosterError
    from kikan_hub.modules.rosters.report import write_reports

    try:
        written = write_reports(_engine(store), as_of, out_dir, list(names) or None)
    except (RosterError, JukiQueryError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out_dir}: {exc.strerror}")
    for div, paths in written.items():
        out.print(f"{div}: {paths['html']}")


def rehearsal_roster_reports(run_dir: Path, store_url: str, as_of: str) -> dict[str, dict[str, str]]:
    """`kikan rehearse --rosters-as-of D`: the 名簿レポート per 担当課 beside the run's division reports
    (RUN/report/名簿_<担当課>.*), listed in summary.json under reports.rosters. Only after a loaded run: the
    rosters read the store, and a rejected run changed nothing in it."""
    import json

    from kikan_hub.modules.rosters.report import write_reports
    from kikan_hub.store.engine import open_engine

    engine = open_engine(store_url)
    try:
        written = write_reports(engine, as_of, Path(run_dir) / "report")
    finally:
        engine.dispose()
    summary_path = Path(run_dir) / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary.setdefault("reports", {})["rosters"] = {"as_of": as_of, "by_division": written}
    summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return written
