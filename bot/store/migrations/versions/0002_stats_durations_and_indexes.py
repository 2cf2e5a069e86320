"""stats: stored durations and covering indexes for /social stats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:00:00.000000

Also adds conversation.last_response_at, which the model has carried since the first
commit but 0001 did not create (only when missing, so a database that has it is fine).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONVERSATION_INDEXES: dict[str, list[str]] = {
    "ix_conversation_stats_opened": [
        "account",
        "opened_at",
        "first_response_seconds",
        "close_seconds",
    ],
    "ix_conversation_claims": ["assignee", "claimed_at", "account"],
    "ix_conversation_closes": ["closed_by", "closed_at", "account"],
    "ix_conversation_backlog": ["status", "account", "first_response_at", "opened_at", "assignee"],
    "ix_conversation_assignee": ["assignee", "status", "opened_at"],
}
MESSAGE_INDEXES: dict[str, list[str]] = {
    "ix_message_stats": ["account", "direction", "created_at", "state"],
    "ix_message_replies": ["slack_user", "direction", "state", "created_at", "account"],
}


def _seconds_between(start: str, end: str) -> str:
    """SQL for whole seconds from `start` to `end` in this database's dialect."""
    if op.get_bind().dialect.name == "sqlite":
        # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" text; strftime('%s') gives epoch seconds.
        return f"CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER)"
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {end} - {start})) AS INTEGER)"


def upgrade() -> None:
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("conversation")}
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        if "last_response_at" not in existing:
            batch_op.add_column(
                sa.Column("last_response_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
            )
        batch_op.add_column(sa.Column("first_response_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("close_seconds", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE conversation SET first_response_seconds = "
        + _seconds_between("opened_at", "first_response_at")
        + " WHERE first_response_at IS NOT NULL"
    )
    op.execute(
        "UPDATE conversation SET close_seconds = "
        + _seconds_between("opened_at", "closed_at")
        + " WHERE status = 'closed' AND closed_at IS NOT NULL"
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        for name, columns in CONVERSATION_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("message", schema=None) as batch_op:
        for name, columns in MESSAGE_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        for name in reversed(list(MESSAGE_INDEXES)):
            batch_op.drop_index(name)
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        for name in reversed(list(CONVERSATION_INDEXES)):
            batch_op.drop_index(name)
        batch_op.drop_column("close_seconds")
        batch_op.drop_column("first_response_seconds")
    # last_response_at stays: the model needs it whatever revision the schema is at.
