"""`kikan gaiji …`: clerk tools for 外字 — MJ index, register, identification, folding."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from kikan_hub.api.cli_support import fail

app = typer.Typer(help="外字: MJ索引・外字台帳・同定・縮退 (MJ index, gaiji register, identification, folding).",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
out = Console()


def _index_path(data_dir: Optional[Path]) -> Path:
    from kikan_hub.gaiji.paths import default_mj_index_path

    return default_mj_index_path(data_dir)


def _guard(fn):
    """Turn the package's errors and OS errors into a message and exit 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        from kikan_hub.gaiji.errors import GaijiError

        try:
            return fn(*a, **kw)
        except GaijiError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    return wrapper


DataDir = typer.Option(None, "--data-dir", help="the hub's data directory (default KIKAN_DATA_DIR or ./var)")


@app.command("import-mj")
@_guard
def import_mj(paths: list[Path] = typer.Argument(..., help="mji.00602.xlsx, mji-list.00602.tsv, mojikiban_moji*.csv …"),
              data_dir: Optional[Path] = DataDir,
              version: Optional[str] = typer.Option(None, "--version", help="version label (default: from the file name)")) -> None:
    """MJ文字情報一覧表 (xlsx, Strict OOXML) や抽出TSV/CSVをMJ索引に取り込む。複数指定可。"""
    from kikan_hub.gaiji.mj_index import import_atomically

    target = _index_path(data_dir)

    def told(p: Path, s: dict) -> None:
        out.print(f"{p.name}: {s['kind']} {s['rows']:,} 行 (version {s['version'] or '-'}, sha256 {s['sha256'][:16]}…)")

    count = import_atomically(target, paths, version=version, on_file=told)  # all files or none
    out.print(f"MJ索引 {target}: {count:,} 文字")


@app.command("fetch-mj")
@_guard
def fetch_mj(url: str = typer.Option(..., "--url"), sha256: str = typer.Option(..., "--sha256"),
             data_dir: Optional[Path] = DataDir,
             do_import: bool = typer.Option(False, "--import", help="import into the MJ index after verifying")) -> None:
    """公式ファイルをダウンロードし SHA-256 を検証する (不一致なら何も残さない)。"""
    from kikan_hub.gaiji.fetch import fetch
    from kikan_hub.gaiji.paths import data_dir as ddir

    path = fetch(url, sha256, ddir(data_dir) / "downloads")
    out.print(f"検証済み: {path}")
    if do_import:
        import_mj([path], data_dir, None)


@app.command("lookup")
@_guard
def lookup(query: str = typer.Argument(..., help="MJ文字図形名, 文字, U+XXXX, J+XXXX"),
           data_dir: Optional[Path] = DataDir, as_json: bool = typer.Option(False, "--json")) -> None:
    """MJ文字を調べる。"""
    from kikan_hub.gaiji.codes import format_sequence
    from kikan_hub.gaiji.mj_index import MJIndex

    with MJIndex.open(_index_path(data_dir)) as idx:
        recs = idx.lookup(query)
    if not recs:
        fail(f"{query}: MJ索引に該当なし (not found)", code=1)
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in recs], ensure_ascii=False))
        return
    t = Table(title=f"検索: {query}")
    for col in ("MJ文字図形名", "文字", "Unicode", "対応するUCS", "IVS", "X0213", "総画数", "読み", "縮退先"):
        t.add_column(col)
    for r in recs:
        t.add_row(r.mj, r.text or "", format_sequence(r.text) if r.text else "—",
                  format_sequence(r.taio_ucs) if r.taio_ucs else "", " ".join(format_sequence(s, "_") for s in r.ivs),
                  r.x0213, str(r.strokes or ""), "・".join(r.yomi), r.shrink)
    out.print(t)


@app.command("fold")
@_guard
def fold(text: str = typer.Argument(...), to: str = typer.Option(..., "--to", help="jisx0208 | jisx0213 | a codec (cp932)"),
         as_json: bool = typer.Option(False, "--json"), data_dir: Optional[Path] = DataDir) -> None:
    """受け手の文字集合に合わせて縮退する (MJ縮退マップ)。縮退できない文字は終了コード1で報告。"""
    from kikan_hub.gaiji.fold import fold_text
    from kikan_hub.gaiji.mj_index import MJIndex

    related = None
    idx_path = _index_path(data_dir)
    if idx_path.exists():   # the index adds 辞書類等による関連字 (not compiled into jntajis-python)
        with MJIndex(idx_path) as idx:
            related = idx.shrink_map() or None
    folded, records = fold_text(text, to, related)
    if as_json:
        out.print_json(json.dumps({"text": folded, "folds": [r.as_dict() for r in records]}, ensure_ascii=False))
    else:
        print(folded)
        for r in records:
            arrow = r.to if r.to is not None else "（縮退不可・そのまま）"
            Console(stderr=True).print(f"  位置{r.position}: {r.from_} → {arrow}  [{r.category}]", highlight=False)
    if any(r.to is None for r in records):
        raise typer.Exit(1)


