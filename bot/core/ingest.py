"""Network -> store: a fetched page of posts becomes conversations, messages and card jobs.

Everything a page brings is written in the caller's transaction, with the account's
cursor, so a crash either keeps the page and its jobs or refetches it. Posts already
stored are found in one query (unique on account + remote id). A post that starts a
thread nobody has seen (the common case: a new mention) is written with its conversation
and its card job in a few Core statements per page (bot/store/bulk.py); a post that
answers or joins a known thread goes through the ORM one at a time, because where it
belongs depends on what is stored, including posts written earlier in the same page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from bot import targets, triage
from bot.domain import Post
from bot.jobkinds import POST_INBOUND, UPDATE_CARD, card_key, slack_key
from bot.settings import SlaSettings
from bot.sla import timers
from bot.store import Conversation, Message, ResponseClock, outbox, queries, utcnow
from bot.store.bulk import insert_returning_ids, new_row
from bot.store.models import fit_text, fit_url

PRIORITY_FOLLOW_UP = 0
PRIORITY_NEW_CARD = 1

# Card updates wait this long, so a burst of changes becomes one chat.update.
CARD_UPDATE_WINDOW = timedelta(seconds=0.5)


def store_posts(
    session: Session,
    *,
    account: str,
    network: str,
    channel: str,
    posts: Sequence[Post],
    sla: SlaSettings | None = None,
) -> int:
    """Store the posts not stored yet, in the order given; returns how many were new. With
    `sla`, a clock that starts (a new conversation, the customer writing after our answer)
    gets its timers (bot/sla/timers.py)."""
    seen = queries.stored_remote_ids(session, account, [post.remote_id for post in posts])
    taken_roots = queries.roots_in_use(
        session, account, [post.remote_id for post in posts if _starts_a_thread(post)]
    )
    page = _Page(session, account=account, network=network, channel=channel, sla=sla)
    for post in posts:
        if post.remote_id in seen:
            continue
        seen.add(post.remote_id)
        if _starts_a_thread(post) and post.remote_id not in taken_roots:
            page.fresh.append(post)
        else:
            page.join_or_open(post)
    page.write_fresh()
    return page.new


def queue_card_update(session: Session, conversation: Conversation) -> None:
    """Queue a chat.update of the card unless one is already waiting: a burst of changes
    inside the coalescing window becomes one update showing the last state."""
    key = card_key(conversation.id)
    if not outbox.has_pending(session, kind=UPDATE_CARD, ordering_key=key):
        outbox.enqueue(
            session,
            kind=UPDATE_CARD,
            ordering_key=key,
            conversation_id=conversation.id,
            not_before=utcnow() + CARD_UPDATE_WINDOW,
        )


def _starts_a_thread(post: Post) -> bool:
    return not post.in_reply_to and not post.thread_root


def _message_values(
    post: Post, *, account: str, conversation_id: int, channel: str
) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "account": account,
        "direction": "in",
        "remote_id": post.remote_id,
        "remote_url": fit_url(Message, "remote_url", post.url),
        "in_reply_to": post.in_reply_to,
        "slack_channel": channel,
        "author_remote_id": post.author.remote_id,
        "author_handle": fit_text(Message, "author_handle", post.author.handle),
        "author_name": fit_text(Message, "author_name", post.author.display_name),
        "author_url": fit_url(Message, "author_url", post.author.url),
        "text": post.text,
        "visibility": post.visibility.value,
        "created_at": post.created_at,
        "extra_json": json.dumps(dict(post.extra)),
    }


def _new_conversation_values(
    post: Post, *, account: str, network: str, channel: str, root: str
) -> dict[str, Any]:
    now = utcnow()
    return {
        "account": account,
        "network": network,
        "remote_root": root,
        "slack_channel": channel,
        "private": post.visibility.is_private,
        "author_handle": fit_text(Conversation, "author_handle", post.author.handle),
        "author_name": fit_text(Conversation, "author_name", post.author.display_name),
        "opened_at": now,
        "last_inbound_at": now,
    }


class _Page:
    """One page being stored: new threads wait in `fresh` and are written together, before
    any post that might answer one of them looks for its conversation."""

    def __init__(
        self,
        session: Session,
        *,
        account: str,
        network: str,
        channel: str,
        sla: SlaSettings | None,
    ) -> None:
        self.session = session
        self.sla = sla
        self.account = account
        self.network = network
        self.channel = channel
        self.fresh: list[Post] = []
        self.new = 0

    def write_fresh(self) -> None:
        posts, self.fresh = self.fresh, []
        if not posts:
            return
        where = {"account": self.account, "network": self.network, "channel": self.channel}
        conversations = [
            new_row(Conversation, _new_conversation_values(post, root=post.remote_id, **where))
            for post in posts
        ]
        conversation_ids = insert_returning_ids(self.session, Conversation, conversations)
        message_ids = insert_returning_ids(
            self.session,
            Message,
            [
                new_row(
                    Message,
                    _message_values(
                        post, account=self.account, conversation_id=cid, channel=self.channel
                    ),
                )
                for post, cid in zip(posts, conversation_ids, strict=True)
            ],
        )
        outbox.enqueue_many(
            self.session,
            [
                outbox.job_values(
                    kind=POST_INBOUND,
                    ordering_key=slack_key(cid),
                    conversation_id=cid,
                    message_id=mid,
                    channel=self.channel,
                    priority=PRIORITY_NEW_CARD,
                )
                for cid, mid in zip(conversation_ids, message_ids, strict=True)
            ],
        )
        if self.sla is not None:
            self._start_clocks(conversation_ids, [row["opened_at"] for row in conversations])
        self.new += len(posts)

    def _start_clocks(self, conversation_ids: list[int], opened: list[datetime]) -> None:
        """The first-response clocks of new conversations: their timers and their rows."""
        assert self.sla is not None
        sla = self.sla
        dues = [sla.business_hours.due(at, sla.first_response) for at in opened]
        outbox.enqueue_many(
            self.session,
            [
                timer
                for cid, due in zip(conversation_ids, dues, strict=True)
                for timer in timers.timers_for(cid, self.channel, due, sla)
            ],
        )
        self.session.execute(
            sa.insert(ResponseClock),
            [
                timers.clock_values(cid, self.account, at, "first", due)
                for cid, at, due in zip(conversation_ids, opened, dues, strict=True)
            ],
        )

    def join_or_open(self, post: Post) -> None:
        self.write_fresh()  # this post may answer one of them
        conversation, is_new = self._conversation_for(post)
        message = Message(
            **_message_values(
                post,
                account=self.account,
                conversation_id=conversation.id or 0,
                channel=conversation.slack_channel,
            )
        )
        self.session.add(message)
        self.session.flush()
        outbox.enqueue(
            self.session,
            kind=POST_INBOUND,
            ordering_key=slack_key(conversation.id),
            conversation_id=conversation.id,
            message_id=message.id,
            channel=conversation.slack_channel,
            # When a channel is busy, threads already going come before new cards, for a
            # short run only (outbox.POSTS_PER_TURN).
            priority=PRIORITY_NEW_CARD if is_new else PRIORITY_FOLLOW_UP,
        )
        if self.sla is not None:
            timers.schedule(self.session, conversation, self.sla)
        self.new += 1

    def _conversation_for(self, post: Post) -> tuple[Conversation, bool]:
        """The conversation a post joins (it answers one of its posts, shares its network
        thread, or is the root of a thread whose answers came first), or a new one; and
        whether it is new."""
        session, account = self.session, self.account
        conversation: Conversation | None = None
        if post.in_reply_to:
            conversation = queries.conversation_of_post(session, account, post.in_reply_to)
        root = post.thread_root or post.remote_id
        if conversation is None:
            conversation = queries.conversation_by_root(session, account, root)
        if conversation is not None and not targets.may_join(session, conversation, post):
            # A stranger's private post: its own private conversation, one per stranger
            # and thread, never the public one's.
            root = targets.side_root(conversation.remote_root, post.author.remote_id)
            conversation = queries.conversation_by_root(session, account, root)
        if conversation is None:
            conversation = Conversation(
                **_new_conversation_values(
                    post, account=account, network=self.network, channel=self.channel, root=root
                )
            )
            session.add(conversation)
            session.flush()
            return conversation, True
        conversation.last_inbound_at = utcnow()
        conversation.private = conversation.private or post.visibility.is_private
        triage.reopen(conversation, now=utcnow(), by_message=True)
        if conversation.slack_ts is not None:
            queue_card_update(session, conversation)
        session.add(conversation)
        session.flush()
        return conversation, False
