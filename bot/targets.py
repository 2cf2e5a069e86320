"""Who a reply answers and who may join a conversation (issue 9, item 2).

The target of a thread reply is the customer post the agent saw last in the Slack thread
when they wrote: the latest inbound post whose Slack copy is older than the reply. It is
fixed when the reply is accepted and stored with its job, so a stranger who posts into the
conversation during the undo window does not become the recipient.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from sqlmodel import Session, col, select

from bot.domain import Post, ReplyTarget, Visibility
from bot.store import Conversation, Message, queries


def reply_target(session: Session, conversation: Conversation, *, reply_ts: str) -> ReplyTarget:
    """What a reply written at `reply_ts` answers. A private conversation is answered
    privately whatever the chosen post's visibility."""
    message = _latest_shown_before(session, conversation, reply_ts)
    if message is None:  # nothing recorded in Slack yet (the card is on its way)
        message = queries.latest_inbound_message(session, conversation)
    visibility = Visibility(message.visibility)
    if conversation.private:
        visibility = Visibility.DIRECT
    return ReplyTarget(
        remote_id=message.remote_id or "",
        author_handle=message.author_handle,
        visibility=visibility,
        thread_root=conversation.remote_root,
        extra=json.loads(message.extra_json),
    )


def _latest_shown_before(
    session: Session, conversation: Conversation, reply_ts: str
) -> Message | None:
    # Slack's ts is "<10-digit seconds>.<6-digit sequence>", so within one channel string
    # order is time order (https://api.slack.com/messaging/retrieving#individual_messages).
    return session.exec(
        select(Message)
        .where(
            col(Message.conversation_id) == conversation.id,
            col(Message.direction) == "in",
            col(Message.slack_ts).is_not(None),
            col(Message.slack_ts) < reply_ts,
        )
        .order_by(col(Message.slack_ts).desc())
        .limit(1)
    ).first()


def target_payload(target: ReplyTarget) -> dict[str, object]:
    """The target as stored in the SEND_REPLY job's payload (no schema change needed)."""
    return {
        "target": {
            "remote_id": target.remote_id,
            "author_handle": target.author_handle,
            "visibility": target.visibility.value,
            "thread_root": target.thread_root,
            "extra": dict(target.extra),
        }
    }


def target_from_payload(payload: Mapping[str, object]) -> ReplyTarget | None:
    """The target fixed at accept, or None for a job queued before targets were stored."""
    stored = payload.get("target")
    if not isinstance(stored, Mapping):
        return None
    thread_root = stored.get("thread_root")
    extra = stored.get("extra")
    return ReplyTarget(
        remote_id=str(stored.get("remote_id", "")),
        author_handle=str(stored.get("author_handle", "")),
        visibility=Visibility(str(stored.get("visibility", Visibility.DIRECT.value))),
        thread_root=None if thread_root is None else str(thread_root),
        extra={str(k): str(v) for k, v in extra.items()} if isinstance(extra, Mapping) else {},
    )


def may_join(session: Session, conversation: Conversation, post: Post) -> bool:
    """A public post joins the conversation it answers; a private (direct) one only if its
    author is the conversation's author, so a stranger can neither turn a public
    conversation private nor receive its answers."""
    if not post.visibility.is_private:
        return True
    return _author_id(session, conversation) == post.author.remote_id


def _author_id(session: Session, conversation: Conversation) -> str:
    first = session.exec(
        select(Message.author_remote_id)
        .where(col(Message.conversation_id) == conversation.id, col(Message.direction) == "in")
        .order_by(col(Message.id))
        .limit(1)
    ).first()
    return first or ""


def side_root(root: str, author_remote_id: str) -> str:
    """The thread key of a stranger's private conversation beside the public one at
    `root`: hashed, since both ids can be long and the column holds 300 characters."""
    digest = hashlib.sha256(f"{author_remote_id}\n{root}".encode()).hexdigest()[:40]
    return f"direct:{digest}"
