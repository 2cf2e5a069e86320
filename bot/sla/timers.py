"""The response clock at work: when a conversation's answer is due, and the durable timers
that remind before and escalate at the due time (issue 11).

The clock runs from a conversation's opening (first response) or from the customer's first
post after our last answer (next response), in business time, and stops when a public reply
is accepted in the thread (queued or sent: internal notes, refused and cancelled replies do
not count) or when the conversation is closed. Nothing is stored about the clock itself:
it is read from the conversation and its messages whenever it is needed, so a timer that
fires checks whether it still holds (answered, closed, moved) and says nothing if not.

Timers are outbox jobs due at their moment, one per (conversation, phase, due time)
(jobkinds.sla_key), so they survive restarts, fire once across instances, and fire right
after a start when they fell due while the bot was down.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from bot.jobkinds import SLA_TIMER, sla_key
from bot.settings import SlaSettings
from bot.store import Conversation, Job, Message, outbox

# Outbound message states that stop the clock: accepted for the network.
ANSWERED = ("queued", "sent")
REMIND = "remind"
BREACH = "breach"


def clock_start(session: Session, conversation: Conversation) -> tuple[datetime, str] | None:
    """When the running clock started and which target it runs against ("first" or
    "next"); None when it is stopped (answered, or closed)."""
    if conversation.status == "closed":
        return None
    answered_at = session.exec(
        select(func.max(Message.created_at)).where(
            col(Message.conversation_id) == conversation.id,
            col(Message.direction) == "out",
            col(Message.state).in_(ANSWERED),
        )
    ).one()
    if answered_at is None:
        return conversation.opened_at, "first"
    asked_again = session.exec(
        select(func.min(Message.created_at)).where(
            col(Message.conversation_id) == conversation.id,
            col(Message.direction) == "in",
            col(Message.created_at) > answered_at,
        )
    ).one()
    return None if asked_again is None else (asked_again, "next")


def due_at(session: Session, conversation: Conversation, sla: SlaSettings) -> datetime | None:
    """When the answer is due, or None when no clock runs."""
    started = clock_start(session, conversation)
    if started is None:
        return None
    start, which = started
    target = sla.first_response if which == "first" else sla.next_response
    return sla.business_hours.due(start, target)


def timers_for(
    conversation_id: int, channel: str, due: datetime, sla: SlaSettings
) -> list[dict[str, Any]]:
    """The timer jobs of a clock due at `due` (job_values, for outbox.enqueue_many); they
    post to `channel`, so they are paced with the channel's other posts."""
    epoch = int(due.timestamp())
    moments = [(BREACH, due)]
    if sla.warn_before:
        moments.insert(0, (REMIND, due - sla.warn_before))
    return [
        outbox.job_values(
            kind=SLA_TIMER,
            ordering_key=sla_key(conversation_id, phase, epoch),
            conversation_id=conversation_id,
            channel=channel,
            not_before=moment,
            payload={"phase": phase, "due": epoch},
        )
        for phase, moment in moments
    ]


def schedule(session: Session, conversation: Conversation, sla: SlaSettings) -> None:
    """Write the timers of the conversation's running clock, unless they exist already
    (each is keyed by its due time, so a clock that has not moved is not scheduled twice)."""
    due = due_at(session, conversation, sla)
    if due is None or conversation.id is None:
        return
    timers = timers_for(conversation.id, conversation.slack_channel, due, sla)
    keys = [timer["ordering_key"] for timer in timers]
    existing = set(session.exec(select(Job.ordering_key).where(col(Job.ordering_key).in_(keys))))
    outbox.enqueue_many(session, [t for t in timers if t["ordering_key"] not in existing])


def who_to_name(assignee: str | None, escalate_to: str, *, breach: bool) -> str:
    """Slack mentions of who should act: the assignee if claimed, else (and at a breach,
    also) the escalation group or person."""
    names = [f"<@{assignee}>"] if assignee else []
    if escalate_to and (breach or not assignee):
        names.append(f"<!subteam^{escalate_to}>" if escalate_to[0] == "S" else f"<@{escalate_to}>")
    return " ".join(names)
