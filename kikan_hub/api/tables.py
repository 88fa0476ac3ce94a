"""Interface tables owned by api/: API clients, the read audit, the change log, run purges, and
the look-up indexes the interfaces need on juki_jumin (個人番号, カナ氏名＋生年月日, 世帯番号).

Importing this module registers them with the store's metadata (store/schema.py
``register_tables``); their DDL is in the committed Alembic revisions (0002 adds the look-up
indexes, which the server used to create at start). The canonical tables themselves stay derived
from the ISL definitions; api/ only adds indexes on them.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table,
                        Text, UniqueConstraint)

from kikan_hub.store.schema import register_tables

CLIENTS = "kikan_api_clients"
AUDIT = "kikan_audit"
AUDIT_SUBJECT = "kikan_audit_subject"
CHANGE_LOG = "kikan_change_log"
ROW_LOG = "kikan_row_log"
RUN_PURGES = "kikan_run_purges"

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")


def security_tables(md: MetaData) -> None:
    Table(CLIENTS, md,
          Column("client_id", String(64), nullable=False),
          Column("name", Text),
          Column("scopes", Text, nullable=False, comment="space-separated 業務ID:resource:operation"),
          Column("generation", Integer, nullable=False, comment="secret generation; +1 on rotate"),
          Column("rest_secret_hash", Text, nullable=False, comment="scrypt$N$r$p$salt$hash of the REST client_secret"),
          Column("soap_secret_hash", Text, nullable=False, comment="scrypt hash of the SOAP UsernameToken password"),
          Column("created_at", DateTime(timezone=True), nullable=False),
          Column("rotated_at", DateTime(timezone=True)),
          Column("revoked_at", DateTime(timezone=True)),
          PrimaryKeyConstraint("client_id", name="pk_kikan_api_clients"),
          comment="連携クライアント (SOAP / REST)")
    Table(AUDIT, md,
          Column("audit_id", _SERIAL, primary_key=True, autoincrement=True),
          Column("at", DateTime(timezone=True), nullable=False),
          Column("client_id", String(64)),
          Column("interface", String(8), nullable=False, comment="soap | rest | cli"),
          Column("operation", String(64), nullable=False),
          Column("outcome", String(32), nullable=False, comment="ok | not_found | denied | fault | error"),
          Column("subject_count", Integer, nullable=False),
          Column("detail", Text),
          Index("ix_kikan_audit_at", "at"),
          Index("ix_kikan_audit_client", "client_id", "at"),
          comment="個人情報の参照記録 (1 呼出し 1 行)")
    Table(AUDIT_SUBJECT, md,
          Column("audit_id", BigInteger, nullable=False),
          Column("atena_no", String(15), nullable=False),
          PrimaryKeyConstraint("audit_id", "atena_no", name="pk_kikan_audit_subject"),
          Index("ix_kikan_audit_subject_atena", "atena_no"),
          comment="参照記録の対象宛名番号")
    Table(CHANGE_LOG, md,
          Column("serial", _SERIAL, primary_key=True, autoincrement=True),
          Column("table_id", String(64), nullable=False),
          Column("atena_no", String(15), nullable=False),
          Column("rireki_no", BigInteger, nullable=False),
          Column("run_id", String(40)),
          Column("recorded_at", DateTime(timezone=True), nullable=False),
          UniqueConstraint("table_id", "atena_no", "rireki_no", name="uq_kikan_change_log_row"),
          comment="異動連番: 履歴行をハブが初めて見た順の単調増加番号")
    Table(ROW_LOG, md,  # the change feed of every other table (api/rest/feed.py); row_key = its primary key
          Column("serial", _SERIAL, primary_key=True, autoincrement=True),
          Column("table_id", String(64), nullable=False),
          Column("row_key", Text, nullable=False, comment="主キーの値 (項目順、区切り U+001F)"),
          Column("run_id", String(40)),
          Column("recorded_at", DateTime(timezone=True), nullable=False),
          UniqueConstraint("table_id", "row_key", name="uq_kikan_row_log_row"),
          comment="変更連番: 各テーブルの行をハブが初めて見た順の単調増加番号")
    Table(RUN_PURGES, md,
          Column("purge_id", _SERIAL, primary_key=True, autoincrement=True),
          Column("run_id", String(40), nullable=False),
          Column("run_dir", Text, nullable=False),
          Column("purged_at", DateTime(timezone=True), nullable=False),
          Column("signed_off_by", Text, nullable=False, comment="確認した職員"),
          Column("division", Text, nullable=False, comment="業務担当課"),
          Column("files_removed", Integer, nullable=False),
          Column("bytes_removed", BigInteger, nullable=False),
          Column("removed_json", Text, comment="removed files: relative path, bytes, sha256"),
          Index("ix_kikan_run_purges_run", "run_id"),
          comment="リハーサル出力 (staging・quarantine) の消去記録")
    jumin = md.tables.get("juki_jumin")
    if jumin is not None:
        interface_indexes(jumin)  # constructing an Index with Column objects attaches it to the table


def interface_indexes(jumin: Table) -> list[Index]:
    names = {i.name for i in jumin.indexes}
    specs = [("ix_juki_jumin_kojin_bango", ("kojin_bango",)),
             ("ix_juki_jumin_kana_birth", ("shimei_kana", "birth_date")),
             ("ix_juki_jumin_setai", ("setai_no",))]
    out = []
    for name, cols in specs:
        if name in names:
            out.extend(i for i in jumin.indexes if i.name == name)
        else:
            out.append(Index(name, *(jumin.c[c] for c in cols)))
    return out


register_tables("api", security_tables)
