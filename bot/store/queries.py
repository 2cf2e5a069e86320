"""Look-ups the use cases share: which conversation, which message, by which key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain import WatchedThread
from bot.store.models import Conversation, Message


def conversation_by_card(session: Session, channel: str, ts: str) -> Conversation | None:
    """The conversation whose card (thread parent) is at (channel, ts)."""
    return session.exec(
        select(Conversation).where(
            col(Conversation.slack_channel) == channel, col(Conversation.slack_ts) == ts
        )
    ).first()


def conversation_of_post(session: Session, account: str, remote_id: str) -> Conversation | None:
    """The conversation holding a post (inbound or one of our replies) of this account."""
    return session.exec(
        select(Conversation)
        .join(Message, col(Message.conversation_id) == Conversation.id)
        .where(col(Message.account) == account, col(Message.remote_id) == remote_id)
    ).first()


# IN lists are sent in slices of this many values: SQLite's default cap on host parameters
# is 32,766 (https://sqlite.org/limits.html#max_variable_number), PostgreSQL's 65,535.
IN_SLICE = 500


def stored_remote_ids(session: Session, account: str, remote_ids: Sequence[str]) -> set[str]:
    """Which of these posts of `account` are stored already (the duplicate check of a
    fetched page, in one query per slice instead of a failed insert per post)."""
    found: set[str] = set()
    for start in range(0, len(remote_ids), IN_SLICE):
        found.update(
            remote_id
            for remote_id in session.exec(
                select(Message.remote_id).where(
                    col(Message.account) == account,
                    col(Message.remote_id).in_(remote_ids[start : start + IN_SLICE]),
                )
            )
            if remote_id is not None
        )
    return found


def roots_in_use(session: Session, account: str, roots: Sequence[str]) -> set[str]:
    """Which of these network thread keys already have a conversation on `account`."""
    found: set[str] = set()
    for start in range(0, len(roots), IN_SLICE):
        found.update(
            session.exec(
                select(Conversation.remote_root).where(
                    col(Conversation.account) == account,
                    col(Conversation.remote_root).in_(roots[start : start + IN_SLICE]),
                )
            )
        )
    return found


def conversation_by_root(session: Session, account: str, root: str) -> Conversation | None:
    """The conversation of a network thread, by the network's own thread key."""
    return session.exec(
        select(Conversation).where(
            col(Conversation.account) == account, col(Conversation.remote_root) == root
        )
    ).first()


def latest_inbound_message(session: Session, conversation: Conversation) -> Message:
    """The customer's latest post in the conversation (there is always a first one)."""
    return session.exec(
        select(Message)
        .where(col(Message.conversation_id) == conversation.id, col(Message.direction) == "in")
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(1)
    ).one()


def outbound_by_ts(session: Session, channel: str, ts: str) -> Message | None:
    """Our reply written as the Slack message at (channel, ts)."""
    return session.exec(
        select(Message).where(
            col(Message.slack_channel) == channel,
            col(Message.slack_ts) == ts,
            col(Message.direction) == "out",
        )
    ).first()


def card_pending(session: Session, channel: str) -> bool:
    """Whether a conversation in `channel` has no recorded card yet: its card may already
    be in Slack (Slack shows a message before the bot hears back), so an event about an
    unknown thread there may be about that card."""
    return (
        session.exec(
            select(Conversation.id)
            .where(col(Conversation.slack_channel) == channel, col(Conversation.slack_ts).is_(None))
            .limit(1)
        ).first()
        is not None
    )


def inbound_by_remote_id(session: Session, account: str, remote_id: str) -> Message | None:
    return session.exec(
        select(Message).where(
            col(Message.account) == account,
            col(Message.remote_id) == remote_id,
            col(Message.direction) == "in",
        )
    ).first()


def watched_threads(session: Session, account: str, *, since: datetime) -> dict[int, WatchedThread]:
    """Conversations of `account` not closed and with a customer post since `since`, by id,
    as threads to watch: their root, and the author and time of their first inbound post."""
    first = (
        select(func.min(Message.id))
        .where(col(Message.conversation_id) == Conversation.id, col(Message.direction) == "in")
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = session.exec(
        select(
            Conversation.id, Conversation.remote_root, Message.author_remote_id, Message.created_at
        )
        .join(Message, col(Message.id) == first)
        .where(
            col(Conversation.account) == account,
            col(Conversation.status) != "closed",
            col(Conversation.last_inbound_at) >= since,
        )
    ).all()
    return {
        cid: WatchedThread(root=root, author=author, since=_aware(at))
        for cid, root, author, at in rows
        if cid is not None
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
