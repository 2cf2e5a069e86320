"""How often the team answered within the response clock's target, for `/social stats`.

The cohort is the clock runs started in the window (bot/store/models.py ResponseClock),
like the other cohort figures of bot/stats.py. A run counts once it is decided:

- within target: stopped by a public answer at or before its due time;
- breached: its due time passed before an answer (answered late, closed late unanswered,
  or still waiting past it);
- neither: closed before its due time without an answer, or running and not due yet.

The due time was computed in business hours when the clock started, so the figures are
business-hours aware without any calendar arithmetic here: one grouped aggregation over
ix_response_clock_started, per phase and per person who answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func

from bot.store import ResponseClock


@dataclass(frozen=True, slots=True)
class PersonAttainment:
    user: str  # Slack user id
    within: int  # answered in time
    late: int  # answered after the due time


@dataclass(frozen=True, slots=True)
class Attainment:
    first_within: int
    first_breached: int
    next_within: int
    next_breached: int
    per_person: tuple[PersonAttainment, ...]  # whoever answered a run, most answers first

    @property
    def breaches(self) -> int:
        return self.first_breached + self.next_breached

    @staticmethod
    def share(within: int, breached: int) -> float | None:
        decided = within + breached
        return within / decided if decided else None


def attainment(
    session: Session, accounts: Sequence[str], since: datetime | None, until: datetime
) -> Attainment | None:
    """The figures of the runs started in [since, until), decided as of `until`; None when
    no run started in the window (no clock is configured, or nothing came in)."""
    stopped, due = col(ResponseClock.stopped_at), col(ResponseClock.due_at)
    by = col(ResponseClock.answered_by)
    within = sa.case((sa.and_(by.is_not(None), stopped <= due), 1))
    breached = sa.case(
        (sa.and_(stopped.is_(None), due <= until), 1),
        (stopped > due, 1),
    )
    conditions = [
        col(ResponseClock.account).in_(accounts),
        col(ResponseClock.started_at) < until,
    ]
    if since is not None:
        conditions.append(col(ResponseClock.started_at) >= since)
    query = (
        sa.select(
            col(ResponseClock.phase), by, func.count(), func.count(within), func.count(breached)
        )
        .where(*conditions)
        .group_by(col(ResponseClock.phase), by)
    )
    rows = [tuple(row) for row in session.execute(query)]
    if not rows:
        return None
    totals = {"first": [0, 0], "next": [0, 0]}
    people: dict[str, list[int]] = {}
    for phase, user, _runs, in_time, late in rows:
        totals[str(phase)][0] += int(in_time)
        totals[str(phase)][1] += int(late)
        if user is not None:
            person = people.setdefault(str(user), [0, 0])
            person[0] += int(in_time)
            person[1] += int(late)
    return Attainment(
        first_within=totals["first"][0],
        first_breached=totals["first"][1],
        next_within=totals["next"][0],
        next_breached=totals["next"][1],
        per_person=tuple(
            PersonAttainment(user=user, within=w, late=lt)
            for user, (w, lt) in sorted(people.items(), key=lambda p: (-sum(p[1]), p[0]))
        ),
    )
