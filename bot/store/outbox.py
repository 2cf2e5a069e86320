"""The durable job queue: enqueue with the fact, lease in batches, record the outcome.

Jobs of one ordering key run one at a time, in id order; which runnable job goes first is
bot/store/fair_order.py's.

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

from bot.store.bulk import new_row
from bot.store.db import Store
from bot.store.fair_order import ACTIVE_STATES as ACTIVE_STATES
from bot.store.fair_order import ANY_CANDIDATE, CANDIDATES_LOCKED
from bot.store.fair_order import LEASE_WINDOW as LEASE_WINDOW
from bot.store.fair_order import POSTS_PER_TURN as POSTS_PER_TURN
from bot.store.models import Job, utcnow

# Updates go to the table, not the ORM class: an ORM bulk UPDATE also re-evaluates every
# loaded object in the session, which costs more than the statement itself.
JOBS: sa.Table = Job.__table__  # type: ignore[attr-defined]


def job_values(
    *,
    kind: str,
    ordering_key: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    not_before: datetime | None = None,
    channel: str | None = None,
    priority: int = 0,
) -> dict[str, Any]:
    """The columns of a new job, for `enqueue` or, many at once, `enqueue_many`."""
    return {
        "kind": kind,
        "ordering_key": ordering_key,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "channel": channel,
        "priority": priority,
        "payload_json": json.dumps(dict(payload or {})),
        "not_before": not_before or utcnow(),
    }


def enqueue(session: Session, **values: Any) -> Job:
    """Write one job (see job_values for its fields) in the caller's transaction."""
    job = Job(**job_values(**values))
    session.add(job)
    session.flush()
    return job


def enqueue_many(session: Session, jobs: Sequence[Mapping[str, Any]]) -> None:
    """Write jobs built by job_values in one statement (a fetched page's cards)."""
    if jobs:
        session.execute(sa.insert(JOBS), [new_row(Job, job) for job in jobs])


def has_pending(session: Session, *, kind: str, ordering_key: str) -> bool:
    """True when a job of this kind waits (not yet leased): used to coalesce updates."""
    query = select(Job.id).where(
        col(Job.kind) == kind, col(Job.ordering_key) == ordering_key, col(Job.state) == "pending"
    )
    return session.exec(query.limit(1)).first() is not None


_NOW = sa.bindparam("now", type_=JOBS.c.not_before.type)
_EXPIRED = sa.select(JOBS.c.id).where(JOBS.c.state == "leased", JOBS.c.lease_until < _NOW).limit(1)
# A lease that ran out belongs to an instance that died (or hung): its job is pending again,
# keeping its place (not_before) and its counted attempt, so the next try reconciles.
_RECLAIM = (
    sa.update(JOBS)
    .where(JOBS.c.state == "leased", JOBS.c.lease_until < _NOW)
    .values(state="pending", lease_owner=None, lease_until=None)
)

# The statements the dispatcher runs on every turn, built once: building a statement costs
# more CPU than SQLite spends running it (expression objects, then its cache key), and the
# dispatcher's turns are the queue's one serial path (profile of 2026-12-04, BENCHMARKS.md).
_IDS: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
_TAKE = (
    sa.update(JOBS)
    .where(JOBS.c.id.in_(_IDS))
    .values(
        state="leased",
        lease_owner=sa.bindparam("owner"),
        lease_until=sa.bindparam("until", type_=JOBS.c.lease_until.type),
        attempts=JOBS.c.attempts + 1,
    )
)
_JOBS_BY_ID = select(Job).where(col(Job.id).in_(_IDS))
_GIVE_BACK = (
    sa.update(JOBS)
    .where(JOBS.c.id.in_(_IDS), JOBS.c.state == "leased")
    .values(state="pending", lease_owner=None, lease_until=None, attempts=JOBS.c.attempts - 1)
)
_DONE = (
    sa.update(JOBS)
    .where(JOBS.c.id.in_(_IDS))
    .values(state="done", finished_at=_NOW, lease_owner=None, lease_until=None)
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
    if not anything_to_lease(store, paused_channels):
        return []
    with store.session() as session:
        return lease_in(
            session,
            owner=owner,
            lease_seconds=lease_seconds,
            limit=limit,
            paused_channels=paused_channels,
        )


def anything_to_lease(store: Store, paused_channels: Sequence[str] = ()) -> bool:
    """Whether a lease would find a job (or an expired lease to give back): a read without
    the write lock, the cheap answer for a woken dispatcher when there is nothing to do."""
    now = utcnow()
    with store.read() as session:
        if session.execute(ANY_CANDIDATE, {"now": now, "paused": list(paused_channels)}).first():
            return True
        return session.execute(_EXPIRED, {"now": now}).first() is not None


def lease_in(
    session: Session,
    *,
    owner: str,
    lease_seconds: float,
    limit: int,
    paused_channels: Sequence[str] = (),
) -> list[Job]:
    """lease_many's taking, in the caller's write transaction (the worker's, which also
    records the outcomes of the jobs that just finished); first gives back expired leases."""
    if limit <= 0:
        return []
    now = utcnow()
    params = {"now": now, "limit": limit, "paused": list(paused_channels)}
    if session.execute(_EXPIRED, {"now": now}).first() is not None:
        session.execute(_RECLAIM, {"now": now})
    ids = list(session.execute(CANDIDATES_LOCKED, params).scalars())
    if not ids:
        return []
    session.connection().execute(
        _TAKE, {"ids": ids, "owner": owner, "until": now + timedelta(seconds=lease_seconds)}
    )
    place = {job_id: number for number, job_id in enumerate(ids)}
    jobs = list(session.exec(_JOBS_BY_ID, params={"ids": ids}))
    return sorted(jobs, key=lambda job: place[job.id])  # the dispatcher keeps this order


def unlease(store: Store, jobs: Sequence[Job]) -> None:
    """Put leased jobs back untouched (their attempt not counted): taken in a batch but
    their channel has no room right now."""
    if jobs:
        with store.session() as session:
            unlease_in(session, jobs)


def unlease_in(session: Session, jobs: Sequence[Job]) -> None:
    """unlease in the caller's transaction."""
    if not jobs:
        return
    session.connection().execute(_GIVE_BACK, {"ids": [job.id for job in jobs]})


def mark_done(session: Session, job: Job) -> None:
    mark_done_many(session, [job])


def mark_done_many(session: Session, jobs: Sequence[Job]) -> None:
    if not jobs:
        return
    session.connection().execute(_DONE, {"ids": [job.id for job in jobs], "now": utcnow()})


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
