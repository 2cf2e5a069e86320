"""`/social`: parsing, the answers built from the store, and the Bolt listener over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from sqlmodel import select

from bot.catalog import say
from bot.commands import (
    LIST_LIMIT,
    CommandAnswer,
    HelpRequest,
    OpenRequest,
    SocialCommand,
    SourcesRequest,
    StatsRequest,
    parse,
    since_for,
)
from bot.config import AccountSettings
from bot.handlers import commands as command_handler
from bot.sandbox.slack_api import FakeSlack
from bot.settings import SlaSettings
from bot.sla import timers
from bot.sla.clock import BusinessHours
from bot.store import AccountState, Conversation, Message, Store, outbox
from bot.web import HttpServer, make_wsgi_app

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ACCOUNTS = (
    AccountSettings(
        name="acme-mastodon",
        network="mastodon",
        server="https://mastodon.example",
        channel="C1",
        poll_seconds=20,
    ),
    AccountSettings(
        name="acme-bluesky",
        network="bluesky",
        server="https://bsky.example",
        channel="C1",
        poll_seconds=20,
    ),
)
HOSTILE = "<!channel> <@U0BOSS> <https://evil.example|your bank> & co"


def blocks_text(answer: CommandAnswer) -> str:
    return json.dumps(answer.blocks, ensure_ascii=False)


def command(store: Store, **options: Any) -> SocialCommand:
    return SocialCommand(store, accounts=ACCOUNTS, clock=lambda: NOW, **options)


def add_conversation(
    store: Store,
    number: int,
    *,
    hours_ago: float,
    author_name: str = "Ann",
    assignee: str | None = None,
    slack_ts: str | None = "auto",
    status: str | None = None,
    channel: str = "C1",
) -> int:
    opened = NOW - timedelta(hours=hours_ago)
    with store.session() as session:
        conversation = Conversation(
            account="acme-mastodon",
            network="mastodon",
            remote_root=f"root-{number}",
            slack_channel=channel,
            slack_ts=f"{1700000000 + number}.000100" if slack_ts == "auto" else slack_ts,
            status=status or ("claimed" if assignee else "open"),
            author_handle=f"user{number}@mastodon.example",
            author_name=author_name,
            assignee=assignee,
            opened_at=opened,
            last_inbound_at=opened,
        )
        session.add(conversation)
        session.flush()
        session.add(
            Message(
                conversation_id=conversation.id or 0,
                account="acme-mastodon",
                direction="in",
                remote_id=f"root-{number}",
                slack_channel="C1",
                text="hi",
                created_at=opened,
            )
        )
        return conversation.id or 0


# ---- parsing -----------------------------------------------------------------------------


def test_stats_defaults_to_seven_days_everywhere_and_private() -> None:
    assert parse("stats") == StatsRequest(period="7d", scope=None, public=False)


@pytest.mark.parametrize("period", ["today", "24h", "7d", "30d", "all"])
def test_stats_takes_each_period(period: str) -> None:
    assert parse(f"stats {period}") == StatsRequest(period=period)


def test_stats_takes_period_scope_and_public_in_any_order() -> None:
    expected = StatsRequest(period="30d", scope="acme-mastodon", public=True)
    assert parse("stats 30d acme-mastodon public") == expected
    assert parse("  STATS public acme-mastodon 30D ") == expected


def test_open_mine_sources_and_help_are_recognized() -> None:
    assert parse("open") == OpenRequest(mine=False)
    assert parse("Mine") == OpenRequest(mine=True)
    assert parse("sources") == SourcesRequest()
    assert parse("help") == HelpRequest()
    assert parse("") == HelpRequest()


def test_unknown_input_becomes_help_that_names_it_escaped() -> None:
    request = parse("dance <!channel>")
    assert isinstance(request, HelpRequest) and request.problem is not None
    assert "dance &lt;!channel&gt;" in request.problem
    assert "<!channel>" not in request.problem


def test_two_periods_or_two_scopes_are_refused_with_a_reason() -> None:
    two_periods = parse("stats 7d 30d")
    assert isinstance(two_periods, HelpRequest) and "`7d` and `30d`" in (two_periods.problem or "")
    two_scopes = parse("stats mastodon bluesky")
    assert isinstance(two_scopes, HelpRequest)
    assert "`mastodon` and `bluesky`" in (two_scopes.problem or "")


def test_options_after_a_plain_subcommand_are_refused() -> None:
    request = parse("open 7d", command="/social")
    assert isinstance(request, HelpRequest)
    assert "`/social open` takes no options" in (request.problem or "")


def test_periods_start_where_their_names_say() -> None:
    assert since_for("today", NOW) == datetime(2026, 3, 10, tzinfo=UTC)
    assert since_for("24h", NOW) == NOW - timedelta(hours=24)
    assert since_for("7d", NOW) == NOW - timedelta(days=7)
    assert since_for("30d", NOW) == NOW - timedelta(days=30)
    assert since_for("all", NOW) is None


# ---- answers -----------------------------------------------------------------------------


def test_help_lists_every_subcommand(store: Store) -> None:
    answer = command(store, command="/social")("help", "U1", "C1")
    for usage in ("stats [today|24h|7d|30d|all]", "/social open", "mine", "sources", "help"):
        assert usage in answer.text
    assert not answer.public


def test_unknown_subcommand_answers_with_the_reason_and_help(store: Store) -> None:
    answer = command(store)("frobnicate", "U1", "C1")
    assert "I don't know `frobnicate`" in answer.text
    assert "/social stats" in answer.text
    assert answer.blocks[0]["type"] == "section"


def test_stats_answers_privately_with_the_figures(store: Store) -> None:
    add_conversation(store, 1, hours_ago=3)
    answer = command(store)("stats", "U1", "C1")
    assert not answer.public
    assert answer.blocks[0]["text"]["text"] == "Social stats, last 7 days"
    fields = [f["text"] for f in answer.blocks[1]["fields"]]
    assert "*Conversations opened*\n1" in fields
    assert "*Messages received*\n1" in fields
    assert "*Answered*\n0% (0 of 1)" in fields
    assert "*First response*\nmedian none, 90th percentile none" in fields
    assert "*Open now*\n1 (1 unclaimed)" in fields
    assert "*Oldest unanswered*\nwaiting 3 h 0 min" in fields
    assert "1 conversations opened" in answer.text


def test_stats_public_goes_to_the_channel(store: Store) -> None:
    assert command(store)("stats 30d public", "U1", "C1").public


def test_stats_for_a_network_by_its_display_name(store: Store) -> None:
    answer = command(store)("stats all Mastodon", "U1", "C1")
    assert answer.blocks[0]["text"]["text"] == "Social stats for Mastodon, all time"


def test_stats_for_an_unknown_scope_lists_what_exists_escaped(store: Store) -> None:
    answer = command(store)("stats <!channel>", "U1", "C1")
    assert "No account or network is called `&lt;!channel&gt;`" in answer.text
    assert "`acme-mastodon`, `acme-bluesky`" in answer.text
    assert "`bluesky`, `mastodon`" in answer.text
    assert "<!channel>" not in blocks_text(answer)


def test_stats_shows_people_by_name_when_given_a_lookup(store: Store) -> None:
    add_conversation(store, 1, hours_ago=3, assignee="UANN")
    with store.session() as session:
        conversation = session.get_one(Conversation, 1)
        conversation.claimed_at = NOW - timedelta(hours=1)
        session.add(conversation)
    answer = command(store, user_name=lambda user: "<!here> Ann")("stats", "U1", "C1")
    assert "• &lt;!here&gt; Ann: replies 0, claims 1, closes 0" in blocks_text(answer)
    plain = command(store)("stats", "U1", "C1")
    assert "• <@UANN>: replies 0, claims 1, closes 0" in blocks_text(plain)


def test_open_escapes_a_hostile_author_name(store: Store) -> None:
    add_conversation(store, 1, hours_ago=5, author_name=HOSTILE)
    answer = command(store, permalink=lambda c, ts: f"https://acme.slack.com/archives/{c}/{ts}")(
        "open", "U1", "C1"
    )
    rendered = blocks_text(answer)
    assert "<!channel>" not in rendered
    assert "<@U0BOSS>" not in rendered
    assert "<https://evil.example" not in rendered
    assert "&lt;!channel&gt;" in rendered
    line = answer.blocks[1]["text"]["text"]
    assert line.startswith(
        "• <https://acme.slack.com/archives/C1/1700000001.000100|&lt;!channel&gt;"
    )
    assert line.endswith(" on Mastodon, opened 5 h 0 min ago, unclaimed")


def test_open_lists_oldest_first_and_caps_the_list(store: Store) -> None:
    for number in range(1, LIST_LIMIT + 6):
        add_conversation(store, number, hours_ago=number, author_name=f"Person {number}")
    add_conversation(store, 99, hours_ago=500, status="closed")
    answer = command(store)("open", "U1", "C1")
    assert answer.text == "Open conversations: 25"
    text = "\n".join(b["text"]["text"] for b in answer.blocks[1:])
    lines = text.split("\n")
    assert len(lines) == LIST_LIMIT + 1
    assert "Person 25 " in lines[0] and "Person 6 " in lines[LIST_LIMIT - 1]
    assert lines[-1] == "…and 5 more"


def test_open_links_each_thread_and_names_who_claimed_it(store: Store) -> None:
    add_conversation(store, 1, hours_ago=2, assignee="UANN")
    add_conversation(store, 2, hours_ago=1, slack_ts=None)
    answer = command(store)("open", "U1", "C1")
    first, second = answer.blocks[1]["text"]["text"].split("\n")
    assert (
        "<https://slack.com/archives/C1/p1700000001000100|Ann (@user1@mastodon.example)>" in first
    )
    assert first.endswith("claimed by <@UANN>")
    assert second.startswith("• Ann (@user2@mastodon.example) on Mastodon")


def test_mine_keeps_the_conversations_of_the_person_asking(store: Store) -> None:
    add_conversation(store, 1, hours_ago=2, assignee="UANN", author_name="Mine")
    add_conversation(store, 2, hours_ago=3, assignee="UBOB", author_name="Theirs")
    answer = command(store)("mine", "UANN", "C1")
    assert answer.text == "Your open conversations: 1"
    assert "Mine" in blocks_text(answer) and "Theirs" not in blocks_text(answer)
    assert command(store)("mine", "UCAROL", "C1").text == ":tada: You have no open conversations."


def test_open_and_mine_keep_to_the_channels_the_person_is_in(store: Store) -> None:
    add_conversation(store, 1, hours_ago=2, assignee="UANN", author_name="Here")
    add_conversation(store, 2, hours_ago=3, assignee="UANN", author_name="There", channel="C2")
    ask = command(store, member_channels=lambda user: {"C1"})
    for verb in ("open", "mine"):
        answer = ask(verb, "UANN", "C1")
        assert answer.text.endswith(": 1")
        assert "Here" in blocks_text(answer) and "There" not in blocks_text(answer)


def test_someone_in_no_served_channel_gets_a_refusal_and_nothing_else(store: Store) -> None:
    add_conversation(store, 1, hours_ago=2, author_name="Secret")
    ask = command(store, member_channels=lambda user: frozenset())
    for text in ("open", "mine", "stats", "sources", "help"):
        answer = ask(text, "UOUT", "C1")
        assert answer.text == say("command.not_a_member", command="/social")
        assert not answer.public and "Secret" not in blocks_text(answer)


def test_sources_reports_each_account_with_errors_escaped_and_queued_jobs(store: Store) -> None:
    conversation_id = add_conversation(store, 1, hours_ago=1)
    with store.session() as session:
        session.add(
            AccountState(
                account="acme-mastodon",
                last_ok_at=NOW - timedelta(minutes=12),
                last_error="HTTP 502 from <!channel>",
                consecutive_failures=3,
            )
        )
        outbox.enqueue(
            session, kind="post_inbound", ordering_key="slack:1", conversation_id=conversation_id
        )
        outbox.enqueue(
            session, kind="update_card", ordering_key="slack:1", conversation_id=conversation_id
        )
    answer = command(store)("sources", "U1", "C1")
    text = answer.blocks[1]["text"]["text"]
    assert (
        ":red_circle: *acme-mastodon* (Mastodon): last successful poll 12 min ago,"
        " queued jobs 2\n3 failed polls in a row; last error: HTTP 502 from &lt;!channel&gt;"
    ) in text
    assert (
        ":white_circle: *acme-bluesky* (Bluesky): last successful poll never, queued jobs 0" in text
    )
    assert answer.blocks[-1]["elements"][0]["text"] == (
        "Queued jobs in all: 2 (post_inbound 1, update_card 1)"
    )


# ---- the Bolt listener over HTTP ---------------------------------------------------------


SECRET = "sandbox-signing-secret"
DONE_BLOCK = {"type": "section", "text": {"type": "mrkdwn", "text": "done"}}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def serve(slack: FakeSlack, answer: command_handler.Answer) -> HttpServer:
    bolt = App(
        client=WebClient(token="xoxb-sandbox-token", base_url=slack.api_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
        process_before_response=False,
    )
    command_handler.register(bolt, command_name="/social", answer=answer)
    server = HttpServer(
        make_wsgi_app(slack=SlackRequestHandler(bolt), health=lambda: (True, {}), metrics=bytes),
        host="127.0.0.1",
        port=0,
    )
    server.start()
    return server


def test_the_command_is_acked_before_the_answer_is_computed(slack: FakeSlack) -> None:
    release = threading.Event()
    asked: list[tuple[str, str, str]] = []

    def slow_answer(text: str, user: str, channel: str) -> CommandAnswer:
        asked.append((text, user, channel))
        release.wait(10)
        return CommandAnswer(text="done", blocks=[DONE_BLOCK], public=True)

    server = serve(slack, slow_answer)
    try:
        sender = slack.event_sender(f"http://127.0.0.1:{server.port}/slack/events", SECRET)
        delivery = sender.command("/social", "stats 30d public", user_id="UANN", channel_id="C9")
        assert delivery.status == 200
        assert slack.responses() == []  # acked while the answer is still being computed
        release.set()
        responses = slack.wait_for(slack.responses)
        assert responses == [
            {"text": "done", "blocks": [DONE_BLOCK], "response_type": "in_channel"}
        ]
        assert asked == [("stats 30d public", "UANN", "C9")]
    finally:
        release.set()
        server.stop()


def test_a_failing_answer_is_reported_to_the_person(slack: FakeSlack) -> None:
    def broken(text: str, user: str, channel: str) -> CommandAnswer:
        raise RuntimeError("database is gone")

    server = serve(slack, broken)
    try:
        sender = slack.event_sender(f"http://127.0.0.1:{server.port}/slack/events", SECRET)
        assert sender.command("/social", "open").status == 200
        responses = slack.wait_for(slack.responses)
        assert responses[0]["response_type"] == "ephemeral"
        assert "`/social` failed (RuntimeError)" in responses[0]["text"]
    finally:
        server.stop()


def test_answers_are_ephemeral_unless_public(slack: FakeSlack, store: Store) -> None:
    server = serve(slack, command(store))
    try:
        sender = slack.event_sender(f"http://127.0.0.1:{server.port}/slack/events", SECRET)
        assert sender.command("/social", "open").status == 200
        responses = slack.wait_for(slack.responses)
        assert responses[0]["response_type"] == "ephemeral"
        assert responses[0]["text"] == ":tada: Nothing is open."
    finally:
        server.stop()


# ---- overdue -----------------------------------------------------------------------------

CLOCK = SlaSettings(
    first_response=timedelta(hours=1),
    next_response=timedelta(hours=2),
    warn_before=timedelta(0),
    business_hours=BusinessHours.parse("always"),
    escalate_to="",
)


def test_overdue_lists_conversations_past_their_due_time_most_overdue_first(
    store: Store,
) -> None:
    add_conversation(store, 1, hours_ago=3, author_name="Three")
    add_conversation(store, 2, hours_ago=0.5, author_name="Half")  # due in 30 min
    add_conversation(store, 3, hours_ago=5, author_name="Five")
    answered = add_conversation(store, 4, hours_ago=6, author_name="Answered")
    with store.session() as session:
        # Each clock started as ingest starts it, then the answer stopped one.
        for conversation in session.exec(select(Conversation)):
            timers.schedule(session, conversation, CLOCK)
        session.add(
            Message(
                conversation_id=answered,
                account="acme-mastodon",
                direction="out",
                slack_channel="C1",
                text="on it",
                state="sent",
                created_at=NOW - timedelta(hours=5.5),
            )
        )
        session.flush()
        timers.record_stop(session, session.get_one(Conversation, answered))
    answer = command(store, sla={"acme-mastodon": CLOCK})("overdue", "U1", "C1")
    text = blocks_text(answer)
    assert answer.text == "Overdue conversations: 2"
    assert text.index("Five") < text.index("Three")
    assert "overdue by 4 h" in text and "overdue by 2 h" in text
    assert "Half" not in text and "Answered" not in text


def test_overdue_says_when_no_clock_is_set_up(store: Store) -> None:
    add_conversation(store, 1, hours_ago=3)
    assert "No response clock" in command(store)("overdue", "U1", "C1").text


def test_sources_says_how_many_threads_an_account_watches(store: Store) -> None:
    watching = {"acme-bluesky": 7}
    answer = command(store, threads_watched=lambda a: watching.get(a.name))("sources", "U1", "C1")
    text = answer.blocks[1]["text"]["text"]
    assert "queued jobs 0, 7 threads watched for follow-ups without a mention" in text
    assert text.count("threads watched") == 1  # Mastodon: None, nothing said


def _start_clocks(store: Store) -> None:
    """Each open conversation's clock, started as ingest starts it."""
    with store.session() as session:
        for conversation in session.exec(select(Conversation)):
            timers.schedule(session, conversation, CLOCK)


