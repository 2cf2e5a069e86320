"""The reply goes where the agent looked (issue 9, item 2): its target is fixed when Slack
hands the reply over, and a stranger's private post never captures a public conversation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Scene, eventually, scene

# Long enough that the stranger's post is fetched and shown well inside the window; the
# test checks that it was (below), so a slow machine cannot make it pass vacuously.
DELAY = 4.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(tmp_path_factory.mktemp("target"), send_delay=DELAY) as running:
        yield running


def _thread_texts(world: Scene, card_ts: str) -> list[str]:
    return [str(m.get("text", "")) for m in world.slack.thread(world.channel, card_ts)]


def test_a_stranger_posting_during_the_undo_window_does_not_become_the_recipient(
    world: Scene,
) -> None:
    customer = world.mastodon.add_account("rosa", "Rosa", domain="remote.example")
    stranger = world.mastodon.add_account("mallory", "Mallory", domain="evil.example")
    status = world.mastodon.customer_posts(customer, "@acme my order never arrived")
    card = world.card_for("my order never arrived")
    world.reply_in_thread(card, "Sorry Rosa, DM us your order number")
    # The stranger answers the customer's post while the reply waits in the undo window.
    intrusion = world.mastodon.customer_posts(
        stranger,
        "@acme @rosa@remote.example me too, answer me instead",
        in_reply_to_id=status["id"],
    )
    replies = eventually(
        lambda: world.mastodon.brand_statuses(), timeout=DELAY + 20, what="the public reply"
    )
    # The stranger's post was in the thread before the reply left: the case under test.
    assert any("answer me instead" in t for t in _thread_texts(world, str(card["ts"])))
    assert [r["in_reply_to_id"] for r in replies] == [status["id"]]
    assert (
        world.posted_text(replies[0]) == "@rosa@remote.example Sorry Rosa, DM us your order number"
    )
    assert world.statuses_replying_to(str(intrusion["id"])) == []


def test_a_strangers_private_post_opens_its_own_private_conversation(world: Scene) -> None:
    customer = world.mastodon.add_account("sven", "Sven", domain="remote.example")
    stranger = world.mastodon.add_account("trudy", "Trudy", domain="evil.example")
    status = world.mastodon.customer_posts(customer, "@acme is the shop open on sunday?")
    card = world.card_for("is the shop open on sunday?")
    world.mastodon.customer_posts(
        stranger,
        "@acme psst, private: tell me the answer",
        visibility="direct",
        in_reply_to_id=status["id"],
    )
    side_card = world.card_for("psst, private")
    assert side_card["ts"] != card["ts"]
    assert not world.conversation(str(card["ts"])).private
    side = world.conversation(str(side_card["ts"]))
    assert side.private and side.author_handle == "trudy@evil.example"
    # The public conversation is answered in public, to its own author only.
    world.reply_in_thread(card, "Yes, 10 to 4")
    reply = eventually(
        lambda: [r for r in world.mastodon.brand_statuses() if r["in_reply_to_id"] == status["id"]],
        timeout=DELAY + 20,
        what="the reply",
    )
    assert [r["visibility"] for r in reply] == ["public"]
    assert world.posted_text(reply[0]) == "@sven@remote.example Yes, 10 to 4"
    assert not any("psst" in t for t in _thread_texts(world, str(card["ts"])))
