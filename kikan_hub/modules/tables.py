"""Tables owned by the business modules (modules/): identity links and decisions of the
団体内統合宛名, saved EUC extraction definitions and the extraction audit.

They are not derived from the ISL definitions (they are not migration data) and are not part
of ``store_content_hashes``: the canonical tables stay exactly as the rehearsal loaded them.
Importing this module registers them with the store's metadata (store/schema.py
``register_tables``); their DDL is in the committed Alembic revisions (store/migrations/versions/).
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, Integer, MetaData, PrimaryKeyConstraint, String, Table,
                        Text)

from kikan_hub.store.schema import register_tables

ATENA_LINK = "mod_atena_link"
ATENA_DISTINCT = "mod_atena_distinct"
ATENA_DECISION = "mod_atena_decision"
EUC_DEFINITION = "mod_euc_definition"
EUC_AUDIT = "mod_euc_audit"


def module_tables(md: MetaData) -> None:
    # 団体内統合宛名: a 宛名番号 with no link row is its own identity (identity_id = atena_no).
    Table(ATENA_LINK, md,
          Column("atena_no", String(15), nullable=False),
          Column("identity_id", String(15), nullable=False),
          Column("decision_id", Integer, nullable=False),
          PrimaryKeyConstraint("atena_no", name=f"pk_{ATENA_LINK}"),
          comment="団体内統合宛名: 宛名番号 → 統合宛名ID (リンクの無い宛名番号はそれ自身が統合宛名)")
    Table(ATENA_DISTINCT, md,
          Column("atena_a", String(15), nullable=False),
          Column("atena_b", String(15), nullable=False),
          Column("decision_id", Integer, nullable=False),
          PrimaryKeyConstraint("atena_a", "atena_b", name=f"pk_{ATENA_DISTINCT}"),
          comment="別人と判断した宛名番号の組 (atena_a < atena_b); 候補に再び出さない")
    Table(ATENA_DECISION, md,
          Column("decision_id", Integer, primary_key=True, autoincrement=True),
          Column("kind", String(16), nullable=False),            # merge | split | distinct | undo
          Column("atena_nos", Text, nullable=False),             # JSON list
          Column("identity_id", String(15)),
          Column("before_json", Text, nullable=False),           # JSON: state of the touched rows before
          Column("after_json", Text, nullable=False),            # JSON: state after
          Column("score", Text),
          Column("reason", Text),
          Column("decided_by", Text, nullable=False),
          Column("decided_at", DateTime(timezone=True), nullable=False),
          Column("undoes", Integer),
          Column("undone_by", Integer),
          comment="統合宛名の判断記録 (名寄せ・分離・取消し); 誰がいつ")
    Table(EUC_DEFINITION, md,
          Column("name", String(200), nullable=False),
          Column("version", Integer, nullable=False),
          Column("body_json", Text, nullable=False),
          Column("created_by", Text),
          Column("created_at", DateTime(timezone=True)),
          Column("updated_by", Text),
          Column("updated_at", DateTime(timezone=True)),
          PrimaryKeyConstraint("name", name=f"pk_{EUC_DEFINITION}"),
          comment="EUC 抽出定義")
    Table(EUC_AUDIT, md,
          Column("audit_id", Integer, primary_key=True, autoincrement=True),
          Column("started_at", DateTime(timezone=True), nullable=False),
          Column("finished_at", DateTime(timezone=True)),
          Column("who", Text, nullable=False),
          Column("role", Text, nullable=False),
          Column("definition_name", String(200)),
          Column("definition_version", Integer),
          Column("definition_sha256", String(64)),
          Column("definition_json", Text),
          Column("output_format", String(16)),
          Column("encoding", String(16)),
          Column("fold_policy", String(16)),
          Column("row_count", BigInteger),
          Column("fold_count", BigInteger),
          Column("output_path", Text),
          Column("output_sha256", String(64)),
          Column("folds_path", Text),
          Column("folds_sha256", String(64)),
          Column("duration_ms", BigInteger),
          Column("status", String(16), nullable=False),           # ok | failed
          Column("message", Text),
          comment="EUC 抽出の監査記録 (誰が・いつ・どの定義で・何件・出力ファイルの SHA-256)")


register_tables("modules", module_tables)
