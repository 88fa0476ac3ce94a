"""Canonical tables derived from the ISL definitions, plus the run ledger.

The tables are not spelt out here: they come from kikan_hub/layouts/intermediate_standard/,
the single source of truth. Creating only what is missing lets a definition that adds a
業務 land as a new table in an existing store; changing an existing table's items needs
its own revision.

Revision ID: 0001
Revises:
"""
from alembic import op

from kikan_hub.store.schema import build_metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    build_metadata().create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    build_metadata().drop_all(op.get_bind(), checkfirst=True)