@app.command("identify")
@_guard
def identify(register: Path = typer.Argument(..., help="外字台帳 CSV"), data_dir: Optional[Path] = DataDir,
             by: Optional[str] = typer.Option(None, "--by", help="who runs it (logged)"),
             limit: int = typer.Option(5, "--limit"), dry_run: bool = typer.Option(False, "--dry-run"),
             out_path: Optional[Path] = typer.Option(None, "--out", help="write candidates as JSON")) -> None:
    """未同定の行にMJ候補を提案する (スコア付き)。候補のある行は「候補あり」になる。"""
    from kikan_hub.gaiji.identify import identify_register
    from kikan_hub.gaiji.mj_index import MJIndex
    from kikan_hub.gaiji.register import GaijiRegister, default_user

    reg = GaijiRegister.load(register)
    with MJIndex.open(_index_path(data_dir)) as idx:
        result = identify_register(reg, idx, by=by or default_user(), limit=limit, mark=not dry_run)
    if not dry_run:
        reg.save()
    t = Table(title="同定候補")
    for col in ("移行元", "コード", "順位", "MJ文字図形名", "文字", "スコア", "根拠"):
        t.add_column(col)
    for (system, code), cands in result.items():
        if not cands:
            t.add_row(system, code, "—", "", "", "", "手がかりなし")
        for i, c in enumerate(cands, start=1):
            t.add_row(system, code, str(i), c.mj, c.text or "", f"{c.score:.2f}", "、".join(c.reasons))
    out.print(t)
    if out_path:
        out_path.write_text(json.dumps([{"source_system": s, "source_code": c, "candidates": [x.as_dict() for x in cs]}
                                        for (s, c), cs in result.items()], ensure_ascii=False, indent=2), encoding="utf-8")


@app.command("decide")
@_guard
def decide(register: Path = typer.Argument(...), source_system: str = typer.Argument(...), source_code: str = typer.Argument(...),
           mj: Optional[str] = typer.Option(None, "--mj"), gj: Optional[str] = typer.Option(None, "--gj"),
           ucs: Optional[str] = typer.Option(None, "--ucs"), pua: Optional[str] = typer.Option(None, "--pua"),
           note: Optional[str] = typer.Option(None, "--note", help="glyph note"),
           status: Optional[str] = typer.Option(None, "--status"), by: str = typer.Option(..., "--by"),
           reason: str = typer.Option("", "--reason"), data_dir: Optional[Path] = DataDir,
           encoding: str = typer.Option("cp932", "--encoding",
                                        help="移行元ファイルの文字コード: pua を source_code から導く (F140 → U+E0BC)")) -> None:
    """外字台帳の1行を決定する (判断は決定ログに追記される)。--mj だけなら UCS は MJ索引から補い、pua が空なら source_code から導く。"""
    from kikan_hub.gaiji.codes import format_sequence
    from kikan_hub.gaiji.register import GaijiRegister, derive_pua
    from kikan_hub.pipeline.register_setup import decoder_for

    reg = GaijiRegister.open_or_new(register)
    changes = {k: v for k, v in {"mj": mj, "gj": gj, "ucs": ucs, "pua": pua, "glyph_note": note, "status": status}.items()
               if v is not None}
    current = reg.get(source_system, source_code)
    if pua is None and not (current and current.pua):
        # A row without pua matches no character of the input: derive it, or refuse to write it.
        derived = derive_pua(source_code, [decoder_for(encoding)])
        if derived is None:
            fail(f"{source_code}: {encoding} の外字領域のコードとして読めないため pua を導けません — --pua U+E0BC で指定するか "
                 f"--encoding を直してください (cannot derive pua from the source code)")
        changes["pua"] = derived
    if mj and ucs is None:
        from kikan_hub.gaiji.mj_index import MJIndex

        idx_path = _index_path(data_dir)
        if idx_path.exists():
            with MJIndex.open(idx_path) as idx:
                rec = idx.get(mj)
                if rec is None:
                    fail(f"{mj}: MJ索引にありません")
                if rec.text:
                    changes["ucs"] = format_sequence(rec.text)
    row = reg.decide(source_system, source_code, by=by, reason=reason, **changes)
    reg.save()
    out.print(f"{row.source_system} {row.source_code}: {row.status} mj={row.mj or '-'} ucs={row.ucs or '-'} ({row.decided_by} {row.decided_at})")


@app.command("register-import")
@_guard
def register_import(source: Path = typer.Argument(..., help="CSV or Excel (Japanese or contract headers)"),
                    register: Path = typer.Option(..., "--register", help="the register CSV to merge into"),
                    by: Optional[str] = typer.Option(None, "--by")) -> None:
    """外字台帳を取り込む (CSV / Excel)。変わった行はすべて決定ログに残る。"""
    from kikan_hub.gaiji.register import GaijiRegister, default_user

    incoming = GaijiRegister.load(source)
    reg = GaijiRegister.open_or_new(register)
    n = reg.merge(incoming, by=by or default_user(), reason=f"import {source.name}")
    reg.save()
    out.print(f"{source}: {len(incoming)} 行, 変更 {n} 行 → {register}")


