"""CLI of the business modules: `kikan juki …`, `kikan atena …`, `kikan euc …`.

Mount with ``app.add_typer(juki_app, name="juki")`` etc. (or the SUBCOMMANDS table in cli_support:
("juki", "kikan_hub.api.cli_modules", "juki_app"), ("atena", …, "atena_app"), ("euc", …, "euc_app")).
Output is JSON on stdout (``--json``) or a table; user errors exit 2 with a message, no traceback.
"""
from __future__ import annotations

import datetime as dt
import decimal
import getpass
import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from kikan_hub.api.cli_support import fail

out = Console()
STORE_OPT = typer.Option(None, "--store", help="ストア（ロード済みのデータベース）の URL。既定 sqlite:///var/kikan.db")
AS_OF_HELP = "時点の日付（2024-04-01、令和6年4月1日、R6.4.1 など。省略すると最新）"
THRESHOLD_HELP = "候補にする近さの下限（0〜1）"
WHO_HELP = "操作した人（省略すると KIKAN_USER またはログイン名）"
JSON_OPT = typer.Option(False, "--json", help="結果を JSON で出力する")


def _who(who: str | None) -> str:
    return who or os.environ.get("KIKAN_USER") or getpass.getuser()


def _engine(store: str | None):
    """The loaded store (it must exist: a typo never becomes an empty store), brought to the current schema."""
    from kikan_hub.store.engine import StoreError, open_existing_engine
    from kikan_hub.store.migrate import upgrade

    try:
        engine = open_existing_engine(store)
        upgrade(engine)
        return engine
    except StoreError as exc:
        fail(str(exc))


def _default(o):
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)


def _print_json(data) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=_default))


def _table(title: str, cols: list[str], rows: list[list]) -> None:
    t = RichTable(title=title)
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    out.print(t)


def _user_errors():
    from kikan_hub.modules.atena import AtenaError
    from kikan_hub.modules.euc import EucError, MaskingError
    from kikan_hub.modules.juki import JukiQueryError
    return (AtenaError, EucError, MaskingError, JukiQueryError)


# ============================================================ juki
juki_app = typer.Typer(help="住民記録: 時点の個人・世帯、除票、異動統計", no_args_is_help=True)


@juki_app.command("person")
def juki_person(atena_no: str = typer.Argument(..., help="宛名番号"), as_of: Optional[str] = typer.Option(None, "--as-of", help=AS_OF_HELP),
                history: bool = typer.Option(False, "--history", help="履歴もすべて表示する"),
                store: Optional[str] = STORE_OPT, as_json: bool = JSON_OPT) -> None:
    """個人: 指定した時点で有効な記録（異動日がその日以前で履歴番号が最大のもの）を表示する。"""
    from kikan_hub.modules import juki
    try:
        p = juki.person(_engine(store), atena_no, as_of, with_history=history)
    except _user_errors() as exc:
        fail(str(exc))
    if as_json:
        _print_json(p.as_dict())
    else:
        if p.row is None:
            fail(f"{atena_no}: {as_of or '最新'} 時点の記録はありません", code=1)
        r = p.row
        state = "住民" if p.resident else f"除票 (消除事由 {r.get('shojo_jiyu')})"
        _table(f"宛名番号 {atena_no} — {as_of or '最新'} 時点 ({state}{'、異動日不詳を含む' if p.date_uncertain else ''})",
               ["項目", "値"], [[k, v] for k, v in r.items() if not k.startswith("_")])
        if history:
            _table("履歴", ["履歴番号", "異動事由", "異動日", "世帯番号", "続柄", "町字"],
                   [[h["rireki_no"], h["idou_jiyu"], h["idou_date"] or h.get("idou_date_literal"), h["setai_no"],
                     h["zokugara"], h["machiaza"]] for h in p.history])
    if p.row is None:
        raise typer.Exit(1)


@juki_app.command("household")
def juki_household(setai_no: str = typer.Argument(..., help="世帯番号"), as_of: Optional[str] = typer.Option(None, "--as-of", help=AS_OF_HELP),
                   store: Optional[str] = STORE_OPT, as_json: bool = JSON_OPT) -> None:
    """世帯: 指定した時点の世帯員を表示する（世帯主が先頭）。"""
    from kikan_hub.modules import juki
    try:
        view = juki.household_view(_engine(store), setai_no, as_of)
    except _user_errors() as exc:
        fail(str(exc))
    rows = view.members
    if as_json:
        _print_json(view.as_dict())
    else:
        _table(f"世帯 {setai_no} — {as_of or '最新'} 時点 ({len(rows)} 人)", ["宛名番号", "履歴番号", "氏名", "続柄", "住所"],
               [[r["atena_no"], r["rireki_no"], r["shimei"], r["zokugara"], r["jusho"]] for r in rows])
        if view.date_uncertain:
            out.print(f"異動日が不詳の異動により、基準日の所属が確定しない人: {', '.join(view.date_uncertain)}")


