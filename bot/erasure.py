"""Personal data leaves the store: by retention (`[store] retention_days`) and on request
(`socialbridge forget HANDLE`).

Rows stay, so the counts and durations of /social stats stay: only texts, names and links
are blanked. An erased message is marked in its extra_json (no schema change), so every
later rendering of it in Slack says the text was erased instead of showing empty fields.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from bot.jobkinds import REWRITE_ERASED, card_key
from bot.settings import AccountSettings
from bot.store import Conversation, Message, Store, outbox, utcnow

logger = logging.getLogger(__name__)

ERASED_KEY = "erased"  # in Message.extra_json: when the message was erased (ISO 8601)
MAX_HANDLE_LENGTH = 300  # the column's length
RETENTION_BATCH = 500  # messages per transaction, so a first run does not lock for long
MAX_RETENTION_BATCHES = 10_000  # per run; whatever is left goes in the next hourly run
# Replies still waiting for the network and posts still on their way to Slack keep their
# text until they are out; the next run erases them.
IN_FLIGHT_STATES = ("pending", "queued")


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure changed."""

    messages: int
    conversations: int
    slack_messages: int = 0  # rewrite jobs queued for the running bot (forget only)


@dataclass(frozen=True, slots=True)
class HandleQuery:
    """Whom `forget` looks for: the handle as stored, lower case, without the leading @.

    A Mastodon server stores its own users without a domain ("alice", not
    "alice@mastodon.social"), so for accounts on the handle's server the local part is
    looked for too (`local`, on `local_accounts`).
    """

    handle: str
    local: str = ""
    local_accounts: tuple[str, ...] = ()


def is_erased(message: Message) -> bool:
    return ERASED_KEY in json.loads(message.extra_json or "{}")


def parse_handle(text: str, accounts: Sequence[AccountSettings]) -> HandleQuery:
    """`@alice@remote.example`, `alice.bsky.social` or `alice`; raises ValueError."""
    handle = text.strip().removeprefix("@").lower()
    if not handle or len(handle) > MAX_HANDLE_LENGTH or any(c.isspace() for c in handle):
        raise ValueError(f"{text!r} is not a handle (like @alice@remote.example or alice)")
    if handle.startswith("@") or handle.endswith("@") or handle.count("@") > 1:
        raise ValueError(f"{text!r} is not a handle (like @alice@remote.example or alice)")
    local, _, domain = handle.partition("@")
    local_accounts = tuple(
        account.name
        for account in accounts
        if domain and account.network == "mastodon" and urlsplit(account.server).hostname == domain
    )
    return HandleQuery(handle, local if local_accounts else "", local_accounts)


def forget(
    store: Store,
    query: HandleQuery,
    *,
    account: str | None = None,
    now: datetime | None = None,
) -> Erased:
    """Erase the person's posts and names, and queue a rewrite of each of their Slack
    messages, in one transaction: a crash either loses nothing or did everything."""
    now = now or utcnow()
    with store.session() as session:
        messages = session.exec(
            select(Message).where(
                col(Message.direction) == "in",
                _matches(col(Message.author_handle), col(Message.account), query),
                col(Message.account) == account if account else sa.true(),
            )
        ).all()
        rewrites = 0
        for message in messages:
            _erase(message, now)
            session.add(message)
            if message.state != "failed":  # a post that never reached Slack has nothing there
                _queue_rewrite(session, message)
                rewrites += 1
        conversations = session.execute(
            sa.update(Conversation)
            .where(
                _matches(col(Conversation.author_handle), col(Conversation.account), query),
                col(Conversation.account) == account if account else sa.true(),
            )
            .values(author_handle="", author_name="")
        ).rowcount  # type: ignore[attr-defined]
    return Erased(messages=len(messages), conversations=conversations, slack_messages=rewrites)


def erase_expired(store: Store, *, retention_days: int, now: datetime | None = None) -> Erased:
    """Erase every message and author of conversations closed more than `retention_days`
    ago; rows already erased are not touched again, so running it twice changes nothing."""
    now = now or utcnow()
    expired = select(Conversation.id).where(
        col(Conversation.status) == "closed",
        col(Conversation.closed_at) < now - timedelta(days=retention_days),
    )
    erased = 0
    for _ in range(MAX_RETENTION_BATCHES):
        with store.session() as session:
            batch = session.exec(
                select(Message)
                .where(
                    col(Message.conversation_id).in_(expired),
                    col(Message.state).not_in(IN_FLIGHT_STATES),
                    _has_personal_data(),
                )
                .limit(RETENTION_BATCH)
            ).all()
            for message in batch:
                _erase(message, now)
                session.add(message)
        erased += len(batch)
        if len(batch) < RETENTION_BATCH:
            break
    with store.session() as session:
        conversations = session.execute(
            sa.update(Conversation)
            .where(
                col(Conversation.id).in_(expired),
                sa.or_(col(Conversation.author_handle) != "", col(Conversation.author_name) != ""),
            )
            .values(author_handle="", author_name="")
        ).rowcount  # type: ignore[attr-defined]
    if erased or conversations:
        logger.info(
            "retention: erased %d messages and %d authors of conversations closed more than "
            "%d days ago",
            erased,
            conversations,
            retention_days,
        )
    return Erased(messages=erased, conversations=conversations)


def _erase(message: Message, now: datetime) -> None:
    message.text = ""
    message.author_name = message.author_handle = message.author_url = ""
    message.author_remote_id = ""
    message.remote_url = None
    message.last_error = None
    # The remaining ids (Bluesky's uri and cid) stay: a reply in the thread still needs them.
    extra = json.loads(message.extra_json or "{}")
    extra[ERASED_KEY] = now.isoformat()
    message.extra_json = json.dumps(extra)


def _has_personal_data() -> sa.ColumnElement[bool]:
    return sa.or_(
        col(Message.text) != "",
        col(Message.author_name) != "",
        col(Message.author_handle) != "",
        col(Message.author_url) != "",
        col(Message.author_remote_id) != "",
        col(Message.remote_url).is_not(None),
    )


def _matches(
    handle: Mapped[str], account: Mapped[str], query: HandleQuery
) -> sa.ColumnElement[bool]:
    lowered = sa.func.lower(handle)
    if not query.local_accounts:
        return lowered == query.handle
    return sa.or_(
        lowered == query.handle,
        sa.and_(account.in_(query.local_accounts), lowered == query.local),
    )


def _queue_rewrite(session: Session, message: Message) -> None:
    # The card's own key: a card update that read the text before the erasure cannot land
    # after the rewrite. A post still on its way is waited for (bot/erasure_slack.py).
    outbox.enqueue(
        session,
        kind=REWRITE_ERASED,
        ordering_key=card_key(message.conversation_id),
        conversation_id=message.conversation_id,
        message_id=message.id,
    )
