"""outbox: index jobs in the order they are leased (state, priority, not_before, id)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 05:20:00.000000

With it the lease query walks pending jobs in run order and stops after the few it
needs, instead of sorting the whole backlog on every lease. It replaces ix_job_ready
(state, not_before), which SQLite's planner preferred, sorting the backlog each time.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_next", ["state", "priority", "not_before", "id"])
        batch_op.drop_index("ix_job_ready")


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_ready", ["state", "not_before"])
        batch_op.drop_index("ix_job_next")
