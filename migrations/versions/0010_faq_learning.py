"""FAQ learning: customers' confirmed wordings and the alternates learned from them.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.Column("asker", sa.String(length=64), nullable=False),
        sa.Column("tapped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("alternate_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["faq_entries.id"],
            name=op.f("fk_faq_confirmations_entry_id_faq_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alternate_id"],
            ["faq_alternates.id"],
            name=op.f("fk_faq_confirmations_alternate_id_faq_alternates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_confirmations")),
    )
    op.create_index(
        op.f("ix_faq_confirmations_entry_id"), "faq_confirmations", ["entry_id"], unique=False
    )
    op.create_index(
        op.f("ix_faq_confirmations_asker"), "faq_confirmations", ["asker"], unique=False
    )
    op.create_table(
        "faq_learned_alternates",
        sa.Column("alternate_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("confirmations", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alternate_id"],
            ["faq_alternates.id"],
            name=op.f("fk_faq_learned_alternates_alternate_id_faq_alternates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alternate_id", name=op.f("pk_faq_learned_alternates")),
    )


def downgrade() -> None:
    op.drop_table("faq_learned_alternates")
    op.drop_index(op.f("ix_faq_confirmations_asker"), table_name="faq_confirmations")
    op.drop_index(op.f("ix_faq_confirmations_entry_id"), table_name="faq_confirmations")
    op.drop_table("faq_confirmations")
