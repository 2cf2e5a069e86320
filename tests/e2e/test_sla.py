"""The response clock (#11): a mention left unanswered gets one reminder and one breach
notice (the breach shown in the channel too, naming the escalation group); one answered in
time gets neither; a SIGKILL between reminder and breach still gives one breach; two
instances give one of each; the customer writing again after our answer starts the next
response clock; business hours that exclude now move the due time to the next window. The
bot runs as a process; targets are seconds so the test can wait for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.jobkinds import SLA_TIMER
from bot.store import Job, Store
from tests.e2e.harness import Scene, eventually, scene
from tests.faults.test_two_instances import _second_instance

SLA = """
[sla]
first_response = "20s"
warn_before = "15s"
escalate_to = "S0SUPPORT"
"""


def _clock_notices(world: Scene, card: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The reminders' texts and the breach messages in a card's thread."""
    thread = [m for m in world.slack.thread(world.channel, str(card["ts"])) if m.get("bot_id")]
    reminders = [str(m["text"]) for m in thread if "An answer is due" in str(m["text"])]
    breaches = [m for m in thread if "overdue" in str(m["text"])]
    return reminders, breaches


def test_an_unanswered_mention_gets_one_reminder_and_one_broadcast_breach_an_answered_one_none(
    tmp_path: Path,
) -> None:
    with scene(tmp_path, extra_accounts=SLA) as world:
        customer = world.mastodon.add_account("olga", "Olga", domain="remote.example")
        world.mastodon.customer_posts(customer, "@acme nobody answers me")
        world.mastodon.customer_posts(customer, "@acme a quick question")
        waiting = world.card_for("nobody answers me")
        answered = world.card_for("a quick question")
        assert "answer due" in str(waiting["blocks"]) and "answer due" in str(answered["blocks"])
        world.reply_in_thread(answered, "Here is your answer")

        eventually(lambda: _clock_notices(world, waiting)[1], timeout=60, what="the breach")
        world.settle()  # every timer has run: the answered one's too, saying nothing
        reminders, breaches = _clock_notices(world, waiting)
        assert len(reminders) == 1 and "<!subteam^S0SUPPORT>" in reminders[0]
        assert len(breaches) == 1 and "<!subteam^S0SUPPORT>" in str(breaches[0]["text"])
        assert breaches[0].get("subtype") == "thread_broadcast"
        in_channel = [m for m in world.slack.messages(world.channel) if "overdue" in m["text"]]
        assert len(in_channel) == 1
        assert _clock_notices(world, answered) == ([], [])
        # The answered card's last update no longer shows a due time (its clock stopped);
        # the waiting one's, drawn after the breach, says it is overdue.
        assert "answer due" not in str(world.card_updates(str(answered["ts"]))[-1]["blocks"])
        assert "answer overdue since" in str(world.card_updates(str(waiting["ts"]))[-1]["blocks"])


def test_a_sigkill_between_reminder_and_breach_still_gives_exactly_one_of_each(
    tmp_path: Path,
) -> None:
    with scene(tmp_path, extra_accounts=SLA) as world:
        customer = world.mastodon.add_account("piet", "Piet", domain="remote.example")
        world.mastodon.customer_posts(customer, "@acme still waiting")
        card = world.card_for("still waiting")
        eventually(lambda: _clock_notices(world, card)[0], timeout=30, what="the reminder")
        world.bot.kill()
        world.bot.start()
        eventually(lambda: _clock_notices(world, card)[1], timeout=60, what="the breach")
        world.settle()
        reminders, breaches = _clock_notices(world, card)
        assert (len(reminders), len(breaches)) == (1, 1)


@pytest.mark.postgresql_only  # several instances coordinate through PostgreSQL (README)
def test_two_instances_post_each_reminder_and_each_breach_once(tmp_path: Path, db_url: str) -> None:
    with scene(tmp_path, database_url=db_url, extra_accounts=SLA) as world:
        second = _second_instance(world, tmp_path)
        try:
            customer = world.mastodon.add_account("duo", "Duo", domain="remote.example")
            texts = [f"duo-{n} waiting" for n in range(6)]
            for text in texts:
                world.mastodon.customer_posts(customer, f"@acme {text}")
            cards = [world.card_for(text) for text in texts]
            eventually(
                lambda: all(_clock_notices(world, card)[1] for card in cards),
                timeout=60,
                what="every breach",
            )
            world.settle()
            assert [
                tuple(len(notices) for notices in _clock_notices(world, card)) for card in cards
            ] == [(1, 1)] * len(cards)
        finally:
            second.stop()


NEXT = """
[sla]
first_response = "25s"
next_response = "20s"
warn_before = "15s"
escalate_to = "U0LEAD"
"""


def test_the_customer_writing_again_after_our_answer_starts_the_next_response_clock(
    tmp_path: Path,
) -> None:
    with scene(tmp_path, extra_accounts=NEXT) as world:
        customer = world.mastodon.add_account("nina", "Nina", domain="remote.example")
        first = world.mastodon.customer_posts(customer, "@acme my order is late")
        card = world.card_for("my order is late")
        world.reply_in_thread(card, "Sorry, we are looking into it")
        [ours] = eventually(lambda: world.statuses_replying_to(first["id"]), what="our answer")

        def card_without_a_due_time() -> bool:
            updates = world.card_updates(str(card["ts"]))
            return bool(updates) and "answer due" not in str(updates[-1]["blocks"])

        eventually(card_without_a_due_time, what="the card without a due time")
        world.mastodon.customer_posts(customer, "@acme still nothing", in_reply_to_id=ours["id"])
        eventually(lambda: _clock_notices(world, card)[1], timeout=60, what="the breach")
        world.settle()
        reminders, breaches = _clock_notices(world, card)
        assert len(reminders) == 1 and "<@U0LEAD>" in reminders[0]
        assert len(breaches) == 1 and "<@U0LEAD>" in str(breaches[0]["text"])


def test_business_hours_that_exclude_now_move_the_due_time_to_the_next_window(
    tmp_path: Path,
) -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    hours = f"""
[sla]
first_response = "20s"
warn_before = "15s"
business_hours = "{tomorrow:%a} 09:00-10:00"
timezone = "UTC"
"""
    due = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 0, 20, tzinfo=UTC)
    with scene(tmp_path, extra_accounts=hours) as world:
        customer = world.mastodon.add_account("otto", "Otto", domain="remote.example")
        world.mastodon.customer_posts(customer, "@acme after hours")
        card = world.card_for("after hours")
        assert f"<!date^{int(due.timestamp())}^{{time}}|" in str(card["blocks"])
        store = Store(world.database_url)
        try:
            with store.read() as session:
                moments = sorted(
                    job.not_before
                    for job in session.exec(select(Job).where(col(Job.kind) == SLA_TIMER))
                )
        finally:
            store.dispose()
        assert moments == [due - timedelta(seconds=15), due]
        assert _clock_notices(world, card) == ([], [])
