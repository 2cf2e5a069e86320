"""The tables. Unique keys do the duplicate checks: a violation means "already handled"."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.textlength import GRAPHEME


def utcnow() -> datetime:
    """Aware UTC: SQLModel's datetime columns refuse naive values and return UTC."""
    return datetime.now(UTC)


def column_length(model: type[SQLModel], name: str) -> int:
    """The declared length of a VARCHAR column (its Field's max_length)."""
    length = getattr(model.__table__.c[name].type, "length", None)  # type: ignore[attr-defined]
    if not isinstance(length, int):
        raise TypeError(f"{model.__name__}.{name} is not a VARCHAR column")
    return length


def fit_text(model: type[SQLModel], name: str, value: str) -> str:
    """`value` cut to the column's length between grapheme clusters.

    Remote profiles are hostile input: a 10 kB display name is a valid Mastodon answer, and
    PostgreSQL refuses a value longer than its VARCHAR (SQLite stores it), which would fail
    the whole fetch's transaction and stall the account on that post for ever.
    """
    limit = column_length(model, name)
    if len(value) <= limit:
        return value
    end = 0
    for cluster in GRAPHEME.finditer(value):
        if cluster.end() > limit:
            break
        end = cluster.end()
    return value[:end]


def fit_url(model: type[SQLModel], name: str, value: str) -> str:
    """`value` when it fits the column, else "": a cut URL leads to another page."""
    return value if len(value) <= column_length(model, name) else ""


