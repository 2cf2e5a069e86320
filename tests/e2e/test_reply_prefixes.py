"""Internal notes fail closed and Slack mentions reach no one on the network, end to end:
the bot as a process between the fake Slack and the fake Mastodon."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import Scene, eventually, scene

DRESSED_UP_NOTES = [
    ("*note:* secret one", False),
    ("_note:_ secret two", False),
    ("> note: secret three", True),  # typed: Slack sends "&gt; note: ..."
    ("`note:` secret four", False),
    (":memo: note: secret five", False),
    ("\u00a0\u200bnote: secret six", False),
    ("NOTE : secret seven", False),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(tmp_path_factory.mktemp("notes")) as running:
        yield running


@pytest.fixture(scope="module")
def opt_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(
        tmp_path_factory.mktemp("public-prefix"),
        extra_slack='channel_posts_per_second = 100\npublic_prefix = "!"',
    ) as running:
        yield running


def _conversation(world: Scene, handle: str, text: str) -> tuple[str, dict[str, Any]]:
    customer = world.mastodon.add_account(handle, handle.title(), domain="remote.example")
    status = world.mastodon.customer_posts(customer, f"@acme {text}")
    return str(status["id"]), world.card_for(text)


def _sent_texts(world: Scene, status_id: str, event: dict[str, Any]) -> list[str]:
    """Wait until the reply `event` is marked sent in Slack, then every status posted in
    answer to `status_id` (replies go out in order, so earlier ones came first)."""
    eventually(lambda: world.statuses_replying_to(status_id), what="the public reply")
    eventually(
        lambda: (world.slack.message(world.channel, str(event["ts"])) or {}).get("reactions"),
        what="the sent reaction",
    )
    return [world.posted_text(status) for status in world.statuses_replying_to(status_id)]


def test_dressed_up_internal_notes_post_nothing(world: Scene) -> None:
    status_id, card = _conversation(world, "frank", "my parcel is damaged")
    for text, typed in DRESSED_UP_NOTES:
        world.reply_in_thread(card, text, typed=typed)
    mentioned = world.slack.add_user("ada", display_name="Ada")
    world.reply_in_thread(card, f"<@{mentioned}> note: secret eight")
    event = world.reply_in_thread(card, "Sorry to hear that, a new one is on its way.")
    assert _sent_texts(world, status_id, event) == [
        "@frank@remote.example Sorry to hear that, a new one is on its way."
    ]


def test_a_slack_mention_reaches_nobody_on_the_network(world: Scene) -> None:
    status_id, card = _conversation(world, "gina", "who can help with billing?")
    bob = world.slack.add_user("bob", display_name="bob@evil.example", channels=[world.channel])
    event = world.reply_in_thread(
        card, f"<@{bob}> and <!subteam^S0BILLING|@billing> will help, <!here> see <#C0FAQ|faq>"
    )
    assert _sent_texts(world, status_id, event) == [
        "@gina@remote.example bobevil.example and billing will help, here see #faq"
    ]


def test_with_a_public_prefix_only_prefixed_replies_go_out(opt_in: Scene) -> None:
    status_id, card = _conversation(opt_in, "hana", "is the shop open today?")
    opt_in.reply_in_thread(card, "I think so, let me check")
    opt_in.reply_in_thread(card, "note: ask the shop")
    opt_in.reply_in_thread(card, "hello !")
    event = opt_in.reply_in_thread(card, "!hello")
    assert _sent_texts(opt_in, status_id, event) == ["@hana@remote.example hello"]


def test_with_a_public_prefix_an_internal_prefix_after_it_stays_internal(opt_in: Scene) -> None:
    status_id, card = _conversation(opt_in, "ivo", "do you deliver on Sunday?")
    opt_in.reply_in_thread(card, "!note: only in Berlin")
    event = opt_in.reply_in_thread(card, "*!* Yes, in Berlin")
    assert _sent_texts(opt_in, status_id, event) == ["@ivo@remote.example Yes, in Berlin"]
