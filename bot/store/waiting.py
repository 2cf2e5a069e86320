"""What is waiting, for `/social open`, `mine` and `sources`: conversations not closed,
oldest first, and unfinished outbox jobs per account."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, func, select

from bot.store.db import Store
from bot.store.fair_order import ACTIVE_STATES
from bot.store.models import Conversation, Job

NOT_CLOSED = ("open", "claimed")


@dataclass(frozen=True, slots=True)
class OpenConversation:
    """One row of `/social open`: enough to say who waits, how long, and where."""

    id: int
    account: str
    network: str
    channel: str
    thread_ts: str | None  # None until the card reached Slack
    author_name: str
    author_handle: str
    assignee: str | None
    status: str
    opened_at: datetime
    answered: bool


def open_conversations(
    store: Store,
    *,
    assignee: str | None,
    channels: Collection[str] | None = None,
    limit: int = 20,
) -> tuple[list[OpenConversation], int]:
    """Conversations not closed, oldest first (at most `limit`), and how many there are;
    only those of `channels` (Slack channel ids) when given.

    One ordered query per status, merged here: each walks (status, opened_at) or
    (assignee, status, opened_at) in order and stops after `limit` rows, where a single
    `status IN (...) ORDER BY opened_at` would sort the whole backlog.
    """
    columns = [
        col(Conversation.id),
        col(Conversation.account),
        col(Conversation.network),
        col(Conversation.slack_channel),
        col(Conversation.slack_ts),
        col(Conversation.author_name),
        col(Conversation.author_handle),
        col(Conversation.assignee),
        col(Conversation.status),
        col(Conversation.opened_at),
        col(Conversation.first_response_at),
    ]
    filters = [] if assignee is None else [col(Conversation.assignee) == assignee]
    if channels is not None:
        filters.append(col(Conversation.slack_channel).in_(sorted(channels)))
    rows: list[OpenConversation] = []
    with store.read() as session:
        for status in NOT_CLOSED:
            query = (
                sa.select(*columns)
                .where(col(Conversation.status) == status, *filters)
                .order_by(col(Conversation.opened_at), col(Conversation.id))
                .limit(limit)
            )
            rows.extend(
                OpenConversation(
                    id=int(row[0] or 0),
                    account=row[1],
                    network=row[2],
                    channel=row[3],
                    thread_ts=row[4],
                    author_name=row[5],
                    author_handle=row[6],
                    assignee=row[7],
                    status=row[8],
                    opened_at=row[9],
                    answered=row[10] is not None,
                )
                for row in session.execute(query)
            )
        total = session.exec(
            select(func.count()).where(col(Conversation.status).in_(NOT_CLOSED), *filters)
        ).one()
    rows.sort(key=lambda row: (row.opened_at, row.id))
    return rows[:limit], int(total)


def queued_jobs_by_account(store: Store) -> dict[str, int]:
    """Unfinished outbox jobs per account (through their conversation), for `sources`.

    Unfinished jobs are few whatever the history, and ix_job_next (state first) finds them.
    """
    query = (
        select(Conversation.account, func.count())
        .select_from(Job)
        .join(Conversation, col(Conversation.id) == col(Job.conversation_id))
        .where(col(Job.state).in_(ACTIVE_STATES))
        .group_by(col(Conversation.account))
    )
    with store.read() as session:
        return {account: int(count) for account, count in session.execute(query).all()}
