"""Stats on a small data set whose every figure is worked out by hand below."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import select
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.stats import AccountStats, PersonStats, compute_stats
from bot.store import Conversation, Message, Store
from bot.store.db import alembic_config
from bot.store.waiting import open_conversations

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
M, D, B = "acme-mastodon", "acme-mastodon-de", "acme-bluesky"
NETWORK = {M: "mastodon", D: "mastodon", B: "bluesky"}
UA, UB, UC = "UALICE", "UBOB", "UCAROL"


@dataclass(frozen=True)
class Seed:
    key: str
    account: str
    hours_ago: int  # opened_at = NOW - hours_ago
    first_response: int | None  # seconds after opening; the reply is written then
    status: str
    assignee: str | None = None
    close: int | None = None  # seconds after opening
    closed_by: str | None = None
    replier: str | None = None


# 7 days = 168 h, 30 days = 720 h.
SEEDS = [
    # opened in the last 7 days
    Seed("m1", M, 150, 60, "closed", UA, close=600, closed_by=UA, replier=UA),
    Seed("m2", M, 140, 120, "closed", None, close=3600, closed_by=UB, replier=UB),
    Seed("m3", M, 130, 300, "closed", None, close=86400, closed_by=UA, replier=UA),
    Seed("m4", M, 120, 600, "claimed", UA, replier=UA),
    Seed("m5", M, 100, 1800, "open", replier=UB),
    Seed("m6", M, 2, None, "open"),
    Seed("d1", D, 90, 240, "claimed", UB, replier=UB),
    Seed("d2", D, 80, 7200, "open", replier=UC),
    Seed("b1", B, 70, 30, "closed", None, close=1200, closed_by=UC, replier=UC),
    Seed("b2", B, 60, 900, "claimed", UC, replier=UC),
    Seed("b3", B, 50, 3600, "open", replier=UA),
    Seed("b4", B, 5, None, "claimed", UB),
    # opened 20 days ago; m7 was closed 48 h ago (in the 7-day window), after 432 h
    Seed("m7", M, 480, 10000, "closed", None, close=432 * 3600, closed_by=UA, replier=UA),
    Seed("b5", B, 470, 50, "claimed", UA, replier=UB),
    # opened 100 days ago, never answered
    Seed("d3", D, 2400, None, "open"),
]
CLAIM_AFTER = 30  # seconds after opening, for every conversation with an assignee
# (m1 is closed but keeps its claim: claimed_at stays set.)


def seed(store: Store) -> None:
    with store.session() as session:
        for number, s in enumerate(SEEDS, start=1):
            opened = NOW - timedelta(hours=s.hours_ago)
            conversation = Conversation(
                account=s.account,
                network=NETWORK[s.account],
                remote_root=f"{s.key}-root",
                slack_channel="C1",
                slack_ts=f"{number}.000100",
                status=s.status,
                author_handle=f"{s.key}@example.social",
                author_name=f"Author {s.key}",
                assignee=s.assignee,
                opened_at=opened,
                last_inbound_at=opened,
                claimed_at=opened + timedelta(seconds=CLAIM_AFTER) if s.assignee else None,
                first_response_at=(
                    opened + timedelta(seconds=s.first_response) if s.first_response else None
                ),
                first_response_seconds=s.first_response,
                closed_at=opened + timedelta(seconds=s.close) if s.close else None,
                closed_by=s.closed_by,
                close_seconds=s.close,
            )
            session.add(conversation)
            session.flush()
            cid = conversation.id or 0
            session.add(_inbound(cid, s.account, f"{s.key}-root", opened))
            if s.first_response is not None and s.replier is not None:
                sent_at = opened + timedelta(seconds=s.first_response)
                session.add(_outbound(cid, s.account, f"{number}.000200", s.replier, sent_at))
        session.flush()
        ids = {s.key: i for i, s in enumerate(SEEDS, start=1)}
        # A follow-up from the customer 10 h ago (7 days) and one 200 h ago (30 days only).
        session.add(_inbound(ids["b3"], B, "b3-followup", NOW - timedelta(hours=10)))
        session.add(_inbound(ids["m7"], M, "m7-followup", NOW - timedelta(hours=200)))
        # Replies that did not reach the network do not count.
        session.add(_outbound(ids["m6"], M, "99.1", UC, NOW - timedelta(hours=1), state="failed"))
        session.add(_outbound(ids["m6"], M, "99.2", UA, NOW - timedelta(minutes=1), state="queued"))


def _inbound(conversation_id: int, account: str, remote_id: str, at: datetime) -> Message:
    return Message(
        conversation_id=conversation_id,
        account=account,
        direction="in",
        remote_id=remote_id,
        slack_channel="C1",
        text="hello",
        created_at=at,
        state="posted",
    )


def _outbound(
    conversation_id: int, account: str, ts: str, user: str, at: datetime, *, state: str = "sent"
) -> Message:
    return Message(
        conversation_id=conversation_id,
        account=account,
        direction="out",
        slack_channel="C1",
        slack_ts=ts,
        slack_user=user,
        text="thanks",
        created_at=at,
        state=state,
    )


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store)
    return store


def days(n: int) -> datetime:
    return NOW - timedelta(days=n)


def test_seven_days_counts_what_was_opened_received_and_sent(seeded: Store) -> None:
    stats = compute_stats(seeded, since=days(7), until=NOW, account=None, network=None)
    # m1-m6, d1, d2, b1-b4 opened in 7 days; m6 and b4 are unanswered.
    assert (stats.opened, stats.answered) == (12, 10)
    assert stats.answered_share == pytest.approx(10 / 12)
    # One first post per conversation opened (12) + b3's follow-up 10 h ago = 13.
    assert stats.inbound == 13
    # One sent reply per answered conversation; m6's failed and queued replies do not count.
    assert stats.replies == 10


def test_seven_days_median_and_90th_percentile_are_nearest_rank(seeded: Store) -> None:
    stats = compute_stats(seeded, since=days(7), until=NOW, account=None, network=None)
    # First responses, sorted: 30 60 120 240 300 600 900 1800 3600 7200 (n = 10)
    # median: rank ceil(0.5 * 10) = 5 -> 300; p90: rank ceil(0.9 * 10) = 9 -> 3600
    assert (stats.first_response_median, stats.first_response_p90) == (300, 3600)
    # Closes of conversations opened in 7 days: 600 1200 3600 86400 (n = 4; m7 was opened
    # earlier), median rank ceil(0.5 * 4) = 2 -> 1200
    assert (stats.closed, stats.close_median) == (4, 1200)


def test_thirty_days_and_all_time_take_in_older_conversations(seeded: Store) -> None:
    month = compute_stats(seeded, since=days(30), until=NOW, account=None, network=None)
    # + m7 (10000) and b5 (50): 30 50 60 120 240 300 600 900 1800 3600 7200 10000 (n = 12)
    # median: rank ceil(6) = 6 -> 300; p90: rank ceil(10.8) = 11 -> 7200
    assert (month.opened, month.answered) == (14, 12)
    assert (month.first_response_median, month.first_response_p90) == (300, 7200)
    # Closes: 600 1200 3600 86400 1555200 (n = 5), median rank 3 -> 3600
    assert (month.closed, month.close_median) == (5, 3600)
    # 13 + m7 and b5 first posts + m7's follow-up 200 h ago = 16
    assert (month.inbound, month.replies) == (16, 12)
    everything = compute_stats(seeded, since=None, until=NOW, account=None, network=None)
    # + d3, opened 100 days ago and never answered: the durations do not change.
    assert (everything.opened, everything.answered, everything.inbound) == (15, 12, 17)
    assert (everything.first_response_median, everything.first_response_p90) == (300, 7200)


def test_a_window_with_no_answered_conversation_has_no_durations(seeded: Store) -> None:
    stats = compute_stats(seeded, since=days(1), until=NOW, account=None, network=None)
    # m6 (2 h) and b4 (5 h): both unanswered.
    assert (stats.opened, stats.answered, stats.answered_share) == (2, 0, 0.0)
    assert (stats.first_response_median, stats.first_response_p90, stats.close_median) == (
        None,
        None,
        None,
    )


def test_until_ends_the_window(seeded: Store) -> None:
    stats = compute_stats(
        seeded, since=days(7), until=NOW - timedelta(hours=24), account=None, network=None
    )
    assert stats.opened == 10  # m6 and b4 are later


def test_account_filter_keeps_one_account(seeded: Store) -> None:
    stats = compute_stats(seeded, since=days(7), until=NOW, account=B, network=None)
    # b1-b4: first responses 30 900 3600 (n = 3): median rank 2 -> 900, p90 rank 3 -> 3600
    assert (stats.opened, stats.answered, stats.inbound, stats.replies) == (4, 3, 5, 3)
    assert (stats.first_response_median, stats.first_response_p90) == (900, 3600)
    assert [a.account for a in stats.per_account] == [B]


def test_network_filter_keeps_every_account_of_the_network(seeded: Store) -> None:
    stats = compute_stats(seeded, since=days(7), until=NOW, account=None, network="mastodon")
    # m1-m6, d1, d2: 60 120 240 300 600 1800 7200 (n = 7)
    # median: rank ceil(3.5) = 4 -> 300; p90: rank ceil(6.3) = 7 -> 7200
    assert (stats.opened, stats.answered) == (8, 7)
    assert (stats.first_response_median, stats.first_response_p90) == (300, 7200)
    assert stats.per_account == (
        AccountStats(account=M, opened=6, replies=5),
        AccountStats(account=D, opened=2, replies=2),
    )
    # Open now: m4, m5, m6, d1, d2, d3; unclaimed: m5, m6, d2, d3
    assert (stats.open_now, stats.unclaimed_now) == (6, 4)


def test_now_figures_ignore_the_window(seeded: Store) -> None:
    for since in (days(1), days(7), None):
        stats = compute_stats(seeded, since=since, until=NOW, account=None, network=None)
        # Not closed: m4 m5 m6 d1 d2 b2 b3 b4 b5 d3; open and nobody assigned: m5 m6 d2 b3 d3
        assert (stats.open_now, stats.unclaimed_now) == (10, 5)
        # Not closed and never answered: m6, b4, d3; d3 is the oldest.
        assert stats.oldest_unanswered == NOW - timedelta(hours=2400)
    bluesky = compute_stats(seeded, since=days(7), until=NOW, account=B, network=None)
    assert bluesky.oldest_unanswered == NOW - timedelta(hours=5)


def test_per_account_counts_opened_and_replies(seeded: Store) -> None:
    stats = compute_stats(seeded, since=days(7), until=NOW, account=None, network=None)
    assert stats.per_account == (
        AccountStats(account=B, opened=4, replies=3),
        AccountStats(account=M, opened=6, replies=5),
        AccountStats(account=D, opened=2, replies=2),
    )


def test_per_person_counts_replies_claims_and_closes_in_the_window(seeded: Store) -> None:
    stats = compute_stats(seeded, since=days(7), until=NOW, account=None, network=None)
    # replies: Alice m1 m3 m4 b3, Bob m2 m5 d1, Carol d2 b1 b2
    # claims:  Alice m1 m4, Bob d1 b4, Carol b2          (b5's claim is 470 h old)
    # closes:  Alice m1 m3 m7 (m7 closed 48 h ago), Bob m2, Carol b1
    assert stats.per_person == (
        PersonStats(user=UA, replies=4, claims=2, closes=3),
        PersonStats(user=UB, replies=3, claims=2, closes=1),
        PersonStats(user=UC, replies=3, claims=1, closes=1),
    )
    month = compute_stats(seeded, since=days(30), until=NOW, account=None, network=None)
    # + m7 reply (Alice), b5 reply (Bob), b5 claim (Alice)
    assert month.per_person == (
        PersonStats(user=UA, replies=5, claims=3, closes=3),
        PersonStats(user=UB, replies=4, claims=2, closes=1),
        PersonStats(user=UC, replies=3, claims=1, closes=1),
    )


def test_unknown_account_or_network_gives_zeros(seeded: Store) -> None:
    nothing = compute_stats(seeded, since=days(7), until=NOW, account="nope", network=None)
    assert (nothing.opened, nothing.replies, nothing.open_now) == (0, 0, 0)
    assert nothing.answered_share is None
    assert nothing.per_person == ()
    no_network = compute_stats(seeded, since=days(7), until=NOW, account=None, network="x")
    assert no_network.opened == 0


def test_empty_database_gives_zeros(store: Store) -> None:
    stats = compute_stats(store, since=None, until=NOW, account=None, network=None)
    assert (stats.opened, stats.inbound, stats.first_response_median) == (0, 0, None)


def test_open_conversations_lists_oldest_first_with_the_total(seeded: Store) -> None:
    rows, total = open_conversations(seeded, assignee=None, limit=3)
    # Not closed, by age: d3 (2400 h), b5 (470 h), m4 (120 h), m5, d1, d2, b2, b3, b4, m6
    assert total == 10
    assert [r.author_handle.split("@")[0] for r in rows] == ["d3", "b5", "m4"]
    assert rows[1].assignee == UA and rows[1].answered
    assert not rows[0].answered and rows[0].thread_ts == "15.000100"


def test_open_conversations_of_one_person(seeded: Store) -> None:
    rows, total = open_conversations(seeded, assignee=UB, limit=20)
    assert total == 2
    assert [r.author_handle.split("@")[0] for r in rows] == ["d1", "b4"]


def test_upgrade_fills_the_durations_of_existing_conversations(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.begin() as connection:
            config = alembic_config(store.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        opened = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        with store.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO conversation (account, network, remote_root, slack_channel,"
                    " status, private, author_handle, author_name, opened_at, last_inbound_at,"
                    " first_response_at, closed_at, reopened) VALUES (:a, 'mastodon', 'r',"
                    " 'C1', 'closed', false, '', '', :o, :o, :f, :c, false)"
                ).bindparams(*(sa.bindparam(name, type_=UTCDateTime()) for name in "ofc")),
                {
                    "a": M,
                    "o": opened,
                    "f": opened + timedelta(seconds=754),
                    "c": opened + timedelta(hours=2),
                },
            )
        store.upgrade()
        with store.session() as session:
            conversation = session.exec(select(Conversation)).one()
        assert (conversation.first_response_seconds, conversation.close_seconds) == (754, 7200)
    finally:
        store.dispose()