@juki_app.command("removed")
def juki_removed(as_of: Optional[str] = typer.Option(None, "--as-of", help=AS_OF_HELP),
                 jiyu: Optional[list[str]] = typer.Option(None, "--jiyu", help="消除事由コード（複数指定できます）"),
                 date_from: Optional[str] = typer.Option(None, "--from", help="消除日の開始（和暦可）"),
                 date_to: Optional[str] = typer.Option(None, "--to", help="消除日の終了（和暦可）"),
                 store: Optional[str] = STORE_OPT, as_json: bool = JSON_OPT) -> None:
    """除票: 指定した時点の記録に消除事由がある人を一覧にする。"""
    from kikan_hub.modules import juki
    try:
        rows = juki.removed(_engine(store), as_of, jiyu, date_from, date_to)
    except _user_errors() as exc:
        fail(str(exc))
    if as_json:
        _print_json({"count": len(rows), "removed": rows})
    else:
        _table(f"除票 ({len(rows):,} 件)", ["宛名番号", "氏名", "消除事由", "消除日", "転出先住所"],
               [[r["atena_no"], r["shimei"], r["shojo_jiyu"], r["shojo_date"] or r.get("shojo_date_literal"),
                 r.get("tenshutsu_saki_jusho")] for r in rows])


@juki_app.command("stats")
def juki_stats(date_from: Optional[str] = typer.Option(None, "--from", help="異動日の開始（和暦可）"),
               date_to: Optional[str] = typer.Option(None, "--to", help="異動日の終了（和暦可）"),
               by: str = typer.Option("month", "--by", help="集計の単位: month（月別）| machiaza（町字別）"),
               machiaza: Optional[str] = typer.Option(None, "--machiaza", help="この町字だけを集計する"),
               store: Optional[str] = STORE_OPT, as_json: bool = JSON_OPT) -> None:
    """異動統計: 転入・転出・出生・死亡・転居の件数を月別または町字別に集計する。"""
    from kikan_hub.modules import juki
    if by not in ("month", "machiaza"):
        fail("--by は month か machiaza")
    try:
        s = juki.movement_stats(_engine(store), date_from, date_to, machiaza)
    except _user_errors() as exc:
        fail(str(exc))
    if as_json:
        _print_json(s.as_dict())
        return
    cats = list(juki.MOVEMENT_CATEGORIES)
    data = s.by_month if by == "month" else s.by_machiaza
    rows = [[k] + [data[k].get(c, 0) for c in cats] for k in sorted(data)]
    rows.append(["合計"] + [s.totals.get(c, 0) for c in cats])
    _table("異動統計", ["年月" if by == "month" else "町字", *cats], rows)


# ============================================================ atena
atena_app = typer.Typer(help="団体内統合宛名: 重複候補、名寄せ・分離・取消し、確認リスト", no_args_is_help=True)


@atena_app.command("candidates")
def atena_candidates(threshold: float = typer.Option(0.70, "--threshold", help=THRESHOLD_HELP),
                     limit: int = typer.Option(100, "--limit", help="表示する件数の上限"),
                     store: Optional[str] = STORE_OPT, as_json: bool = JSON_OPT) -> None:
    """重複候補: カナ氏名・生年月日・住所が近い宛名の組を、近い順に一覧にする。"""
    from kikan_hub.modules import atena
    cands = atena.find_candidates(_engine(store), threshold)
    if as_json:
        _print_json({"count": len(cands), "candidates": [c.as_dict() for c in cands[:limit]]})
    else:
        _table(f"重複候補 ({len(cands):,} 組, score ≥ {threshold})", ["宛名番号A", "宛名番号B", "score", "根拠"],
               [[c.a, c.b, f"{c.score:.3f}", " / ".join(str(v) for v in c.reasons.values())] for c in cands[:limit]])


@atena_app.command("merge")
def atena_merge(atena_nos: list[str] = typer.Argument(..., help="一つにまとめる宛名番号（二つ以上）"),
                who: Optional[str] = typer.Option(None, "--who", help=WHO_HELP), reason: str = typer.Option("", "--reason", help="判断の理由（記録に残ります）"),
                store: Optional[str] = STORE_OPT) -> None:
    """名寄せ: 指定した宛名番号を同一人として一つにまとめる（記録され、undo で取り消せます）。"""
    from kikan_hub.modules import atena
    try:
        did = atena.merge(_engine(store), atena_nos, _who(who), reason)
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"判断 {did}: 名寄せ {' '.join(atena_nos)}")


