"""`kikan sample --city`: the whole-city sample (every 業務, several vendors) and its summary table."""
from __future__ import annotations

import time
from pathlib import Path


def run_city(residents: int, out: Path, seed: int, defect_rate: float | None, profiles: tuple[Path, ...],
             quiet: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from kikan_hub.api.cli_support import fail
    from kikan_hub.sample.city import CityOptions, generate_city
    from kikan_hub.sample.profile import ProfileError

    console = Console(stderr=True)
    started = time.perf_counter()
    try:
        summary = generate_city(CityOptions(residents=residents, out=out, seed=seed, defect_rate=defect_rate,
                                            juki_profiles=profiles))
    except (ValueError, ProfileError) as exc:
        fail(str(exc))
    elapsed = time.perf_counter() - started
    table = Table(title=f"架空市 全業務のサンプル: 住民 {residents:,} 人 → {out}")
    numbers = ("データ件数", "ロード予定", "隔離予定", "欠陥")
    for col in ("業務", "ファイル", "ベンダー") + numbers:
        table.add_column(col, justify="right" if col in numbers else "left", no_wrap=True)
    for fid, f in sorted(summary["files"].items(), key=lambda kv: (kv[1]["gyomu_id"], kv[0])):
        defects = sum((f.get("defects") or {}).values())
        table.add_row(f["gyomu_id"], fid, f.get("vendor", ""), f"{f['data_records']:,}", f"{f['expected_loaded']:,}",
                      f"{f['expected_quarantined']:,}", f"{defects:,}")
    if not quiet:
        Console().print(table)
    n_files, n_gyomu = len(summary["files"]), len(summary["by_gyomu"])
    console.print(f"{n_gyomu} 業務 / {n_files} ファイル → {out}/manifest.yaml ({elapsed:.1f} 秒)")
