"""The fair order of the outbox: which runnable job goes next.

Jobs of one ordering key run one at a time, in id order. Among the runnable ones, the
conversation that had a busy channel least recently goes first (`_turn`), so one flooding
conversation cannot hold back the others' cards. bot/store/outbox.py leases in this order.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, func, select

from bot.store.models import Job

ACTIVE_STATES = ("pending", "leased")
JOBS: sa.Table = Job.__table__  # type: ignore[attr-defined]
# The same table again: for "the first unfinished job of each key" and for "the jobs of
# this key that already ran".
unfinished = sa.orm.aliased(Job)
served = sa.orm.aliased(Job)


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
ANY_CANDIDATE = (
    sa.select(col(Job.id))
    .where(*_runnable())
    .order_by(col(Job.priority), col(Job.not_before), col(Job.id))
    .limit(1)
)
CANDIDATES_LOCKED = _lease_candidates().with_for_update(skip_locked=True)