@atena_app.command("split")
def atena_split(atena_no: str = typer.Argument(..., help="名寄せから外す宛名番号"), who: Optional[str] = typer.Option(None, "--who", help=WHO_HELP), reason: str = typer.Option("", "--reason", help="判断の理由（記録に残ります）"),
                store: Optional[str] = STORE_OPT) -> None:
    """分離: 宛名番号を名寄せから外す（記録され、取り消せます）。"""
    from kikan_hub.modules import atena
    try:
        did = atena.split(_engine(store), atena_no, _who(who), reason)
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"判断 {did}: 分離 {atena_no}")


@atena_app.command("distinct")
def atena_distinct(atena_a: str = typer.Argument(..., help="一人目の宛名番号"),
                   atena_b: str = typer.Argument(..., help="二人目の宛名番号"), who: Optional[str] = typer.Option(None, "--who", help=WHO_HELP),
                   reason: str = typer.Option("", "--reason", help="判断の理由（記録に残ります）"), store: Optional[str] = STORE_OPT) -> None:
    """別人: 候補の二人が別人であると記録する（以後は候補に出ません）。"""
    from kikan_hub.modules import atena
    try:
        did = atena.mark_distinct(_engine(store), atena_a, atena_b, _who(who), reason)
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"判断 {did}: 別人 {atena_a} {atena_b}")


@atena_app.command("undo")
def atena_undo(decision_id: int = typer.Argument(..., help="取り消す判断の ID（確認リストに表示されます）"), who: Optional[str] = typer.Option(None, "--who", help=WHO_HELP), reason: str = typer.Option("", "--reason", help="判断の理由（記録に残ります）"),
               store: Optional[str] = STORE_OPT) -> None:
    """取消し: 名寄せ・分離・別人の判断をそのとおりに取り消す。"""
    from kikan_hub.modules import atena
    try:
        uid = atena.undo(_engine(store), decision_id, _who(who), reason)
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"判断 {uid}: 判断 {decision_id} を取り消しました")


@atena_app.command("review")
def atena_review(threshold: float = typer.Option(0.70, "--threshold", help=THRESHOLD_HELP),
                 limit: int = typer.Option(200, "--limit", help="表示する件数の上限"),
                 store: Optional[str] = STORE_OPT, as_json: bool = JSON_OPT) -> None:
    """確認リスト: 未処理の重複候補、最近の判断、宛名のない税の対象者を一覧にする。"""
    from kikan_hub.modules import atena
    rev = atena.review(_engine(store), threshold, limit)
    if as_json:
        _print_json(rev)
        return
    _table(f"未判断の重複候補 ({rev['candidate_count']:,} 組)", ["宛名番号A", "宛名番号B", "score", "根拠"],
           [[c["atena_a"], c["atena_b"], c["score"], " / ".join(str(v) for v in c["reasons"].values())]
            for c in rev["candidates"]])
    _table("最近の判断", ["判断", "種別", "宛名番号", "判断者", "日時", "取消し"],
           [[d["decision_id"], d["kind"], " ".join(d["atena_nos"]), d["decided_by"], d["decided_at"], d["undone_by"]]
            for d in rev["decisions"]])
    _table(f"宛名の無い税の納税義務者 ({len(rev['orphan_tax_subjects'])})", ["宛名番号", "テーブル"],
           [[o["atena_no"], ", ".join(o["tax_tables"])] for o in rev["orphan_tax_subjects"]])


@atena_app.command("show")
def atena_show(atena_no: str = typer.Argument(..., help="宛名番号"), store: Optional[str] = STORE_OPT) -> None:
    """宛名の同一人情報: まとめた宛名番号、それぞれの記録、税の参照を JSON で表示する。"""
    from kikan_hub.modules import atena
    _print_json(atena.identity(_engine(store), atena_no))


# ============================================================ euc
euc_app = typer.Typer(help="EUC: 抽出定義の保存・一覧・実行（CSV・Excel・Parquet、マスキング、監査記録）", no_args_is_help=True)


@euc_app.command("define")
def euc_define(path: Path = typer.Argument(..., help="抽出定義ファイル（YAML または JSON）"),
               name: Optional[str] = typer.Option(None, "--name", help="ファイルの中の名前の代わりにこの名前で保存する"),
               who: Optional[str] = typer.Option(None, "--who", help=WHO_HELP), store: Optional[str] = STORE_OPT) -> None:
    """抽出定義を保存する（同じ名前があれば置き換え、版を 1 つ上げます）。"""
    from kikan_hub.modules import euc
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    try:
        d = euc.parse_definition(text, name=name, source=path)
        ver = euc.save_definition(_engine(store), d, _who(who))
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"抽出定義 {d.name} (版 {ver}) を保存しました: {d.table} {len(d.items)} 項目")