def _answer(store: Store, conversation_id: int, user: str, hours_ago: float) -> None:
    with store.session() as session:
        session.add(
            Message(
                conversation_id=conversation_id,
                account="acme-mastodon",
                direction="out",
                slack_channel="C1",
                slack_user=user,
                text="on it",
                state="queued",
                created_at=NOW - timedelta(hours=hours_ago),
            )
        )
        session.flush()
        timers.record_stop(session, session.get_one(Conversation, conversation_id))


def test_open_puts_the_soonest_due_first_then_the_untimed_oldest_first(store: Store) -> None:
    add_conversation(store, 1, hours_ago=0.5, author_name="DueSoon")
    add_conversation(store, 2, hours_ago=3, author_name="Overdue")
    _start_clocks(store)
    add_conversation(store, 3, hours_ago=10, author_name="Untimed")
    answer = command(store, sla={"acme-mastodon": CLOCK})("open", "U1", "C1")
    lines = "\n".join(b["text"]["text"] for b in answer.blocks[1:]).split("\n")
    assert answer.text == "Open conversations: 3"
    assert ["Overdue" in lines[0], "DueSoon" in lines[1], "Untimed" in lines[2]] == [True] * 3
    assert "overdue by 2 h 0 min" in lines[0] and "answer due in 30 min" in lines[1]
    assert "due" not in lines[2]


def test_stats_count_answers_within_target_overall_and_by_person(store: Store) -> None:
    in_time = add_conversation(store, 1, hours_ago=3)
    late = add_conversation(store, 2, hours_ago=5)
    add_conversation(store, 3, hours_ago=4)  # never answered: overdue
    add_conversation(store, 4, hours_ago=0.5)  # not due yet: not counted
    _start_clocks(store)
    _answer(store, in_time, "UANN", hours_ago=2.5)
    _answer(store, late, "UBOB", hours_ago=3)
    answer = command(store, sla={"acme-mastodon": CLOCK})("stats", "U1", "C1")
    fields = [f["text"] for f in answer.blocks[1]["fields"]]
    assert "*Answered within target*\nfirst response 33% (1 of 3), next none" in fields
    assert "*Overdue answers*\n2" in fields
    text = blocks_text(answer)
    assert "• <@UANN>: 100% (1 of 1)" in text and "• <@UBOB>: 0% (0 of 1)" in text


def test_stats_without_a_clock_say_nothing_of_targets(store: Store) -> None:
    add_conversation(store, 1, hours_ago=3)
    answer = command(store)("stats", "U1", "C1")
    assert "within target" not in blocks_text(answer)
    assert len(answer.blocks[1]["fields"]) == 8
