"""Slack -> store: a colleague's thread reply becomes an outbound message and its send job.

The reply's text and its target (the post it answers, fixed where the agent looked) are
stored in one transaction with the job that sends them after the undo window; a reply
that may not go out is stored as refused with the notice that says why.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot import targets
from bot.core.ingest import PRIORITY_FOLLOW_UP
from bot.domain import ReplyTarget
from bot.jobkinds import NOTICE, SEND_REPLY, net_key, slack_key
from bot.ports import SlackPort
from bot.settings import SlackSettings
from bot.slack.mrkdwn import slack_to_plain
from bot.slack.prefixes import is_internal, strip_public_prefix
from bot.store import Conversation, Message, outbox, utcnow
from bot.store.bulk import insert_returning_ids, new_row

Refusal = tuple[str, dict[str, object]]  # a catalog key and its values


def queue_reply(
    session: Session,
    conversation: Conversation,
    *,
    channel: str,
    ts: str,
    user: str,
    plain: str,
    target: ReplyTarget,
    refusal: Refusal | None,
    send_delay_seconds: float,
) -> bool:
    """Store the reply (queued, or refused with its notice); False when Slack's ts is
    stored already (a redelivery: the unique key is the duplicate check)."""
    try:
        with session.begin_nested():
            [message_id] = insert_returning_ids(
                session,
                Message,
                [
                    new_row(
                        Message,
                        {
                            "conversation_id": conversation.id or 0,
                            "account": conversation.account,
                            "direction": "out",
                            "slack_channel": channel,
                            "slack_ts": ts,
                            "slack_user": user,
                            "text": plain,
                            "state": "refused" if refusal else "queued",
                        },
                    )
                ],
            )
    except sa.exc.IntegrityError:
        return False
    if refusal is not None:
        key, values = refusal
        queue_notice(session, conversation, key, **values)
        return True
    outbox.enqueue_many(
        session,
        [
            outbox.job_values(
                kind=SEND_REPLY,
                ordering_key=net_key(conversation.id),
                conversation_id=conversation.id,
                message_id=message_id,
                not_before=utcnow() + timedelta(seconds=send_delay_seconds),
                payload=targets.target_payload(target),
            )
        ],
    )
    return True


def queue_notice(session: Session, conversation: Conversation, key: str, **values: object) -> None:
    """Queue a sentence from the catalog for the conversation's thread."""
    outbox.enqueue(
        session,
        kind=NOTICE,
        ordering_key=slack_key(conversation.id),
        conversation_id=conversation.id,
        payload={"key": key, "values": values},
        channel=conversation.slack_channel,
        priority=PRIORITY_FOLLOW_UP,
    )


def is_internal_note(text: str, slack: SlackSettings) -> bool:
    return is_internal(
        text, internal_prefixes=slack.internal_prefixes, public_prefix=slack.public_prefix
    )


def outgoing_text(text: str, slack: SlackSettings, port: SlackPort) -> str:
    """What goes out for a reply: its words without the public prefix."""
    return slack_to_plain(strip_public_prefix(text, slack.public_prefix), user_name=port.user_name)
