"""Scripted customers: the busy morning's shape, and beats played against the real bot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.demo.scenario import SCENARIOS, Beat, ScenarioPlayer, busy_morning
from bot.demo.world import DemoWorld
from tests.e2e.harness import eventually


@pytest.fixture(scope="module")
def world() -> Iterator[DemoWorld]:
    running = DemoWorld(send_delay=0.0)
    running.start()
    yield running
    running.stop()


def _play(world: DemoWorld, beats: list[Beat]) -> ScenarioPlayer:
    def post(customer: str, text: str, visibility: str, reply_to: str | None) -> str:
        status = world.customer_posts(
            customer, text, visibility=visibility, in_reply_to_id=reply_to
        )
        return str(status["id"])

    player = ScenarioPlayer("test", beats, post=post, latest=world.latest_in_thread)
    player.start()
    return player


def _cards(world: DemoWorld) -> list[dict[str, Any]]:
    return [m for m in world.slack.messages(world.channel) if m.get("bot_id")]


def test_busy_morning_is_a_dozen_posts_with_follow_ups_over_a_few_minutes() -> None:
    beats = busy_morning()
    assert len(beats) == 12
    assert sum(1 for b in beats if b.follows) >= 3
    assert any(b.visibility == "direct" for b in beats)
    assert 120 < beats[-1].at < 300
    keys = [b.key for b in beats]
    for position, beat in enumerate(beats):
        if beat.follows:
            assert keys.index(beat.follows) < position, "a follow-up before its post"
    assert busy_morning() == beats, "the same seed plays the same morning"
    assert "busy-morning" in SCENARIOS


def test_every_busy_morning_customer_exists_in_the_sandbox(world: DemoWorld) -> None:
    usernames = {account["username"] for account in world.customers}
    assert {beat.customer for beat in busy_morning()} <= usernames


def test_a_follow_up_lands_in_the_thread_of_the_post_it_follows(world: DemoWorld) -> None:
    before = len(_cards(world))
    player = _play(
        world,
        [
            Beat(0.1, "farid", "is the shop dog-friendly?", key="dogs"),
            Beat(0.2, "grace", "do you sell gift cards?", key="gifts"),
            Beat(0.3, "farid", "asking for Rex 🐕", follows="dogs"),
        ],
    )
    cards = eventually(lambda: _cards(world)[before:] if len(_cards(world)) >= before + 2 else None)
    dogs = next(c for c in cards if "dog-friendly" in c["text"])
    thread = eventually(lambda: world.slack.thread(world.channel, dogs["ts"]), what="follow-up")
    assert "asking for Rex" in thread[0]["text"]
    assert len(_cards(world)) == before + 2
    assert player.progress()["played"] == 3
    player.stop()


def test_stopping_a_scenario_stops_its_posts(world: DemoWorld) -> None:
    count = len(world.mastodon.statuses)
    player = _play(world, [Beat(30.0, "ben", "never posted")])
    assert player.playing
    player.stop()
    # stop() waits for the thread; one still asleep until the beat's time would be alive.
    assert not player.playing
    assert len(world.mastodon.statuses) == count
    assert player.progress()["played"] == 0