@app.command("register-export")
@_guard
def register_export(register: Path = typer.Argument(...), out_path: Path = typer.Option(..., "--out", help=".csv or .xlsx")) -> None:
    """外字台帳を書き出す (Excel は日本語見出し)。"""
    from kikan_hub.gaiji.register import GaijiRegister

    reg = GaijiRegister.load(register)
    reg.save(out_path)
    out.print(f"{len(reg)} 行 → {out_path}")


@app.command("match-glyphs")
@_guard
def match_glyphs(font: Path = typer.Argument(..., help="the vendor's gaiji font (EUDC .TTE, TrueType/OpenType, BDF/PCF/FNT)"),
                 register: Optional[Path] = typer.Option(None, "--register", help="外字台帳: its notes (画数・読み・MJ番号) refine the order"),
                 top: int = typer.Option(5, "--top", help="candidates per vendor glyph"),
                 out_path: Optional[Path] = typer.Option(None, "--out", help="write candidates.json here (default: stdout)"),
                 mj_font: Optional[Path] = typer.Option(None, "--mj-font", help="IPAmj明朝 (default KIKAN_MJ_FONT, then fontconfig)"),
                 encoding: str = typer.Option("cp932", "--encoding", help="the vendor's encoding for source codes"),
                 source_system: Optional[str] = typer.Option(None, "--source-system", help="only this system's register rows"),
                 data_dir: Optional[Path] = DataDir) -> None:
    """外字フォントの字形を IPAmj明朝 の全MJ字形と照合し、私用領域の各文字にMJ候補を順位付けする。"""
    import time

    from kikan_hub.gaiji.glyphs.match import Hints, check_encoding, match_font, private_use_glyphs
    from kikan_hub.gaiji.glyphs.reference import find_mj_font, load_reference
    from kikan_hub.gaiji.glyphs.render import GlyphRenderer
    from kikan_hub.gaiji.paths import data_dir as ddir

    err = Console(stderr=True)
    vendor = GlyphRenderer(font)
    private_use_glyphs(vendor)      # before the (possibly long) reference build
    check_encoding(encoding)
    ref_font = find_mj_font(mj_font)
    ref = load_reference(ref_font, ddir(data_dir))
    if ref.build_seconds is not None:
        err.print(f"MJ字形の特徴量を作成: {len(ref.mj):,} 字形 {ref.build_seconds:.1f} 秒 → {ref.cache_path}")
    hints = None
    if register is not None:
        from kikan_hub.gaiji.register import GaijiRegister

        reg = GaijiRegister.load(register)
        idx_path = _index_path(data_dir)
        index = None
        if idx_path.exists():
            from kikan_hub.gaiji.mj_index import MJIndex

            index = MJIndex.open(idx_path)
        else:
            err.print(f"MJ索引 {idx_path} がないため台帳のメモ (画数・読み) は使いません")
        hints = Hints(reg, index, source_system)
    t0 = time.perf_counter()
    matches = match_font(vendor, ref, top=top, encoding=encoding, hints=hints)
    took = time.perf_counter() - t0
    text = json.dumps([m.as_dict() for m in matches], ensure_ascii=False, indent=1)
    if out_path:
        out_path.write_text(text + "\n", encoding="utf-8")
        err.print(f"{len(matches):,} 文字 × {len(ref.mj):,} MJ字形: {took:.1f} 秒 → {out_path}")
    else:
        print(text)


@app.command("review")
@_guard
def review(register: Path = typer.Option(..., "--register", help="外字台帳 CSV/Excel (decisions are written here)"),
           font: Path = typer.Option(..., "--font", help="the vendor's gaiji font"),
           host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8090, "--port"),
           source_system: Optional[str] = typer.Option(None, "--source-system",
                                                       help="移行元システム of new rows (default: the register's only one)"),
           mj_font: Optional[Path] = typer.Option(None, "--mj-font"),
           encoding: str = typer.Option("cp932", "--encoding"), top: int = typer.Option(9, "--top"),
           store: Optional[str] = typer.Option(None, "--store", help="the hub's store (accounts); default sqlite:///var/kikan.db"),
           data_dir: Optional[Path] = DataDir) -> None:
    """外字同定の確認ページを起動する (ハブのアカウントでログイン、判断は外字台帳と決定ログへ)。"""
    import uvicorn

    from kikan_hub.api.review.server import build_review_app

    application = build_review_app(register=register, font=font, source_system=source_system, mj_font=mj_font,
                                   encoding=encoding, top=top, store=store, data_dir=data_dir,
                                   progress=Console(stderr=True).print)
    Console(stderr=True).print(f"確認ページ: http://{host}:{port}/")
    uvicorn.run(application, host=host, port=port, workers=1, server_header=False, log_level="warning")
