"""The response clock read from the store (bot/sla/timers.py), on SQLite and PostgreSQL:
when it runs, what stops it, and that its timers are written once per due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from bot import triage
from bot.jobkinds import SLA_TIMER
from bot.settings import SlaSettings
from bot.sla import timers
from bot.sla.attainment import Attainment, PersonAttainment, attainment
from bot.sla.clock import BusinessHours
from bot.store import Conversation, Job, Message, ResponseClock, Store
from bot.triage import Change
from tests.factories import new_conversation

OPENED = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SLA = SlaSettings(
    first_response=timedelta(minutes=30),
    next_response=timedelta(hours=2),
    warn_before=timedelta(minutes=10),
    business_hours=BusinessHours.parse("always"),
    escalate_to="S0SUPPORT",
)


def _conversation(store: Store, root: str = "1") -> int:
    with store.session() as session:
        conversation = new_conversation(OPENED)
        conversation.remote_root = root
        session.add(conversation)
        session.flush()
        assert conversation.id is not None
        _message(session, conversation.id, "in", OPENED, remote_id=root)
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


def test_a_reopening_restarts_the_clock_with_the_next_response_target(store: Store) -> None:
    cid = _conversation(store)
    reopened = OPENED + timedelta(hours=3)
    with store.session() as session:
        _message(session, cid, "out", OPENED + timedelta(minutes=7), state="sent")
        conversation = session.get_one(Conversation, cid)
        triage.apply(Change.CLOSE, conversation, user="U1", now=OPENED + timedelta(hours=1))
    assert _due(store, cid) is None
    with store.session() as session:
        assert triage.apply(
            Change.REOPEN, session.get_one(Conversation, cid), user="U1", now=reopened
        )
    assert _due(store, cid) == reopened + timedelta(hours=2)


def _clocks(store: Store, cid: int) -> list[tuple[str, datetime, datetime | None, str | None]]:
    with store.read() as session:
        rows = session.exec(
            select(ResponseClock)
            .where(col(ResponseClock.conversation_id) == cid)
            .order_by(col(ResponseClock.started_at))
        )
        return [(r.phase, r.due_at, r.stopped_at, r.answered_by) for r in rows]


def _schedule_and_record(store: Store, cid: int) -> None:
    with store.session() as session:
        conversation = session.get_one(Conversation, cid)
        timers.schedule(session, conversation, SLA)
        timers.record_stop(session, conversation)


def test_each_run_of_the_clock_is_recorded_with_what_stopped_it(store: Store) -> None:
    cid = _conversation(store)
    _schedule_and_record(store, cid)
    first_due = OPENED + timedelta(minutes=30)
    assert _clocks(store, cid) == [("first", first_due, None, None)]
    answered = OPENED + timedelta(minutes=7)
    with store.session() as session:
        _message(session, cid, "out", answered, state="queued", slack_user="U7")
    _schedule_and_record(store, cid)
    assert _clocks(store, cid) == [("first", first_due, answered, "U7")]
    # Withdrawn inside the undo window: the clock had not stopped after all.
    with store.session() as session:
        message = session.exec(select(Message).where(col(Message.direction) == "out")).one()
        message.state = "cancelled"
    _schedule_and_record(store, cid)
    assert _clocks(store, cid) == [("first", first_due, None, None)]
    closed = OPENED + timedelta(minutes=20)
    with store.session() as session:
        triage.apply(Change.CLOSE, session.get_one(Conversation, cid), user="U1", now=closed)
    _schedule_and_record(store, cid)
    assert _clocks(store, cid) == [("first", first_due, closed, None)]
    reopened = OPENED + timedelta(hours=1)
    with store.session() as session:
        triage.apply(Change.REOPEN, session.get_one(Conversation, cid), user="U1", now=reopened)
    for _ in range(2):  # a second schedule of the same run records nothing new
        _schedule_and_record(store, cid)
    assert _clocks(store, cid) == [
        ("first", first_due, closed, None),
        ("next", reopened + timedelta(hours=2), None, None),
    ]


def _run(
    session: Session, cid: int, phase: str, start: datetime, due_in: timedelta, **stop: object
) -> None:
    session.add(
        ResponseClock(
            conversation_id=cid,
            account="acme",
            phase=phase,
            started_at=start,
            due_at=start + due_in,
            **stop,  # type: ignore[arg-type]
        )
    )


def test_attainment_counts_each_decided_run_once_by_hand(store: Store) -> None:
    now = OPENED + timedelta(days=1)
    half = timedelta(minutes=30)
    ids = [_conversation(store, root=str(n)) for n in range(7)]
    with store.session() as session:
        at = OPENED
        # first response: U1 in time twice, U2 late once, one waiting past its due time,
        # one closed unanswered before its due time (neither), one not due yet (neither)
        _run(session, ids[0], "first", at, half, stopped_at=at + half, answered_by="U1")
        _run(session, ids[1], "first", at, half, stopped_at=at, answered_by="U1")
        _run(session, ids[2], "first", at, half, stopped_at=at + 2 * half, answered_by="U2")
        _run(session, ids[3], "first", at, half)
        _run(session, ids[4], "first", at, half, stopped_at=at + timedelta(minutes=1))
        _run(session, ids[5], "first", now - timedelta(minutes=5), half)
        # next response: U2 in time; one closed after its due time unanswered (breached)
        later = at + timedelta(hours=2)
        _run(session, ids[0], "next", later, half, stopped_at=later + half / 2, answered_by="U2")
        _run(session, ids[6], "next", later, half, stopped_at=later + 3 * half)
        # started before the window: not counted
        _run(session, ids[6], "first", at - timedelta(days=10), half)
    with store.read() as session:
        figures = attainment(session, ["acme"], OPENED, now)
        assert attainment(session, ["other"], OPENED, now) is None
    assert figures is not None
    assert (figures.first_within, figures.first_breached) == (2, 2)
    assert (figures.next_within, figures.next_breached) == (1, 1)
    assert figures.breaches == 3
    assert figures.per_person == (
        PersonAttainment(user="U1", within=2, late=0),
        PersonAttainment(user="U2", within=1, late=1),
    )
    assert Attainment.share(2, 2) == 0.5 and Attainment.share(0, 0) is None