@euc_app.command("list")
def euc_list(store: Optional[str] = STORE_OPT, as_json: bool = JSON_OPT,
             audit: bool = typer.Option(False, "--audit", help="定義の代わりに抽出の監査記録を表示する")) -> None:
    """保存した抽出定義を一覧にする（--audit で監査記録）。"""
    from kikan_hub.modules import euc
    engine = _engine(store)
    if audit:
        rows = euc.audit_log(engine)
        if as_json:
            _print_json(rows)
        else:
            _table("抽出の監査記録", ["ID", "日時", "抽出者", "役割", "定義", "件数", "縮退", "SHA-256", "状態"],
                   [[r["audit_id"], r["started_at"], r["who"], r["role"], r["definition_name"], r["row_count"],
                     r["fold_count"], (r["output_sha256"] or "")[:16], r["status"]] for r in rows])
        return
    rows = euc.list_definitions(engine)
    if as_json:
        _print_json(rows)
    else:
        _table("抽出定義", ["名前", "版", "テーブル", "時点", "項目", "更新者"],
               [[r["name"], r["version"], r["table"], r["as_of"], ", ".join(r["items"]), r["updated_by"]] for r in rows])
        from kikan_hub.modules.rosters import catalogue   # the rosters are named extracts too
        _table("名簿 (kikan roster NAME --as-of 基準日)", ["名前", "名簿", "担当課", "項目"],
               [[r["name"], r["title"], r["division"], ", ".join(r["columns"])] for r in catalogue()])


@euc_app.command("tables")
def euc_tables(gyomu: Optional[str] = typer.Option(None, "--gyomu", help="業務 id か業務名（省略するとすべて）"),
               as_json: bool = JSON_OPT) -> None:
    """抽出できるテーブルと項目の一覧（中間標準レイアウト定義から。KIKAN_DEFINITIONS_PATH の業務も含む）。"""
    from kikan_hub.modules.euc.catalogue import catalogue
    try:
        rows = catalogue(gyomu)
    except _user_errors() as exc:
        fail(str(exc))
    if gyomu and not rows:
        fail(f"業務 {gyomu!r} の定義はありません")
    if as_json:
        _print_json(rows)
        return
    _table("抽出できるテーブル", ["業務", "テーブル", "名称", "履歴", "項目"],
           [[r["gyomu"], r["table"], r["name"], "○" if r["history"] else "",
             ", ".join(f"{i['id']}({i['name']})" for i in r["items"])] for r in rows])


@euc_app.command("run")
def euc_run(name: str = typer.Argument(..., help="保存した抽出定義の名前（--file のときは定義ファイル）"),
            out_path: Path = typer.Option(..., "--out", "-o", help="出力ファイル（.csv・.xlsx・.parquet）"),
            role: str = typer.Option(..., "--role", help="マスキングの役割（masking.yaml: 閲覧、担当、個人番号事務 …）"),
            fmt: Optional[str] = typer.Option(None, "--format", help="csv | xlsx | parquet（省略すると --out の拡張子から）"),
            encoding: Optional[str] = typer.Option(None, "--encoding", help="CSV の文字コード: utf-8 | utf-8-sig | cp932"),
            fold_policy: Optional[str] = typer.Option(None, "--fold", help="CP932 にない文字の扱い: mj（縮退）| geta（〓）| strict（エラー）"),
            from_file: bool = typer.Option(False, "--file", help="NAME を保存名ではなく定義ファイルとして読む"),
            scope: list[str] = typer.Option([], "--scope", help="juki:shien_sochi:read: 支援措置対象者を含める（j160）"),
            who: Optional[str] = typer.Option(None, "--who", help=WHO_HELP), store: Optional[str] = STORE_OPT) -> None:
    """抽出を実行する。実行はすべて監査記録に残ります（誰が・いつ・どの定義で・何件・ファイルの SHA-256）。
    支援措置対象者は --scope juki:shien_sochi:read がなければ除外されます（監査記録に人数）。"""
    from kikan_hub.modules import euc
    engine = _engine(store)
    try:
        d = euc.load_definition_file(Path(name)) if from_file else name
        res = euc.run_extraction(engine, d, out_path, _who(who), role, fmt, encoding, fold_policy, scopes=frozenset(scope))
    except _user_errors() as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out_path}: {exc.strerror}")
    out.print(f"監査 {res.audit_id}: {res.row_count:,} 件 → {res.output_path} (sha256 {res.output_sha256})")
    if res.fold_count:
        out.print(f"縮退 {res.fold_count:,} 文字 → {res.folds_path}")
    if res.masked_columns:
        out.print("マスク: " + ", ".join(f"{k}={v}" for k, v in res.masked_columns.items()))
