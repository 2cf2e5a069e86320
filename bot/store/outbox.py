"""The durable job queue: enqueue with the fact, lease one at a time, record the outcome.

Leasing uses `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL so several instances share
the queue; on SQLite every write transaction takes the database lock (BEGIN IMMEDIATE),
which serializes leasing the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from bot.store.db import Store
from bot.store.models import Job, utcnow

ACTIVE_STATES = ("pending", "leased")
# Updates go to the table, not the ORM class: an ORM bulk UPDATE also re-evaluates every
# loaded object in the session, which costs more than the statement itself.
JOBS: sa.Table = Job.__table__  # type: ignore[attr-defined]
earlier = sa.orm.aliased(Job)  # the same table, for "an earlier job of the same key"


def enqueue(
    session: Session,
    *,
    kind: str,
    ordering_key: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    not_before: datetime | None = None,
    channel: str | None = None,
    priority: int = 0,
) -> Job:
    job = Job(
        kind=kind,
        ordering_key=ordering_key,
        conversation_id=conversation_id,
        message_id=message_id,
        channel=channel,
        priority=priority,
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


def _lease_candidates() -> sa.Select[int | None]:
    """Ids of runnable jobs: pending, due, not for a paused channel, and no unfinished job
    of their ordering key before them, in the order they should run. Built once, so
    SQLAlchemy reuses its compiled form; ix_job_next lets the database walk them in that
    order and stop after `limit`, however long the backlog is."""
    now = sa.bindparam("now", type_=JOBS.c.not_before.type)
    paused: sa.BindParameter[str] = sa.bindparam("paused", expanding=True)
    blocked_by_earlier = (
        select(earlier.id)
        .where(
            col(earlier.ordering_key) == Job.ordering_key,
            col(earlier.id) < Job.id,
            col(earlier.state).in_(ACTIVE_STATES),
        )
        .exists()
    )
    return (
        sa.select(col(Job.id))
        .where(
            col(Job.state) == "pending",
            col(Job.not_before) <= now,
            ~blocked_by_earlier,
            sa.or_(col(Job.channel).is_(None), col(Job.channel).not_in(paused)),
        )
        .order_by(col(Job.priority), col(Job.not_before), col(Job.id))
        .limit(sa.bindparam("limit", type_=sa.Integer(), literal_execute=True))
    )


_CANDIDATES = _lease_candidates()
_CANDIDATES_LOCKED = _CANDIDATES.with_for_update(skip_locked=True)
_NOW = sa.bindparam("now", type_=JOBS.c.not_before.type)
_EXPIRED = sa.select(JOBS.c.id).where(JOBS.c.state == "leased", JOBS.c.lease_until < _NOW).limit(1)
# A lease that ran out belongs to an instance that died (or hung): its job is pending again,
# keeping its place (not_before) and its counted attempt, so the next try reconciles.
_RECLAIM = (
    sa.update(JOBS)
    .where(JOBS.c.state == "leased", JOBS.c.lease_until < _NOW)
    .values(state="pending", lease_owner=None, lease_until=None)
)


def lease(store: Store, *, owner: str, lease_seconds: float) -> Job | None:
    """Take the next runnable job and count an attempt; None when nothing is runnable."""
    jobs = lease_many(store, owner=owner, lease_seconds=lease_seconds, limit=1)
    return jobs[0] if jobs else None


def lease_many(
    store: Store,
    *,
    owner: str,
    lease_seconds: float,
    limit: int,
    paused_channels: Sequence[str] = (),
) -> list[Job]:
    """Take up to `limit` runnable jobs (each the first of its ordering key) in one go,
    leaving out jobs that post to a channel that is being paced.

    A read without the write lock answers "nothing to do" cheaply, which is the common
    case for a woken dispatcher; only when there is a candidate are they taken for real.
    """
    now = utcnow()
    params = {"now": now, "limit": limit, "paused": list(paused_channels)}
    with store.read() as session:
        candidate = session.execute(_CANDIDATES, {**params, "limit": 1}).first()
        expired = session.execute(_EXPIRED, {"now": now}).first()
    if candidate is None and expired is None:
        return []
    with store.session() as session:
        if expired is not None:
            session.execute(_RECLAIM, {"now": now})
        ids = list(session.execute(_CANDIDATES_LOCKED, params).scalars())
        if not ids:
            return []
        session.execute(
            sa.update(JOBS)
            .where(JOBS.c.id.in_(ids))
            .values(
                state="leased",
                lease_owner=owner,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=JOBS.c.attempts + 1,
            )
        )
        jobs = list(session.exec(select(Job).where(col(Job.id).in_(ids))))
        return sorted(jobs, key=lambda job: (job.priority, job.not_before, job.id or 0))


def unlease(store: Store, jobs: Sequence[Job]) -> None:
    """Put leased jobs back untouched (their attempt not counted): taken in a batch but
    their channel has no room right now."""
    if not jobs:
        return
    with store.session() as session:
        session.execute(
            sa.update(JOBS)
            .where(JOBS.c.id.in_([job.id for job in jobs]), JOBS.c.state == "leased")
            .values(
                state="pending", lease_owner=None, lease_until=None, attempts=JOBS.c.attempts - 1
            )
        )


def mark_done(session: Session, job: Job) -> None:
    session.execute(
        sa.update(JOBS)
        .where(JOBS.c.id == job.id)
        .values(state="done", finished_at=utcnow(), lease_owner=None, lease_until=None)
    )


def retry_later(store: Store, job: Job, *, error: str, delay_seconds: float) -> None:
    with store.session() as session:
        session.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == job.id, JOBS.c.lease_owner == job.lease_owner)
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
        sa.update(JOBS)
        .where(JOBS.c.id == job.id)
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
            sa.update(JOBS)
            .where(JOBS.c.state == "leased", JOBS.c.lease_owner == owner)
            .values(state="pending", lease_owner=None, lease_until=None, not_before=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def cancel_pending(session: Session, *, kind: str, message_id: int) -> bool:
    """Cancel a job that has not started; False when it is already running or finished."""
    result = session.execute(
        sa.update(JOBS)
        .where(JOBS.c.kind == kind, JOBS.c.message_id == message_id, JOBS.c.state == "pending")
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
    """When a job not runnable now becomes runnable by the clock: a retry's not_before, or
    a lease that expires. Jobs that are due but wait for an earlier job of their key are
    not counted: that job's end wakes the worker."""
    now = utcnow()
    with store.read() as session:
        retry = session.exec(
            select(func.min(Job.not_before)).where(
                col(Job.state) == "pending", col(Job.not_before) > now
            )
        ).first()
        expiry = session.exec(
            select(func.min(Job.lease_until)).where(
                col(Job.state) == "leased", col(Job.lease_until) > now
            )
        ).first()
    moments = [m for m in (retry, expiry) if m is not None]
    return min(moments) if moments else None


def lock_pending(session: Session, *, kind: str, message_id: int) -> bool:
    """Hold a job that has not started (a no-op UPDATE takes the row lock), so it cannot be
    leased until this transaction ends; False when it is running or finished."""
    result = session.execute(
        sa.update(JOBS)
        .where(JOBS.c.kind == kind, JOBS.c.message_id == message_id, JOBS.c.state == "pending")
        .values(state="pending")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
