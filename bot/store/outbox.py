"""The durable job queue: enqueue with the fact, lease one at a time, record the outcome.

Jobs of one ordering key run one at a time, in id order. Among the runnable ones, the
conversation that had a busy channel least recently goes first (`_turn`), so one flooding
conversation cannot hold back the others' cards.

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
from bot.store.models import Job, utcnow

ACTIVE_STATES = ("pending", "leased")
# Updates go to the table, not the ORM class: an ORM bulk UPDATE also re-evaluates every
# loaded object in the session, which costs more than the statement itself.
JOBS: sa.Table = Job.__table__  # type: ignore[attr-defined]
# The same table again: for "the first unfinished job of each key" and for "the jobs of
# this key that already ran".
unfinished = sa.orm.aliased(Job)
served = sa.orm.aliased(Job)


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


# A conversation may post this many times in a row to a busy channel before a newer card
# gets its turn: threads already going come first (issue 5), but only for a short run.
# At Slack's 1 message/s (https://api.slack.com/apis/rate-limits#special-rate-limits) a
# new card then waits behind at most 3 posts of each busy conversation, the one in flight
# included: at most about 4 s, inside the 5 s of issue 9 item 7; a run of 4 would not be.
POSTS_PER_TURN = 3


# How many runnable jobs, in ix_job_next's order, the fair order is computed over. The
# lease used to compute every runnable job's turn and sort them all: with a backlog of
# 5,000 new cards (5,000 keys) that made each lease a pass over the whole backlog, so
# ingest slowed with the square of the backlog. A window far larger than the number of
# conversations flooding at once keeps the fair order (a new card and the busy threads are
# all in it) at a cost that does not grow with the backlog; beyond the window the queue is
# first come, first served, which is the fair order for new cards anyway.
LEASE_WINDOW = 200


def _runnable() -> list[sa.ColumnElement[bool]]:
    """Pending, due, not for a paused channel, and the first unfinished job of its ordering
    key (a conversation's posts run one at a time, in order).

    "First of its key" is a correlated lookup of the key's smallest unfinished id (a few
    steps of ix_job_ordering), asked only of the rows the database walks in ix_job_next's
    order until it has enough. Not "no earlier unfinished job" (NOT EXISTS): PostgreSQL
    answers that with a hash anti-join whose cost grows with the square of one key's
    backlog (400 ms here for a conversation with 3,000 queued posts); and not the smallest
    id of every key (GROUP BY), which is a pass over the whole backlog per lease."""
    now = sa.bindparam("now", type_=JOBS.c.not_before.type)
    paused: sa.BindParameter[str] = sa.bindparam("paused", expanding=True)
    first_of_its_key = (
        select(func.min(unfinished.id))
        .where(
            col(unfinished.ordering_key) == Job.ordering_key,
            col(unfinished.state).in_(ACTIVE_STATES),
        )
        .correlate(Job)
        .scalar_subquery()
    )
    return [
        col(Job.state) == "pending",
        col(Job.not_before) <= now,
        col(Job.id) == first_of_its_key,
        sa.or_(col(Job.channel).is_(None), col(Job.channel).not_in(paused)),
    ]


def _turn() -> sa.ColumnElement[datetime]:
    """When a runnable job's conversation last had the channel: jobs run oldest turn first.

    A job that posts to a channel queues from the oldest of the last POSTS_PER_TURN
    finished jobs of its ordering key, or from its own not_before if the key never posted
    (a new card). So a busy conversation yields to a newer card after a short run however
    long its backlog, and takes turns with other busy conversations; within a key the
    order stays the id order. It is derived from the finished jobs themselves, in a few
    steps of ix_job_ordering: no counter to keep right, and a conversation that sat out a
    retry picks up where it was instead of bursting through a backlog tagged in the past.
    Jobs that post nowhere (network replies, timers, card updates) are not paced and keep
    their not_before."""
    last_finished = (
        select(col(served.finished_at).label("finished_at"))
        .where(col(served.ordering_key) == Job.ordering_key, col(served.state) == "done")
        .order_by(col(served.id).desc())
        .limit(POSTS_PER_TURN)
        .correlate(Job)
        .subquery()
    )
    run_started = select(func.min(last_finished.c.finished_at)).scalar_subquery()
    return sa.case(
        (col(Job.channel).is_(None), col(Job.not_before)),
        else_=func.coalesce(run_started, col(Job.not_before)),
    )


def _lease_candidates() -> sa.Select[int | None]:
    """Ids of runnable jobs in the order they should run, at most `limit`. Built once, so
    SQLAlchemy reuses its compiled form. The turn is computed for the first LEASE_WINDOW
    runnable jobs (one per conversation), which the database then sorts. The window is a
    subquery in WHERE, so on PostgreSQL only the outer rows are locked (SKIP LOCKED)."""
    window = (
        sa.select(col(Job.id))
        .where(*_runnable())
        .order_by(col(Job.priority), col(Job.not_before), col(Job.id))
        .limit(LEASE_WINDOW)
    )
    return (
        sa.select(col(Job.id))
        .where(col(Job.id).in_(window), col(Job.state) == "pending")
        .order_by(_turn(), col(Job.priority), col(Job.id))
        .limit(sa.bindparam("limit", type_=sa.Integer(), literal_execute=True))
    )


# "Is there anything to do?", the cheap read a woken dispatcher asks first: any runnable
# job will do, so no turns are computed. The order is ix_job_next's, so that PostgreSQL
# walks that index instead of gambling on a sequential scan through the finished jobs.
_ANY_CANDIDATE = (
    sa.select(col(Job.id))
    .where(*_runnable())
    .order_by(col(Job.priority), col(Job.not_before), col(Job.id))
    .limit(1)
)
_CANDIDATES_LOCKED = _lease_candidates().with_for_update(skip_locked=True)
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
        if session.execute(_ANY_CANDIDATE, {"now": now, "paused": list(paused_channels)}).first():
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
    ids = list(session.execute(_CANDIDATES_LOCKED, params).scalars())
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
