"""response clock: the clock's runs for stats and due order; when a conversation reopened

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:00:00.000000

`response_clock` keeps one row per run of a conversation's response clock (issue 11), so
`/social stats` counts answers within target with one indexed aggregation and `/social
open` sorts by due time. `conversation.reopened_at` is where a reopened conversation's
clock starts again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "response_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "started_at", name="uq_response_clock_start"),
    )
    op.create_index("ix_response_clock_started", "response_clock", ["account", "started_at"])
    op.create_index("ix_response_clock_running", "response_clock", ["stopped_at", "due_at"])
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reopened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("reopened_at")
    op.drop_index("ix_response_clock_running", table_name="response_clock")
    op.drop_index("ix_response_clock_started", table_name="response_clock")
    op.drop_table("response_clock")
