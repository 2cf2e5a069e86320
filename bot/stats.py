"""The numbers behind `/social`: how fast the team answers, and what is still waiting.

Every figure is one SQL aggregation (COUNT, MIN, or one row picked with ORDER BY ... LIMIT 1
OFFSET k) over an index that covers it (migration 0002), the same on SQLite and PostgreSQL;
no conversation or message is loaded into Python, so an answer stays fast at millions of
rows. Only the grouped results (one row per account or person) are summed here.

Definitions:

- Window figures count what happened in [since, until): conversations by `opened_at`,
  messages by `created_at`, claims by `claimed_at`, closes by `closed_at`.
- Answered share, time to first response and time to close describe the conversations
  opened in the window (a cohort), measured in whole seconds from `opened_at`.
- Percentiles are nearest-rank: of n values sorted ascending, the p-th percentile is the one
  at 1-based rank ceil(p / 100 * n). The median is p = 50, so for an even n it is the lower
  of the two middle values, always a duration that really occurred.
- "Now" figures (open, unclaimed, oldest unanswered) ignore the window.
- An account filter is one account; a network filter is every account on that network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, func, select
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.sla.attainment import Attainment, attainment
from bot.store import Conversation, Message, Store
from bot.store.waiting import NOT_CLOSED


@dataclass(frozen=True, slots=True)
class AccountStats:
    account: str
    opened: int
    replies: int


@dataclass(frozen=True, slots=True)
class PersonStats:
    user: str  # Slack user id
    replies: int
    claims: int
    closes: int


@dataclass(frozen=True, slots=True)
class Stats:
    since: datetime | None  # None: from the beginning
    until: datetime
    opened: int
    inbound: int
    replies: int
    answered: int  # opened in the window and answered (first_response_at set)
    closed: int  # opened in the window and closed now
    first_response_median: int | None  # seconds; None when nothing was answered
    first_response_p90: int | None
    close_median: int | None
    open_now: int
    unclaimed_now: int
    oldest_unanswered: datetime | None
    per_account: tuple[AccountStats, ...]
    per_person: tuple[PersonStats, ...]
    # Answers within the response clock's target (bot/sla/attainment.py); None: not timed.
    attainment: Attainment | None = None

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.opened if self.opened else None


def _loose_scan(name: str, table: str, column: str) -> str:
    """A recursive CTE `name(u)` of the distinct non-null values of an indexed column: one
    index seek per value instead of a DISTINCT over every row (PostgreSQL has no skip scan
    and SQLite uses its own only after ANALYZE)."""
    return f"""
        {name}(u) AS (
            SELECT (SELECT {column} FROM {table} WHERE {column} IS NOT NULL
                    ORDER BY {column} LIMIT 1)
            UNION ALL
            SELECT (SELECT t.{column} FROM {table} t WHERE t.{column} > {name}.u
                    ORDER BY t.{column} LIMIT 1)
            FROM {name} WHERE {name}.u IS NOT NULL
        )"""


_KNOWN_ACCOUNTS = sa.text(
    f"""
    WITH RECURSIVE {_loose_scan("known", "conversation", "account")}
    SELECT known.u, (SELECT c.network FROM conversation c WHERE c.account = known.u LIMIT 1)
    FROM known WHERE known.u IS NOT NULL
    """
)


def _people_sql(*, bounded: bool) -> sa.TextClause:
    """Per person who ever replied, claimed or closed: replies, claims and closes in the
    window. Each count is a range on an index that starts with the person, so nothing is
    sorted or grouped (ix_message_replies, ix_conversation_claims, ix_conversation_closes)."""

    def window(column: str) -> str:
        lower = f" AND {column} >= :since" if bounded else ""
        return f"{column} < :until{lower}"

    query = sa.text(
        f"""
        WITH RECURSIVE {_loose_scan("repliers", "message", "slack_user")},
        {_loose_scan("claimers", "conversation", "assignee")},
        {_loose_scan("closers", "conversation", "closed_by")},
        people(u) AS (
            SELECT u FROM repliers WHERE u IS NOT NULL
            UNION SELECT u FROM claimers WHERE u IS NOT NULL
            UNION SELECT u FROM closers WHERE u IS NOT NULL
        )
        SELECT people.u,
            (SELECT COUNT(*) FROM message m
             WHERE m.slack_user = people.u AND m.direction = 'out' AND m.state = 'sent'
               AND {window("m.created_at")} AND m.account IN :accounts),
            (SELECT COUNT(*) FROM conversation c
             WHERE c.assignee = people.u AND {window("c.claimed_at")}
               AND c.account IN :accounts),
            (SELECT COUNT(*) FROM conversation c
             WHERE c.closed_by = people.u AND {window("c.closed_at")}
               AND c.account IN :accounts)
        FROM people
        """
    )
    binds = [sa.bindparam("accounts", expanding=True), sa.bindparam("until", type_=UTCDateTime())]
    if bounded:
        binds.append(sa.bindparam("since", type_=UTCDateTime()))
    return query.bindparams(*binds)


def known_accounts(session: Session) -> list[tuple[str, str]]:
    """(account, network) of every account that has a conversation, in name order."""
    return [(str(account), str(network)) for account, network in session.execute(_KNOWN_ACCOUNTS)]


def compute_stats(
    store: Store,
    *,
    since: datetime | None,
    until: datetime,
    account: str | None,
    network: str | None,
) -> Stats:
    """The `/social stats` figures for [since, until), optionally for one account or network."""
    with store.read() as session:
        if account is not None:
            accounts = [account]
        else:
            accounts = [a for a, n in known_accounts(session) if network in (None, n)]
        if not accounts:
            return _empty(since, until)
        return _Query(session, accounts, since, until).stats()


class _Query:
    """The statements of one stats answer, sharing the account filter and the window."""

    def __init__(
        self, session: Session, accounts: list[str], since: datetime | None, until: datetime
    ) -> None:
        self.session = session
        self.accounts = accounts
        self.since = since
        self.until = until

    def stats(self) -> Stats:
        opened = self._opened_by_account()
        inbound = self._count_messages_by_account(direction="in")
        replies = self._count_messages_by_account(direction="out", state="sent")
        answered = sum(row[1] for row in opened.values())
        closed = sum(row[2] for row in opened.values())
        first_response = col(Conversation.first_response_seconds)
        open_now, unclaimed_now, oldest_unanswered = self._backlog()
        return Stats(
            since=self.since,
            until=self.until,
            opened=sum(row[0] for row in opened.values()),
            inbound=sum(inbound.values()),
            replies=sum(replies.values()),
            answered=answered,
            closed=closed,
            first_response_median=self._percentile(first_response, 50, answered),
            first_response_p90=self._percentile(first_response, 90, answered),
            close_median=self._percentile(col(Conversation.close_seconds), 50, closed),
            open_now=open_now,
            unclaimed_now=unclaimed_now,
            oldest_unanswered=oldest_unanswered,
            per_account=tuple(
                AccountStats(
                    account=name,
                    opened=opened.get(name, (0, 0, 0))[0],
                    replies=replies.get(name, 0),
                )
                for name in sorted(set(opened) | set(replies))
            ),
            per_person=self._people(),
            attainment=attainment(self.session, self.accounts, self.since, self.until),
        )

    def _window(self, column: Mapped[Any]) -> list[sa.ColumnElement[bool]]:
        conditions = [column < self.until]
        if self.since is not None:
            conditions.append(column >= self.since)
        return conditions

    def _opened_by_account(self) -> dict[str, tuple[int, int, int]]:
        """Per account: opened, answered and closed, of the conversations opened in the window."""
        query = (
            select(
                Conversation.account,
                func.count(),
                func.count(col(Conversation.first_response_seconds)),
                func.count(col(Conversation.close_seconds)),
            )
            .where(
                col(Conversation.account).in_(self.accounts),
                *self._window(col(Conversation.opened_at)),
            )
            .group_by(col(Conversation.account))
        )
        return {
            a: (int(n), int(answered), int(closed)) for a, n, answered, closed in self._all(query)
        }

    def _count_messages_by_account(
        self, *, direction: str, state: str | None = None
    ) -> dict[str, int]:
        """Messages created in the window: inbound ones, or replies that reached the network."""
        conditions = [col(Message.state) == state] if state else []
        query = (
            select(Message.account, func.count())
            .where(
                col(Message.account).in_(self.accounts),
                col(Message.direction) == direction,
                *self._window(col(Message.created_at)),
                *conditions,
            )
            .group_by(col(Message.account))
        )
        return {account: int(count) for account, count in self._all(query)}

    def _percentile(self, seconds: Mapped[int | None], p: int, n: int) -> int | None:
        """Nearest rank: the value at 1-based rank ceil(p/100 * n) of the sorted durations.

        Counted from whichever end is nearer, so the p90 query keeps a tenth of the rows in
        its sort instead of nine tenths.
        """
        if n == 0:
            return None
        rank = (p * n + 99) // 100
        from_top = rank > n - rank + 1
        query = (
            select(seconds)
            .where(
                col(Conversation.account).in_(self.accounts),
                *self._window(col(Conversation.opened_at)),
                seconds.is_not(None),
            )
            .order_by(seconds.desc() if from_top else seconds)
            .offset(n - rank if from_top else rank - 1)
            .limit(1)
        )
        value = self.session.exec(query).first()
        return None if value is None else int(value)

    def _backlog(self) -> tuple[int, int, datetime | None]:
        """Now, whatever the window: not closed; open with nobody assigned; and when the
        oldest conversation still waiting for its first answer was opened.

        One pass over ix_conversation_backlog, grouped in its own order (nothing to sort),
        rather than a MIN(opened_at) that a planner may answer by walking
        ix_conversation_opened from the oldest row of the whole history.
        """
        status, account = col(Conversation.status), col(Conversation.account)
        unclaimed = sa.case((sa.and_(status == "open", col(Conversation.assignee).is_(None)), 1))
        unanswered_since = sa.case(
            (col(Conversation.first_response_at).is_(None), col(Conversation.opened_at))
        )
        query = (
            sa.select(func.count(), func.count(unclaimed), func.min(unanswered_since))
            .where(status.in_(NOT_CLOSED), account.in_(self.accounts))
            .group_by(status, account)
        )
        rows = self._all(query)
        oldest = [first for _, _, first in rows if first is not None]
        return (
            sum(int(count) for count, _, _ in rows),
            sum(int(count) for _, count, _ in rows),
            min(oldest, default=None),
        )

    def _people(self) -> tuple[PersonStats, ...]:
        """Everyone who replied, claimed or closed in the window, most active first."""
        params: dict[str, object] = {"accounts": self.accounts, "until": self.until}
        if self.since is not None:
            params["since"] = self.since
        rows = self.session.execute(_people_sql(bounded=self.since is not None), params)
        people = [
            PersonStats(user=str(user), replies=int(r), claims=int(c), closes=int(d))
            for user, r, c, d in rows
            if r or c or d
        ]
        people.sort(key=lambda p: (-p.replies, -p.claims, -p.closes, p.user))
        return tuple(people)

    def _all(self, query: sa.Executable) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.session.execute(query)]


def _empty(since: datetime | None, until: datetime) -> Stats:
    return Stats(
        since=since,
        until=until,
        opened=0,
        inbound=0,
        replies=0,
        answered=0,
        closed=0,
        first_response_median=None,
        first_response_p90=None,
        close_median=None,
        open_now=0,
        unclaimed_now=0,
        oldest_unanswered=None,
        per_account=(),
        per_person=(),
    )
