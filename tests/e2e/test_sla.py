"""The response clock (#11): a mention left unanswered gets one reminder and one breach
notice (the breach shown in the channel too, naming the escalation group); one answered in
time gets neither; a SIGKILL between reminder and breach still gives one breach. The bot
runs as a process; targets are seconds so the test can wait for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.harness import Scene, eventually, scene

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
        # The answered card's last update no longer shows a due time (its clock stopped).
        assert "answer due" not in str(world.card_updates(str(answered["ts"]))[-1]["blocks"])


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
