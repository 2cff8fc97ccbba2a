"""Segmentation runs keep their fitted CLV models; counted orders get an index of their own.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED_ORDERS = "kind = 'order' AND status NOT IN ('cancelled', 'returned')"


def upgrade() -> None:
    op.create_table(
        "segmentation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("tier_changes", sa.Integer(), nullable=False),
        sa.Column("segment_changes", sa.Integer(), nullable=False),
        sa.Column("time_unit", sa.String(length=10), nullable=False),
        sa.Column("bgnbd_r", sa.Float(), nullable=True),
        sa.Column("bgnbd_alpha", sa.Float(), nullable=True),
        sa.Column("bgnbd_a", sa.Float(), nullable=True),
        sa.Column("bgnbd_b", sa.Float(), nullable=True),
        sa.Column("bgnbd_log_likelihood", sa.Float(), nullable=True),
        sa.Column("bgnbd_customers", sa.Integer(), nullable=True),
        sa.Column("bgnbd_problem", sa.Text(), nullable=True),
        sa.Column("gamma_gamma_p", sa.Float(), nullable=True),
        sa.Column("gamma_gamma_q", sa.Float(), nullable=True),
        sa.Column("gamma_gamma_gamma", sa.Float(), nullable=True),
        sa.Column("gamma_gamma_log_likelihood", sa.Float(), nullable=True),
        sa.Column("gamma_gamma_customers", sa.Integer(), nullable=True),
        sa.Column("gamma_gamma_problem", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segmentation_runs")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_counted",
            ["customer_id", "placed_at", "amount", "margin"],
            unique=False,
            sqlite_where=sa.text(COUNTED_ORDERS),
            postgresql_where=sa.text(COUNTED_ORDERS),
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_counted")
    op.drop_table("segmentation_runs")
