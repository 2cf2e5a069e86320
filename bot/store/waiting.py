"""What is waiting, for `/social open`, `mine`, `overdue` and `sources`: conversations not
closed, soonest due or oldest first, and unfinished outbox jobs per account."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot.store.db import Store
from bot.store.fair_order import ACTIVE_STATES
from bot.store.models import Conversation, Job, ResponseClock

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
    due: datetime | None = None  # the running response clock's due time, if one runs


_COLUMNS = [
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


def _row(row: Sequence[Any], due: datetime | None = None) -> OpenConversation:
    return OpenConversation(
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
        due=due,
    )


def open_conversations(
    store: Store,
    *,
    assignee: str | None,
    channels: Collection[str] | None = None,
    limit: int = 20,
    overdue_at: datetime | None = None,
) -> tuple[list[OpenConversation], int]:
    """Conversations not closed (at most `limit`) and how many there are; only those of
    `channels` (Slack channel ids) when given. Those with a running response clock come
    first, soonest due first, then the others oldest first; with `overdue_at`, only those
    whose answer was due before it (and the total counts only those).

    One ordered query per status, merged here: each walks (status, opened_at) or
    (assignee, status, opened_at) in order and stops after `limit` rows, where a single
    `status IN (...) ORDER BY opened_at` would sort the whole backlog. The running clocks
    are few (one per waiting conversation at most) and read through ix_response_clock_running.
    """
    filters = [] if assignee is None else [col(Conversation.assignee) == assignee]
    if channels is not None:
        filters.append(col(Conversation.slack_channel).in_(sorted(channels)))
    with store.read() as session:
        timed, timed_total = _running_clocks(session, filters, limit, overdue_at)
        if overdue_at is not None:
            return timed, timed_total
        rows: list[OpenConversation] = []
        known = {row.id for row in timed}
        for status in NOT_CLOSED:
            query = (
                sa.select(*_COLUMNS)
                .where(col(Conversation.status) == status, *filters)
                .order_by(col(Conversation.opened_at), col(Conversation.id))
                .limit(limit + len(known))
            )
            rows.extend(_row(row) for row in session.execute(query) if row[0] not in known)
        total = session.exec(
            select(func.count()).where(col(Conversation.status).in_(NOT_CLOSED), *filters)
        ).one()
    rows.sort(key=lambda row: (row.opened_at, row.id))
    return (timed + rows)[:limit], int(total)


def _running_clocks(
    session: Session,
    filters: list[sa.ColumnElement[bool]],
    limit: int,
    overdue_at: datetime | None,
) -> tuple[list[OpenConversation], int]:
    """Waiting conversations with a running clock, soonest due first, and their count."""
    conditions = [
        col(ResponseClock.stopped_at).is_(None),
        col(Conversation.status).in_(NOT_CLOSED),
        *filters,
    ]
    if overdue_at is not None:
        conditions.append(col(ResponseClock.due_at) < overdue_at)
    joined = sa.join(
        ResponseClock, Conversation, col(Conversation.id) == col(ResponseClock.conversation_id)
    )
    query = (
        sa.select(*_COLUMNS, col(ResponseClock.due_at))
        .select_from(joined)
        .where(*conditions)
        .order_by(col(ResponseClock.due_at), col(Conversation.id))
        .limit(limit)
    )
    rows = [_row(row, due=row[-1]) for row in session.execute(query)]
    total = session.execute(sa.select(func.count()).select_from(joined).where(*conditions)).one()
    return rows, int(total[0])


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
