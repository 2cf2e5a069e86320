"""The outbox job that makes Slack say a post was erased (queued by `socialbridge forget`).

A durable job, not a call from the command line: the erasure and its Slack rewrites are
written in one transaction, so neither a crash nor a Slack outage between them loses a
rewrite; the running bot retries them with backoff (the kind is persistent, see
bot/delivery.py) and is the one process that paces its calls to Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.domain import DeliveryError
from bot.ports import SlackPort
from bot.slack.render import PostView, render_followup
from bot.store import Conversation, Job, Message, Store

logger = logging.getLogger(__name__)

# Slack's answers meaning the message is no longer there to rewrite: nothing left to do.
# https://api.slack.com/methods/chat.update#errors
GONE = frozenset({"message_not_found", "channel_not_found", "is_archived"})


class ErasedMessageRewriter:
    """chat.update of one erased message: the card through the card's own renderer (which
    shows an erased post as erased), a follow-up as an erased follow-up."""

    def __init__(
        self, store: Store, slack: SlackPort, *, update_card: Callable[[Job], object]
    ) -> None:
        self.store = store
        self.slack = slack
        self.update_card = update_card

    def __call__(self, job: Job) -> None:
        with self.store.read() as session:
            message = session.get_one(Message, job.message_id)
            conversation = session.get_one(Conversation, message.conversation_id)
        if message.slack_ts is None:
            if message.state == "failed":
                return  # it never reached Slack
            raise DeliveryError("the erased post is still on its way to Slack")
        try:
            if message.slack_ts == conversation.slack_ts:
                self.update_card(job)
            else:
                self._rewrite_followup(conversation, message)
        except DeliveryError as exc:
            if exc.reason not in GONE:
                raise
            logger.info(
                "erased message %s: its Slack message %s is gone (%s); nothing to rewrite",
                message.id,
                message.slack_ts,
                exc.reason,
            )

    def _rewrite_followup(self, conversation: Conversation, message: Message) -> None:
        assert message.slack_ts is not None
        text, blocks = render_followup(
            PostView(
                network=conversation.network,
                author_name="",
                author_handle="",
                author_url="",
                text="",
                url="",
                created_at=message.created_at,
                private=conversation.private,
                erased=True,
            )
        )
        self.slack.update(
            channel=message.slack_channel, ts=message.slack_ts, text=text, blocks=blocks
        )
