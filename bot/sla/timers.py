"""The response clock at work: when a conversation's answer is due, and the durable timers
that remind before and escalate at the due time (issue 11).

The clock runs from a conversation's opening (first response), from the customer's first
post after our last answer, or from a reopening (next response), in business time, and
stops when a public reply is accepted in the thread (queued or sent: internal notes,
refused and cancelled replies do not count) or when the conversation is closed. Whether a
clock runs is read from the conversation and its messages whenever it is needed, so a
timer that fires checks whether it still holds (answered, closed, moved) and says nothing
if not. Each run is also recorded as a ResponseClock row, kept in step by `record_stop`,
only for the figures of `/social stats` and the due order of `/social open`.

Timers are outbox jobs due at their moment, one per (conversation, phase, due time)
(jobkinds.sla_key), so they survive restarts, fire once across instances, and fire right
after a start when they fell due while the bot was down.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from bot.jobkinds import SLA_TIMER, sla_key
from bot.settings import SlaSettings
from bot.store import Conversation, Job, Message, ResponseClock, outbox

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
    reopened_at = conversation.reopened_at
    if reopened_at is not None and (answered_at is None or reopened_at > answered_at):
        # Someone (or the customer, writing again) reopened it: it needs an answer again.
        return reopened_at, "next"
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
    return sla.business_hours.due(start, target(sla, which))


def clock_values(
    conversation_id: int, account: str, start: datetime, which: str, due: datetime
) -> dict[str, Any]:
    """The ResponseClock row of a clock started at `start`, for a bulk insert."""
    return {
        "conversation_id": conversation_id,
        "account": account,
        "phase": which,
        "started_at": start,
        "due_at": due,
        "stopped_at": None,
        "answered_by": None,
    }


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
    started = clock_start(session, conversation)
    if started is None or conversation.id is None:
        return
    start, which = started
    due = sla.business_hours.due(start, target(sla, which))
    timers = timers_for(conversation.id, conversation.slack_channel, due, sla)
    keys = [timer["ordering_key"] for timer in timers]
    existing = set(session.exec(select(Job.ordering_key).where(col(Job.ordering_key).in_(keys))))
    outbox.enqueue_many(session, [t for t in timers if t["ordering_key"] not in existing])
    recorded = session.exec(
        select(ResponseClock).where(
            col(ResponseClock.conversation_id) == conversation.id,
            col(ResponseClock.started_at) == start,
        )
    ).first()
    if recorded is None:
        session.add(
            ResponseClock(**clock_values(conversation.id, conversation.account, start, which, due))
        )
    elif recorded.due_at != due:  # the targets or the hours changed since: the clock moved
        recorded.due_at = due
        session.add(recorded)


def record_stop(session: Session, conversation: Conversation) -> None:
    """Bring the conversation's latest ResponseClock row in step with its messages: stopped
    by the first public answer accepted since the clock started (and by whom), else by the
    close, else running (a reply cancelled in the undo window stopped nothing)."""
    clock = session.exec(
        select(ResponseClock)
        .where(col(ResponseClock.conversation_id) == conversation.id)
        .order_by(col(ResponseClock.started_at).desc())
        .limit(1)
    ).first()
    if clock is None:
        return
    answer = session.exec(
        select(Message.created_at, Message.slack_user)
        .where(
            col(Message.conversation_id) == conversation.id,
            col(Message.direction) == "out",
            col(Message.state).in_(ANSWERED),
            col(Message.created_at) >= clock.started_at,
        )
        .order_by(col(Message.created_at))
        .limit(1)
    ).first()
    stopped: datetime | None
    by: str | None
    if answer is not None:
        stopped, by = answer
    elif conversation.status == "closed":
        stopped, by = conversation.closed_at, None
    else:
        stopped, by = None, None
    if (clock.stopped_at, clock.answered_by) != (stopped, by):
        clock.stopped_at, clock.answered_by = stopped, by
        session.add(clock)


def target(sla: SlaSettings, which: str) -> timedelta:
    return sla.first_response if which == "first" else sla.next_response


def who_to_name(assignee: str | None, escalate_to: str, *, breach: bool) -> str:
    """Slack mentions of who should act: the assignee if claimed, else (and at a breach,
    also) the escalation group or person."""
    names = [f"<@{assignee}>"] if assignee else []
    if escalate_to and (breach or not assignee):
        names.append(f"<!subteam^{escalate_to}>" if escalate_to[0] == "S" else f"<@{escalate_to}>")
    return " ".join(names)
