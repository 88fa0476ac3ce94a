"""The store's own tables: the run ledger and the control records (header/trailer) of each source.

Not derived from an ISL definition; owned by store/ because the loader writes them in the same
transaction as the canonical rows.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, PrimaryKeyConstraint, String,
                        Table, Text)

LEDGER = "kikan_runs"
CONTROL = "kikan_control_records"


def system_tables(md: MetaData) -> None:
    Table(LEDGER, md,
          Column("run_id", String(40), nullable=False),
          Column("attempt", Integer, nullable=False),
          Column("source_system", Text),
          Column("manifest_path", Text),
          Column("manifest_sha256", String(64)),
          Column("started_at", DateTime(timezone=True)),
          Column("finished_at", DateTime(timezone=True)),
          Column("status", String(20)),
          Column("records_read", BigInteger),
          Column("records_loaded", BigInteger),
          Column("records_quarantined", BigInteger),
          Column("summary_json", Text),
          PrimaryKeyConstraint("run_id", "attempt", name="pk_kikan_runs"),
          comment="移行リハーサル実行台帳")
    Table(CONTROL, md,
          Column("source_key", Text, nullable=False),
          Column("record_no", BigInteger, nullable=False),
          Column("record_type", Text),
          Column("source_offset", BigInteger),
          Column("source_sha256", String(64)),
          Column("raw", LargeBinary),
          Column("fields_json", Text),
          Column("_run_id", String(40)),
          PrimaryKeyConstraint("source_key", "record_no", name="pk_kikan_control_records"),
          comment="ヘッダ・トレーラ等の制御レコード")
