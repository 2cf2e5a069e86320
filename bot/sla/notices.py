"""The response clock's side in Slack: the due time a card shows, and the timer jobs that
post the reminder and the breach (bot/sla/timers.py decides whether a clock runs)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session

from bot.catalog import say
from bot.core.ingest import queue_card_update
from bot.domain import DeliveryError
from bot.ports import SlackPort
from bot.settings import SlaSettings
from bot.sla import timers
from bot.slack.render import render_notice, when
from bot.store import Conversation, Job, Store


class ResponseClock:
    """Reads conversations' clocks for their cards and fires their timers (SLA_TIMER jobs)."""

    def __init__(self, store: Store, slack: SlackPort, sla: Mapping[str, SlaSettings]) -> None:
        self.store = store
        self.slack = slack
        self.sla = sla  # the targets by account; accounts without one are not timed

    def due(self, session: Session, conversation: Conversation) -> datetime | None:
        sla = self.sla.get(conversation.account)
        return None if sla is None else timers.due_at(session, conversation, sla)

    def card_due(self, conversation: Conversation) -> datetime | None:
        """The due time a new card shows: a read only for accounts with a clock."""
        if conversation.account not in self.sla:
            return None
        with self.store.read() as session:
            return self.due(session, conversation)

    def fire(self, job: Job) -> None:
        """A reminder before the due time or the breach at it, if the clock it was set for
        still runs (not answered, not closed, not moved); the breach also shows in the
        channel. Posted with a metadata key, so a retry after an unknown outcome finds it."""
        payload = json.loads(job.payload_json)
        with self.store.read() as session:
            conversation = session.get_one(Conversation, job.conversation_id)
            sla = self.sla.get(conversation.account)
            due = self.due(session, conversation)
        if sla is None or due is None or int(due.timestamp()) != payload["due"]:
            return
        if conversation.slack_ts is None:
            raise DeliveryError("the conversation's card is not in Slack yet")
        breach = payload["phase"] == timers.BREACH
        key = f"{job.ordering_key}:{job.id}"
        if job.attempts > 1 and self.slack.find_posted(
            channel=conversation.slack_channel,
            thread_ts=conversation.slack_ts,
            metadata_key=key,
            oldest=0,
        ):
            return
        who = timers.who_to_name(conversation.assignee, sla.escalate_to, breach=breach)
        text = say(
            "sla.breach" if breach else "sla.reminder",
            who=f"{who} " if who else "",
            due=when(due),
        )
        self.slack.post(
            channel=conversation.slack_channel,
            text=text,
            blocks=render_notice(text)[1],
            thread_ts=conversation.slack_ts,
            metadata_key=key,
            broadcast=breach,
        )
        if breach:  # the card says "overdue" from now on, not just "due … ago"
            with self.store.session() as session:
                queue_card_update(session, conversation)