class AccountState(SQLModel, table=True):
    """Per configured account: where polling resumes, how it went, who polls it."""

    __tablename__ = "account_state"

    account: str = Field(primary_key=True, max_length=100)
    cursor: str | None = Field(default=None, max_length=200)
    last_poll_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None
    # A network session that must survive restarts (Bluesky tokens, X refresh tokens), JSON.
    session_json: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class Conversation(SQLModel, table=True):
    """One remote thread on one account, mirrored as one Slack thread."""

    __tablename__ = "conversation"
    __table_args__ = (
        sa.UniqueConstraint("account", "remote_root", name="uq_conversation_remote"),
        sa.UniqueConstraint("slack_channel", "slack_ts", name="uq_conversation_slack"),
        sa.Index("ix_conversation_opened", "opened_at"),
        sa.Index("ix_conversation_status", "status", "opened_at"),
        # /social stats (bot/stats.py): each index covers one aggregation (migration 0002).
        sa.Index(
            "ix_conversation_stats_opened",
            "account",
            "opened_at",
            "first_response_seconds",
            "close_seconds",
        ),
        sa.Index("ix_conversation_claims", "assignee", "claimed_at", "account"),
        sa.Index("ix_conversation_closes", "closed_by", "closed_at", "account"),
        sa.Index(
            "ix_conversation_backlog",
            "status",
            "account",
            "first_response_at",
            "opened_at",
            "assignee",
        ),
        sa.Index("ix_conversation_assignee", "assignee", "status", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=100)
    network: str = Field(max_length=30)
    remote_root: str = Field(max_length=300)
    slack_channel: str = Field(max_length=50)
    slack_ts: str | None = Field(default=None, max_length=50)
    status: str = Field(default="open", max_length=20)  # open | claimed | closed
    private: bool = False
    author_handle: str = Field(default="", max_length=300)
    author_name: str = Field(default="", max_length=300)
    assignee: str | None = Field(default=None, max_length=50)
    opened_at: datetime = Field(default_factory=utcnow)
    last_inbound_at: datetime = Field(default_factory=utcnow)
    first_response_at: datetime | None = None
    last_response_at: datetime | None = None
    claimed_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = Field(default=None, max_length=50)
    reopened: bool = False
    # When it was last reopened (by a reaction, a button or the customer writing again):
    # the response clock runs again from here (bot/sla/timers.py).
    reopened_at: datetime | None = None
    # Whole seconds from opened_at, stored so stats can sort durations on an index:
    # set with first_response_at; set with closed_at and cleared (None) on reopening.
    first_response_seconds: int | None = None
    close_seconds: int | None = None


class Message(SQLModel, table=True):
    """Every post of a conversation: inbound from the network, outbound from Slack."""

    __tablename__ = "message"
    __table_args__ = (
        sa.UniqueConstraint("account", "remote_id", name="uq_message_remote"),
        sa.UniqueConstraint("slack_channel", "slack_ts", name="uq_message_slack"),
        sa.Index("ix_message_conversation", "conversation_id", "id"),
        sa.Index("ix_message_created", "created_at"),
        sa.Index("ix_message_stats", "account", "direction", "created_at", "state"),
        sa.Index("ix_message_replies", "slack_user", "direction", "state", "created_at", "account"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    account: str = Field(max_length=100)
    direction: str = Field(max_length=3)  # in | out
    remote_id: str | None = Field(default=None, max_length=300)
    remote_url: str | None = Field(default=None, max_length=1000)
    in_reply_to: str | None = Field(default=None, max_length=300)
    slack_channel: str = Field(max_length=50)
    slack_ts: str | None = Field(default=None, max_length=50)
    slack_user: str | None = Field(default=None, max_length=50)  # who wrote it, for outbound
    author_remote_id: str = Field(default="", max_length=300)
    author_handle: str = Field(default="", max_length=300)
    author_name: str = Field(default="", max_length=300)
    author_url: str = Field(default="", max_length=1000)
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    visibility: str = Field(default="public", max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    # inbound: pending -> posted; outbound: queued -> sent | failed | cancelled | refused
    state: str = Field(default="pending", max_length=20)
    last_error: str | None = Field(default=None, max_length=500)
    extra_json: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))


class ResponseClock(SQLModel, table=True):
    """One run of a conversation's response clock, kept for `/social stats` and the due
    order of `/social open`: when it started, when the answer was due, and when and by
    whom it stopped (an accepted public reply; a close stops it with nobody).

    bot/sla/timers.py writes it where it schedules the timers and keeps `stopped_at` in
    step with the conversation's messages, so the figures are one indexed aggregation
    instead of business-hours arithmetic over every conversation at reading time.
    """

    __tablename__ = "response_clock"
    __table_args__ = (
        sa.UniqueConstraint("conversation_id", "started_at", name="uq_response_clock_start"),
        sa.Index("ix_response_clock_started", "account", "started_at"),
        # The running clocks (stopped_at NULL) in due order, for `/social open` and `overdue`.
        sa.Index("ix_response_clock_running", "stopped_at", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    account: str = Field(max_length=100)
    phase: str = Field(max_length=10)  # first | next
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None = None
    answered_by: str | None = Field(default=None, max_length=50)  # the Slack user


class Job(SQLModel, table=True):
    """Outbox: work that talks to the outside world, written with the fact that caused it.

    Jobs with the same `ordering_key` run one at a time in id order, so a conversation's
    messages reach Slack (and the network) in the order they happened.
    """

    __tablename__ = "job"
    __table_args__ = (
        # The due pending jobs for the lease query; in this order the cheap "anything to
        # do?" read stops at the first runnable one.
        sa.Index("ix_job_next", "state", "priority", "not_before", "id"),
        sa.Index("ix_job_ordering", "ordering_key", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    ordering_key: str = Field(max_length=100)
    conversation_id: int | None = None
    message_id: int | None = None
    # The Slack channel a chat.postMessage job posts to: paced per channel (bot/pacing.py).
    channel: str | None = Field(default=None, max_length=50)
    # Breaks ties between runnable jobs of the same turn (bot/store/outbox.py), lower
    # first: a follow-up in a known thread before a new card.
    priority: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    payload_json: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    state: str = Field(default="pending", max_length=20)  # pending|leased|done|failed|cancelled
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
