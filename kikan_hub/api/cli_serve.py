"""`kikan serve`, `kikan clients add|list|revoke|rotate`, `kikan audit`, `kikan linkage-csv`.

Each Typer app below holds one command except clients_app.

Mounting (in cli_support.SUBCOMMANDS): ("serve", "kikan_hub.api.cli_serve", "app") as a single
command, ("clients", "kikan_hub.api.cli_serve", "clients_app"), ("audit", "kikan_hub.api.cli_serve",
"audit_app") and ("linkage-csv", "kikan_hub.api.cli_serve", "linkage_app") as single commands.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from kikan_hub.api.cli_support import fail

app = typer.Typer(help="連携インターフェース (SOAP / REST) を起動する", add_completion=False, no_args_is_help=True)
clients_app = typer.Typer(help="連携クライアント (SOAP / REST) の登録・一覧・失効・鍵更新", add_completion=False,
                          no_args_is_help=True)
linkage_app = typer.Typer(help="CSV ファイル連携", add_completion=False)
audit_app = typer.Typer(help="個人情報の参照記録を検索する", add_completion=False)
out = Console()
err = Console(stderr=True, soft_wrap=True)

STORE = typer.Option(None, "--store", help="SQLAlchemy URL of the canonical store (default sqlite:///var/kikan.db)")


def _engine(store: Optional[str]):
    from kikan_hub.api.server import prepare_store
    from kikan_hub.store.engine import StoreError, default_store_url, open_engine
    try:
        engine = open_engine(store or default_store_url())
        prepare_store(engine)
    except StoreError as exc:
        fail(str(exc))
    engine.hide_parameters = True
    return engine


def _registry(store: Optional[str], create_key: bool = False):
    from kikan_hub.api.auth import keys
    from kikan_hub.api.auth.clients import ClientRegistry
    try:
        master = keys.load_master_key(create=create_key)
    except keys.KeyError_ as exc:
        fail(str(exc))
    return ClientRegistry(_engine(store), master)


@app.command("serve")
def serve(store: Optional[str] = STORE,
          host: str = typer.Option("127.0.0.1", "--host"),
          port: int = typer.Option(8080, "--port"),
          max_body: int = typer.Option(256 * 1024, "--max-body", help="SOAP 要求の上限バイト数"),
          linkage_dir: Path = typer.Option(Path("var/linkage"), "--linkage-dir", help="CSV ファイル連携の書出し先ルート"),
          token_ttl: int = typer.Option(300, "--token-ttl", help="アクセストークンの有効秒数"),
          replay_window: int = typer.Option(300, "--replay-window", help="UsernameToken の Created の受付秒数"),
          public_url: Optional[str] = typer.Option(None, "--public-url", envvar="KIKAN_PUBLIC_URL",
                                                   help="外部から見た基底 URL (例 https://hub.city.example)。WSDL の"
                                                        " soap:address と JWT の aud に使う (Host ヘッダは使わない)"),
          docs: bool = typer.Option(False, "--docs", help="/openapi.json と /docs を公開する (既定は非公開)"),
          auth_failures: int = typer.Option(10, "--auth-max-failures",
                                            help="同じ client_id の認証失敗がこの回数に達したら 429 (0 で無効)"),
          auth_failures_addr: int = typer.Option(30, "--auth-max-failures-per-address",
                                                 help="同じ送信元アドレスの認証失敗の上限 (0 で無効)"),
          auth_window: float = typer.Option(300, "--auth-window", help="認証失敗を数える秒数"),
          not_found_limit: int = typer.Option(200, "--max-not-found",
                                              help="1 クライアントが該当なしの照会をこの回数重ねたら 429 (0 で無効)"),
          not_found_window: float = typer.Option(60, "--not-found-window", help="該当なしを数える秒数"),
          audit_sync: str = typer.Option("full", "--audit-sync",
                                         help="SQLite の監査書込み: full (コミットごとに fsync) か normal (WAL の fsync を"
                                              "省く: ハブの異常終了では失われず、停電では直前の行が失われうる)")) -> None:
    """SOAP (/platform/soap, ?wsdl) と REST (/api/v1) を 1 プロセスで起動する。"""
    import uvicorn

    from kikan_hub.api.auth import keys, redact
    from kikan_hub.api.auth.throttle import ThrottlePolicy
    from kikan_hub.api.server import build_hub, create_app
    try:
        master = keys.load_master_key()
    except keys.KeyError_ as exc:
        fail(str(exc))
    if audit_sync not in ("full", "normal"):
        fail(f"--audit-sync は full か normal です: {audit_sync!r}")
    if public_url and not public_url.startswith(("https://", "http://")):
        fail(f"--public-url は http(s):// で始まる URL にしてください: {public_url!r}")
    policy = ThrottlePolicy(auth_failures, auth_failures_addr, auth_window, not_found_limit, not_found_window)
    hub = build_hub(_engine(store), master, max_body=max_body, linkage_dir=linkage_dir, token_ttl=token_ttl,
                    replay_window=replay_window, public_url=public_url, throttle=policy, audit_sync=audit_sync)
    application = create_app(hub, docs=docs)
    config = uvicorn.Config(application, host=host, port=port, workers=1, server_header=False)
    server = uvicorn.Server(config)
    redact.install()
    base = (public_url or f"http://{host}:{port}").rstrip("/")
    err.print(f"kikan serve: {base}/platform/soap?wsdl  {base}/api/v1" + (f"  {base}/docs" if docs else ""))
    server.run()


@linkage_app.command("linkage-csv")
def linkage_csv(directory: Path = typer.Argument(..., help="書出し先ディレクトリ"),
                since: int = typer.Option(0, "--since", help="この異動連番より後"),
                store: Optional[str] = STORE,
                with_mynumber: bool = typer.Option(False, "--with-mynumber", help="個人番号の列を含める")) -> None:
    """ファイル連携: 異動連番 SINCE より後の異動を CSV に書き出す (監査記録つき)。"""
    from kikan_hub.api.auth.audit import AuditLog
    from kikan_hub.api.rest.queries import QueryService
    from kikan_hub.api.rest.routes import write_changes_csv
    engine = _engine(store)
    directory.mkdir(parents=True, exist_ok=True)
    path, n, nxt, atena = write_changes_csv(QueryService(engine), directory.parent, directory.name, since, None,
                                            with_mynumber)
    AuditLog(engine).record(client_id=None, interface="cli", operation="linkage.csv", outcome="ok", atena_nos=atena,
                            detail=path.name)
    out.print(f"{path}: {n:,} 件 (next serial {nxt})")


def _print_secrets(issued) -> None:
    out.print(f"client_id:      {issued.client_id}")
    out.print(f"client_secret:  {issued.client_secret}   (REST: client_secret_basic / client_secret_jwt HS256)")
    out.print(f"soap_password:  {issued.soap_password}   (SOAP: WS-Security UsernameToken PasswordDigest)")
    err.print("秘密はここで一度だけ表示します。ストアには scrypt ハッシュだけが残ります。")


@clients_app.command("add")
def clients_add(scopes: List[str] = typer.Option(..., "--scope", "-s", help="業務ID:resource:operation (繰り返し可)"),
                client_id: Optional[str] = typer.Option(None, "--id", help="client_id (省略時は自動)"),
                name: str = typer.Option("", "--name", help="表示名 (ベンダー名・システム名)"),
                store: Optional[str] = STORE) -> None:
    """クライアントを登録し、REST の client_secret と SOAP のパスワードを表示する。"""
    from kikan_hub.api.auth.clients import ClientError
    reg = _registry(store, create_key=True)
    try:
        issued = reg.add(client_id, name, [x for s in scopes for x in s.split()])
    except ClientError as exc:
        fail(str(exc))
    _print_secrets(issued)


@clients_app.command("list")
def clients_list(store: Optional[str] = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    """登録済みクライアントの一覧 (秘密は表示しない)。"""
    rows = _registry(store).list()
    if as_json:
        out.print_json(json.dumps([{"client_id": c.client_id, "name": c.name, "scopes": sorted(c.scopes),
                                    "generation": c.generation, "active": c.active,
                                    "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None}
                                   for c in rows], ensure_ascii=False))
        return
    t = RichTable("client_id", "name", "scopes", "gen", "state")
    for c in rows:
        t.add_row(c.client_id, c.name, " ".join(sorted(c.scopes)), str(c.generation),
                  "active" if c.active else f"revoked {c.revoked_at:%Y-%m-%d %H:%M}")
    out.print(t)


@clients_app.command("revoke")
def clients_revoke(client_id: str, store: Optional[str] = STORE) -> None:
    """クライアントを失効させる (発行済みトークンも次の要求から無効)。"""
    from kikan_hub.api.auth.clients import ClientError
    try:
        _registry(store).revoke(client_id)
    except ClientError as exc:
        fail(str(exc))
    out.print(f"{client_id}: revoked")


@clients_app.command("rotate")
def clients_rotate(client_id: str, store: Optional[str] = STORE) -> None:
    """秘密を更新する (世代 +1)。古い秘密と発行済みトークンは使えなくなる。"""
    from kikan_hub.api.auth.clients import ClientError
    try:
        issued = _registry(store).rotate(client_id)
    except ClientError as exc:
        fail(str(exc))
    _print_secrets(issued)


@audit_app.command("audit")
def audit(client: Optional[str] = typer.Option(None, "--client"),
          atena: Optional[str] = typer.Option(None, "--atena", help="宛名番号"),
          since: Optional[str] = typer.Option(None, "--since", help="ISO 日付か日時 (UTC とみなす)"),
          limit: int = typer.Option(1000, "--limit"),
          store: Optional[str] = STORE,
          as_json: bool = typer.Option(False, "--json")) -> None:
    """参照記録 (誰が・いつ・どの操作で・どの宛名番号を) を検索する。"""
    from kikan_hub.api.auth.audit import AuditLog
    since_dt = None
    if since:
        try:
            since_dt = dt.datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since は ISO 形式の日付か日時にしてください: {since!r}")
        if since_dt.tzinfo is None:
            since_dt = since_dt.replace(tzinfo=dt.timezone.utc)
    rows = AuditLog(_engine(store)).query(client_id=client, atena_no=atena, since=since_dt, limit=limit)
    if as_json:
        out.print_json(json.dumps([{"audit_id": r.audit_id, "at": r.at.isoformat(), "client_id": r.client_id,
                                    "interface": r.interface, "operation": r.operation, "outcome": r.outcome,
                                    "atena_nos": r.atena_nos, "detail": r.detail} for r in rows], ensure_ascii=False))
        return
    t = RichTable("id", "at", "client", "if", "operation", "outcome", "宛名番号")
    for r in rows:
        shown = ", ".join(r.atena_nos[:5]) + (f" … (+{len(r.atena_nos) - 5})" if len(r.atena_nos) > 5 else "")
        t.add_row(str(r.audit_id), f"{r.at:%Y-%m-%d %H:%M:%S}", r.client_id or "-", r.interface, r.operation,
                  r.outcome, shown)
    out.print(t)
    err.print(f"{len(rows):,} 件")
