"""The durable job queue: enqueue with the fact, lease one at a time, record the outcome.

Leasing uses `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL so several instances share
the queue; on SQLite every write transaction takes the database lock (BEGIN IMMEDIATE),
which serializes leasing the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot.store.db import Store
from bot.store.models import Job, utcnow

ACTIVE_STATES = ("pending", "leased")


def enqueue(
    session: Session,
    *,
    kind: str,
    ordering_key: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    not_before: datetime | None = None,
) -> Job:
    job = Job(
        kind=kind,
        ordering_key=ordering_key,
        conversation_id=conversation_id,
        message_id=message_id,
        payload_json=json.dumps(dict(payload or {})),
        not_before=not_before or utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def has_pending(session: Session, *, kind: str, ordering_key: str) -> bool:
    """True when a job of this kind waits (not yet leased): used to coalesce updates."""
    query = select(Job.id).where(
        col(Job.kind) == kind, col(Job.ordering_key) == ordering_key, col(Job.state) == "pending"
    )
    return session.exec(query.limit(1)).first() is not None


def lease(store: Store, *, owner: str, lease_seconds: float) -> Job | None:
    """Take the next runnable job: due, and the oldest unfinished one of its ordering key."""
    now = utcnow()
    earlier = sa.orm.aliased(Job)
    blocked_by_earlier = (
        select(earlier.id)
        .where(
            col(earlier.ordering_key) == Job.ordering_key,
            col(earlier.id) < Job.id,
            col(earlier.state).in_(ACTIVE_STATES),
        )
        .exists()
    )
    runnable = sa.or_(
        sa.and_(col(Job.state) == "pending", col(Job.not_before) <= now),
        sa.and_(col(Job.state) == "leased", col(Job.lease_until) < now),
    )
    query = (
        select(Job)
        .where(runnable, ~blocked_by_earlier)
        .order_by(col(Job.not_before), col(Job.id))
        .limit(1)
        .with_for_update(skip_locked=True, of=Job)
    )
    with store.session() as session:
        job = session.exec(query).first()
        if job is None:
            return None
        job.state = "leased"
        job.lease_owner = owner
        job.lease_until = now + timedelta(seconds=lease_seconds)
        job.attempts += 1
        session.add(job)
        return job


def mark_done(session: Session, job: Job) -> None:
    session.execute(
        sa.update(Job)
        .where(col(Job.id) == job.id)
        .values(state="done", finished_at=utcnow(), lease_owner=None, lease_until=None)
    )


def retry_later(store: Store, job: Job, *, error: str, delay_seconds: float) -> None:
    with store.session() as session:
        session.execute(
            sa.update(Job)
            .where(col(Job.id) == job.id, col(Job.lease_owner) == job.lease_owner)
            .values(
                state="pending",
                last_error=error[:500],
                not_before=utcnow() + timedelta(seconds=delay_seconds),
                lease_owner=None,
                lease_until=None,
            )
        )


def mark_failed(session: Session, job: Job, *, error: str) -> None:
    session.execute(
        sa.update(Job)
        .where(col(Job.id) == job.id)
        .values(
            state="failed",
            last_error=error[:500],
            finished_at=utcnow(),
            lease_owner=None,
            lease_until=None,
        )
    )


def release(store: Store, *, owner: str) -> int:
    """Give back leases this owner still holds (graceful stop): they run again at once."""
    with store.session() as session:
        result = session.execute(
            sa.update(Job)
            .where(col(Job.state) == "leased", col(Job.lease_owner) == owner)
            .values(state="pending", lease_owner=None, lease_until=None, not_before=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def cancel_pending(session: Session, *, kind: str, message_id: int) -> bool:
    """Cancel a job that has not started; False when it is already running or finished."""
    result = session.execute(
        sa.update(Job)
        .where(
            col(Job.kind) == kind, col(Job.message_id) == message_id, col(Job.state) == "pending"
        )
        .values(state="cancelled", finished_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def queue_depth(session: Session) -> dict[str, int]:
    """Unfinished jobs by kind, for /healthz, /metrics and `/social sources`."""
    query = (
        select(Job.kind, func.count()).where(col(Job.state).in_(ACTIVE_STATES)).group_by(Job.kind)
    )
    return {kind: int(count) for kind, count in session.exec(query).all()}


def next_due(store: Store) -> datetime | None:
    """When the earliest pending job becomes due; the worker sleeps until then."""
    with store.session() as session:
        query = select(func.min(Job.not_before)).where(col(Job.state) == "pending")
        return session.exec(query).first()


def lock_pending(session: Session, *, kind: str, message_id: int) -> bool:
    """Hold a job that has not started (a no-op UPDATE takes the row lock), so it cannot be
    leased until this transaction ends; False when it is running or finished."""
    result = session.execute(
        sa.update(Job)
        .where(
            col(Job.kind) == kind, col(Job.message_id) == message_id, col(Job.state) == "pending"
        )
        .values(state="pending")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
