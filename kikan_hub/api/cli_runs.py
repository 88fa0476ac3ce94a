"""`kikan runs` (the rehearsal ledger) and `kikan runs purge RUN_ID`.

A rehearsal leaves personal data in its run directory: staging/ (every canonical row, 個人番号
included) and quarantine/ (raw records). Once the division has checked the run and signs it off,
`purge` removes exactly those two folders' files and records who signed off, when, and what was
removed (path, bytes, SHA-256) in kikan_run_purges next to the ledger. summary.json and the masked
reports stay: the run's accounting remains readable.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from kikan_hub.api.cli_support import fail
from kikan_hub.pipeline.manifest import sha256_of

app = typer.Typer(help="移行リハーサル実行台帳の一覧と、確認済みの実行の個人データ消去", add_completion=False,
                  invoke_without_command=True)
out = Console()
PURGED = ("staging", "quarantine")


def _engine(store: Optional[str], migrate: bool = False):
    """The store must exist (a typo never becomes an empty store); only purge, which writes, migrates it."""
    from kikan_hub.store.engine import StoreError, open_existing_engine
    from kikan_hub.store.migrate import upgrade
    try:
        engine = open_existing_engine(store)
        if migrate:
            upgrade(engine)
    except StoreError as exc:
        fail(str(exc))
    return engine


@app.callback()
def runs(ctx: typer.Context, store: Optional[str] = typer.Option(None, "--store"),
         limit: int = typer.Option(20, "--limit")) -> None:
    """List the rehearsal ledger (移行リハーサル実行台帳) of a store."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy import select

    from kikan_hub.store.schema import LEDGER, build_metadata
    engine = _engine(store)
    ledger = build_metadata().tables[LEDGER]
    t = RichTable(title="実行台帳")
    for col in ("run_id", "attempt", "status", "read", "loaded", "quarantined", "finished_at"):
        t.add_column(col)
    with engine.connect() as conn:
        rows = conn.execute(select(ledger).order_by(ledger.c.finished_at.desc()).limit(limit)).mappings().all()
    for r in rows:
        t.add_row(r["run_id"], str(r["attempt"]), r["status"], f"{r['records_read']:,}", f"{r['records_loaded']:,}",
                  f"{r['records_quarantined']:,}", str(r["finished_at"]))
    out.print(t)


@app.command("purge")
def purge(run_id: str = typer.Argument(..., help="run_id (kikan runs で確認)"),
          signed_off_by: str = typer.Option(..., "--signed-off-by", help="確認した職員の氏名または職員番号"),
          division: str = typer.Option(..., "--division", help="業務担当課 (例 市民課)"),
          run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="実行ディレクトリ (省略時は台帳の記録)"),
          store: Optional[str] = typer.Option(None, "--store")) -> None:
    """確認済みの実行の staging/ と quarantine/ (個人データ) を消去し、消去記録を台帳に残す。"""
    from sqlalchemy import insert, select

    from kikan_hub.store.schema import LEDGER, build_metadata
    from kikan_hub.api.tables import RUN_PURGES
    if not signed_off_by.strip() or not division.strip():
        fail("--signed-off-by と --division を指定してください")
    engine = _engine(store, migrate=True)
    md = build_metadata()
    ledger = md.tables[LEDGER]
    with engine.connect() as conn:
        row = conn.execute(select(ledger).where(ledger.c.run_id == run_id).order_by(ledger.c.attempt.desc())
                           ).mappings().first()
    if row is None:
        fail(f"run_id {run_id} は実行台帳にありません (kikan runs で確認してください)")
    summary = json.loads(row["summary_json"] or "{}")
    target = Path(run_dir or summary.get("run_dir") or "")
    if not str(target) or not (target / "summary.json").is_file():
        fail(f"{target}: 実行ディレクトリ (summary.json) が見つかりません。--run-dir で指定してください")
    try:
        on_disk = json.loads((target / "summary.json").read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError) as exc:
        fail(f"{target / 'summary.json'}: 読めません ({exc})")
    if on_disk != run_id:
        fail(f"{target} は run {on_disk} の実行ディレクトリです ({run_id} ではありません)")
    removed = []
    for sub in PURGED:
        folder = target / sub
        if not folder.is_dir():
            continue
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            removed.append({"path": str(f.relative_to(target)), "bytes": f.stat().st_size, "sha256": sha256_of(f)[0]})
    for item in removed:
        (target / item["path"]).unlink()
    for sub in PURGED:
        if (target / sub).is_dir():
            for d in sorted((p for p in (target / sub).rglob("*") if p.is_dir()), reverse=True):
                d.rmdir()
            (target / sub).rmdir()
    total = sum(i["bytes"] for i in removed)
    with engine.begin() as conn:
        conn.execute(insert(md.tables[RUN_PURGES]).values(
            run_id=run_id, run_dir=str(target.resolve()), purged_at=dt.datetime.now(dt.timezone.utc),
            signed_off_by=signed_off_by.strip(), division=division.strip(), files_removed=len(removed),
            bytes_removed=total, removed_json=json.dumps(removed, ensure_ascii=False)))
    out.print(f"run {run_id}: {len(removed):,} ファイル ({total:,} バイト) を消去しました "
              f"({division.strip()} {signed_off_by.strip()} 確認)。summary.json とレポートは残しています")
