"""The response clock read from the store (bot/sla/timers.py), on SQLite and PostgreSQL:
when it runs, what stops it, and that its timers are written once per due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from bot.jobkinds import SLA_TIMER
from bot.settings import SlaSettings
from bot.sla import timers
from bot.sla.clock import BusinessHours
from bot.store import Conversation, Job, Message, Store
from tests.factories import new_conversation

OPENED = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SLA = SlaSettings(
    first_response=timedelta(minutes=30),
    next_response=timedelta(hours=2),
    warn_before=timedelta(minutes=10),
    business_hours=BusinessHours.parse("always"),
    escalate_to="S0SUPPORT",
)


def _conversation(store: Store) -> int:
    with store.session() as session:
        conversation = new_conversation(OPENED)
        session.add(conversation)
        session.flush()
        assert conversation.id is not None
        _message(session, conversation.id, "in", OPENED, remote_id="1")
        return conversation.id


def _message(
    session: Session, conversation_id: int, direction: str, at: datetime, **fields: str
) -> None:
    message = Message(
        conversation_id=conversation_id,
        account="acme",
        direction=direction,
        slack_channel="C1",
        text="text",
        created_at=at,
        **fields,  # type: ignore[arg-type]
    )
    session.add(message)


def _due(store: Store, conversation_id: int) -> datetime | None:
    with store.read() as session:
        return timers.due_at(session, session.get_one(Conversation, conversation_id), SLA)


def test_the_first_response_clock_runs_from_the_opening(store: Store) -> None:
    cid = _conversation(store)
    assert _due(store, cid) == OPENED + timedelta(minutes=30)


def test_an_accepted_reply_stops_it_a_refused_or_cancelled_one_does_not(store: Store) -> None:
    cid = _conversation(store)
    with store.session() as session:
        _message(session, cid, "out", OPENED + timedelta(minutes=5), state="refused")
        _message(session, cid, "out", OPENED + timedelta(minutes=6), state="cancelled")
    assert _due(store, cid) == OPENED + timedelta(minutes=30)
    with store.session() as session:
        _message(session, cid, "out", OPENED + timedelta(minutes=7), state="queued")
    assert _due(store, cid) is None


def test_the_customer_writing_after_our_answer_starts_the_next_response_clock(
    store: Store,
) -> None:
    cid = _conversation(store)
    again = OPENED + timedelta(minutes=40)
    with store.session() as session:
        _message(session, cid, "out", OPENED + timedelta(minutes=7), state="sent")
        _message(session, cid, "in", again, remote_id="2")
        _message(session, cid, "in", again + timedelta(minutes=5), remote_id="3")
    assert _due(store, cid) == again + timedelta(hours=2)  # from the first post after it


def test_a_closed_conversation_has_no_clock(store: Store) -> None:
    cid = _conversation(store)
    with store.session() as session:
        session.get_one(Conversation, cid).status = "closed"
    assert _due(store, cid) is None


def test_timers_are_written_once_per_due_time(store: Store) -> None:
    cid = _conversation(store)
    for _ in range(3):
        with store.session() as session:
            timers.schedule(session, session.get_one(Conversation, cid), SLA)
    with store.read() as session:
        jobs = session.exec(select(Job).where(col(Job.kind) == SLA_TIMER).order_by(col(Job.id)))
        moments = [(job.not_before, job.payload_json) for job in jobs]
    due = OPENED + timedelta(minutes=30)
    epoch = int(due.timestamp())
    assert moments == [
        (due - timedelta(minutes=10), f'{{"phase": "remind", "due": {epoch}}}'),
        (due, f'{{"phase": "breach", "due": {epoch}}}'),
    ]


def test_who_is_named_the_assignee_then_the_escalation() -> None:
    assert timers.who_to_name(None, "S0SUPPORT", breach=False) == "<!subteam^S0SUPPORT>"
    assert timers.who_to_name("U1", "S0SUPPORT", breach=False) == "<@U1>"
    assert timers.who_to_name("U1", "U9", breach=True) == "<@U1> <@U9>"
    assert timers.who_to_name(None, "", breach=True) == ""
