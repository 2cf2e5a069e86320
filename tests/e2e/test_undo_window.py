"""The undo window: a reply waits `send_delay_seconds`; edits change it, deletes cancel it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Scene, eventually, scene

DELAY = 2.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(tmp_path_factory.mktemp("undo"), send_delay=DELAY) as running:
        yield running


def _card(world: Scene, handle: str, text: str) -> tuple[str, dict[str, object]]:
    customer = world.mastodon.add_account(handle, handle.title(), domain="remote.example")
    status = world.mastodon.customer_posts(customer, f"@acme {text}")
    return str(status["id"]), world.card_for(text)


def test_an_edit_inside_the_window_changes_what_is_sent(world: Scene) -> None:
    status_id, card = _card(world, "olga", "what are your opening hours?")
    event = world.reply_in_thread(card, "We open at 8")
    world.events.event(world.slack.user_edits(world.channel, str(event["ts"]), "We open at 9"))
    eventually(lambda: world.statuses_replying_to(status_id), what="the reply")
    world.settle()
    replies = world.statuses_replying_to(status_id)
    assert [world.posted_text(r) for r in replies] == ["@olga@remote.example We open at 9"]


def test_a_delete_inside_the_window_cancels_the_reply(world: Scene) -> None:
    status_id, card = _card(world, "pete", "can I return shoes?")
    event = world.reply_in_thread(card, "Nope")
    world.events.event(world.slack.user_deletes(world.channel, str(event["ts"])))
    # A second reply in the same conversation is sent after the window: once it is there,
    # the cancelled one (queued before it, in order) would have been sent first.
    world.reply_in_thread(card, "Yes, within 30 days")
    eventually(lambda: world.statuses_replying_to(status_id), what="the reply")
    world.settle()
    assert [world.posted_text(r) for r in world.statuses_replying_to(status_id)] == [
        "@pete@remote.example Yes, within 30 days"
    ]


def test_an_edit_after_sending_tells_the_thread_it_changed_nothing(world: Scene) -> None:
    status_id, card = _card(world, "quinn", "do you have gift cards?")
    event = world.reply_in_thread(card, "Yes we do")
    eventually(lambda: world.statuses_replying_to(status_id), what="the reply")
    eventually(
        lambda: world.slack.message(world.channel, str(event["ts"])).get("reactions"),  # type: ignore[union-attr]
        what="the sent mark",
    )
    world.events.event(world.slack.user_edits(world.channel, str(event["ts"]), "Yes, from 10 €"))
    notice = eventually(
        lambda: [
            m
            for m in world.slack.thread(world.channel, str(card["ts"]))
            if m.get("bot_id") and "already been sent" in m["text"]
        ],
        what="the notice",
    )
    assert notice
    assert [world.posted_text(r) for r in world.statuses_replying_to(status_id)] == [
        "@quinn@remote.example Yes we do"
    ]
