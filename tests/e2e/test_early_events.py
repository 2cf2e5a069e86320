"""Events that come before the bot has recorded the card they are about.

Slack shows a card as soon as it accepts chat.postMessage; the bot learns the card's ts only
from Slack's answer (or, after a timeout, from reconciliation). Here Slack accepts the card
and answers after the bot has given up waiting, and reconciliation is kept failing, so the
card stays unrecorded for as long as the test needs: a reply and a claim made in that gap
must still be handled, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.harness import Scene, eventually, scene


def _card_in_slack(world: Scene, text: str) -> dict[str, Any]:
    """The card as Slack shows it, without waiting for the bot to have recorded it."""

    def find() -> dict[str, Any] | None:
        for message in world.slack.messages(world.channel):
            if text in message.get("text", ""):
                return message
        return None

    return eventually(find, what=f"a card containing {text!r}")


def _reply_and_claim_before_the_card_is_recorded(world: Scene) -> tuple[dict[str, Any], str]:
    world.slack.faults.hang("chat.postMessage", 30, count=1)  # accepted, answered too late
    world.slack.faults.fail("conversations.history", status=500, count=None)  # no reconciling
    customer = world.mastodon.add_account("early", "Early Bird", domain="remote.example")
    status = world.mastodon.customer_posts(customer, "@acme where is my parcel")
    card = _card_in_slack(world, "where is my parcel")
    assert world.find_conversation(str(card["ts"])) is None  # the bot does not know it yet
    reply = world.slack.user_posts(world.channel, world.staff, "on its way", thread_ts=card["ts"])
    assert world.events.event(reply).status == 200
    claim = world.slack.user_reacts(world.channel, str(card["ts"]), world.staff, "eyes")
    assert world.events.event(claim).status == 200
    return card, str(status["id"])


def _assert_handled_once(world: Scene, card: dict[str, Any], status_id: str) -> None:
    answered = eventually(
        lambda: world.statuses_replying_to(status_id), timeout=30, what="the reply on Mastodon"
    )
    eventually(
        lambda: world.conversation(str(card["ts"])).assignee == world.staff,
        what="the claim",
    )
    world.slack.faults.clear()
    eventually(lambda: world.bot.health()["queue_depth"] == 0, timeout=30, what="an empty queue")
    assert len(world.statuses_replying_to(status_id)) == 1
    assert world.posted_text(answered[0]).endswith("on its way")
    cards = [m for m in world.slack.messages(world.channel) if "where is my parcel" in m["text"]]
    assert [c["ts"] for c in cards] == [card["ts"]]  # the card's own retry posted no second
    assert world.conversation(str(card["ts"])).status == "claimed"


def test_a_reply_and_a_claim_before_the_card_is_recorded_are_resolved_from_slack(
    tmp_path: Path,
) -> None:
    with scene(tmp_path) as world:
        card, status_id = _reply_and_claim_before_the_card_is_recorded(world)
        # Reconciliation still fails: only Slack's copy of the card (its metadata) can
        # have told the bot which conversation this thread is.
        _assert_handled_once(world, card, status_id)


def test_a_reply_before_the_card_is_recorded_waits_for_the_card_when_slack_cannot_say(
    tmp_path: Path,
) -> None:
    with scene(tmp_path) as world:
        world.slack.faults.fail("conversations.replies", status=500, count=None)
        card, status_id = _reply_and_claim_before_the_card_is_recorded(world)
        assert world.statuses_replying_to(status_id) == []
        world.slack.faults.clear()  # now the card's own job reconciles and records it
        _assert_handled_once(world, card, status_id)


def test_a_thread_in_a_mapped_channel_that_is_no_card_is_ignored(tmp_path: Path) -> None:
    with scene(tmp_path) as world:
        chat = world.slack.user_posts(world.channel, world.staff, "lunch?")
        assert world.events.event(chat).status == 200
        reply = world.slack.user_posts(world.channel, world.staff, "yes", thread_ts=chat["ts"])
        assert world.events.event(reply).status == 200
        customer = world.mastodon.add_account("later", "Later", domain="remote.example")
        world.mastodon.customer_posts(customer, "@acme hello there")
        world.card_for("hello there")
        eventually(lambda: world.bot.health()["queue_depth"] == 0, what="an empty queue")
        assert world.mastodon.brand_statuses() == []
