"""What an erasure needs to reach everything: interactions know their message in the chat
and whether they are staff work; an outbox row can edit a message the bot posted.

Staff-chat messages logged before this revision were tied to the sender's own customer
record when the sender was a customer too; they are marked internal and untied here
(a Telegram group's chat id is negative, a private chat's is the user's id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("internal", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edits_message_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE interactions SET internal = true WHERE chat_id < 0"
    )
    op.execute(
        "UPDATE interactions SET customer_id = NULL"
        " WHERE chat_id < 0 AND direction = 'in' AND telegram_user_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("edits_message_id")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_column("internal")
        batch_op.drop_column("message_id")
