"""`kikan sample`: write the fictional old vendor's extract set (旧住記) with its ground truth."""
from __future__ import annotations

import time
from pathlib import Path

import typer

app = typer.Typer(help="架空の旧住記 (ベンダー「架空システム」) の移行元データを生成する")


@app.command("sample")
def sample_command(
    residents: int = typer.Option(..., "--residents", "-n", min=1, help="住民 (宛名) の数"),
    out: Path = typer.Option(..., "--out", "-o", help="出力先ディレクトリ"),
    seed: int = typer.Option(0, "--seed", help="乱数の種 (同じ N と種 → バイト単位で同じ出力)"),
    defect_rate: float | None = typer.Option(None, "--defect-rate", min=0.0, max=0.5,
                                             help="欠陥レコードを仕込む割合 (データレコードごと; 既定はプロファイルの "
                                             "default_rate, 出荷時 0.01)"),
    unidentified_gaiji: int = typer.Option(0, "--unidentified-gaiji", min=0,
                                           help="外字台帳で未同定のまま残す外字の数"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="進捗を表示しない"),
    profile: list[Path] = typer.Option([], "--profile", metavar="FILE", help="生成プロファイル (YAML) で出荷時のものを置き換える "
                                       "(業務ごと, 繰り返し可; kikan_hub/sample/README.md)"),
    encoding: str = typer.Option("cp932", "--encoding", help="ホスト版を書く文字コード (ibm930/939/1390/1399, "
                                 "jef-ebcdik, keis83, jips-e …; 既定 cp932)"),
    city: bool = typer.Option(False, "--city", help="市全体: 住民記録・税に加え、定義のあるすべての業務を各ベンダーの抽出"
                              "ファイルとして書く (kikan_hub/sample/README.md「Whole-city sample」)"),
) -> None:
    """旧住記の抽出ファイル (JUMIN.DAT, SETAI.DAT)、レイアウト、マッピング、外字台帳、マニフェストと正解データ (truth/) を書く。"""
    if city:
        from kikan_hub.api.cli_support import fail
        if encoding.lower() != "cp932" or unidentified_gaiji:
            fail("--city は --encoding (ホスト版) と --unidentified-gaiji を取りません")
        from kikan_hub.api.cli_city import run_city
        return run_city(residents, out, seed, defect_rate, tuple(profile), quiet)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kikan_hub.sample.generator import SampleOptions, generate

    console = Console(stderr=True)
    started = time.perf_counter()
    final_out = out
    if encoding.lower() != "cp932":  # the host version: written from a CP932 sample (kikan_hub.sample.host)
        import tempfile

        from kikan_hub.adapters.codecs import CodecError, get_codec
        from kikan_hub.api.cli_support import fail
        try:
            if not get_codec(encoding).stateful:
                fail(f"--encoding {encoding}: the host version needs a mainframe encoding (kikan codecs list)")
        except CodecError as exc:
            fail(str(exc))
        out.parent.mkdir(parents=True, exist_ok=True)
        out = Path(tempfile.mkdtemp(prefix=".cp932-", dir=out.parent))
    try:
        if quiet:
            summary = generate(SampleOptions(residents=residents, out=out, seed=seed, defect_rate=defect_rate,
                                             unidentified_gaiji=unidentified_gaiji, profiles=tuple(profile)))
        else:
            with Progress(TextColumn("住民データ生成"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                          TimeElapsedColumn(), console=console, transient=True) as progress:
                task = progress.add_task("gen", total=residents)
                summary = generate(SampleOptions(
                    residents=residents, out=out, seed=seed, defect_rate=defect_rate,
                    unidentified_gaiji=unidentified_gaiji, profiles=tuple(profile),
                    progress=lambda done, total: progress.update(task, completed=done)))
        if final_out != out:
            import shutil

            from kikan_hub.sample.host import write_host_sample
            try:
                write_host_sample(out, final_out, encoding)
            finally:
                shutil.rmtree(out, ignore_errors=True)
            out = final_out
    except ValueError as exc:
        from kikan_hub.api.cli_support import fail
        fail(str(exc))
    elapsed = time.perf_counter() - started
    if not quiet:
        for fid, f in summary["files"].items():
            console.print(f"{f['path']}: {f['read']:,} レコード (うち欠陥 {f['expected_quarantined']:,}), "
                          f"{f['bytes']:,} バイト")
        console.print(f"住民 {summary['residents']:,} 人 / 世帯 {summary['households']:,} → {out} ({elapsed:.1f} 秒)")
