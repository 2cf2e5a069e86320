"""Rate-limit storms and a broken account: the bot slows down, reports, and keeps going."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from bot.sandbox.mastodon_api import FakeMastodon
from tests.e2e.harness import Scene, eventually, scene


def test_a_burst_to_one_channel_is_paced_complete_in_order_with_follow_ups_first(
    tmp_path: Path,
) -> None:
    with scene(tmp_path, extra_slack="channel_posts_per_second = 1") as world:
        world.slack.rate_limit_channels(1.0, burst=1)
        customer = world.mastodon.add_account("burst", "Burst", domain="remote.example")
        first = world.mastodon.customer_posts(customer, "@acme burst-root-0")
        world.card_for("burst-root-0")
        world.bot.stop()  # a backlog builds up while the bot is away
        for number in range(1, 6):
            world.mastodon.customer_posts(customer, f"@acme burst-new-{number}")
        for number in range(3):
            world.mastodon.customer_posts(
                customer, f"@acme burst-follow-{number}", in_reply_to_id=first["id"]
            )
        world.bot.start()
        eventually(
            lambda: (
                world.bot.health()["queue_depth"] == 0
                and len(world.slack.thread(world.channel, _card_ts(world, "burst-root-0"))) == 3
            ),
            timeout=60,
            what="the backlog delivered",
        )
        posted = [
            str(c.params.get("text"))
            for c in world.slack.calls("chat.postMessage")
            if c.ok and "burst-" in str(c.params.get("text"))
        ]
        order = [p.split("burst-")[1].split()[0] for p in posted]
        assert order[0] == "root-0"
        assert order[1:4] == ["follow-0", "follow-1", "follow-2"]  # threads first, in order
        assert sorted(order[4:]) == [f"new-{n}" for n in range(1, 6)]
        assert world.slack.rate_limited_count <= 1


def test_a_post_slowed_on_its_way_does_not_earn_the_next_post_a_429(tmp_path: Path) -> None:
    """Slack counts a post when it arrives: if the bot counted it when it sent it, a post
    held up on the way followed by one on time would land too close together."""
    with scene(tmp_path, extra_slack="channel_posts_per_second = 1") as world:
        world.slack.rate_limit_channels(1.0, burst=1)
        world.bot.stop()
        customer = world.mastodon.add_account("jitter", "Jitter", domain="remote.example")
        for number in range(4):
            world.mastodon.customer_posts(customer, f"@acme jitter-{number}")
        world.slack.faults.slow("chat.postMessage", 0.7, count=1)
        world.slack.faults.slow("chat.postMessage", 0.0, count=1)
        world.slack.faults.slow("chat.postMessage", 0.7, count=1)
        world.bot.start()
        eventually(
            lambda: (
                world.bot.health()["queue_depth"] == 0
                and sum("jitter-" in m["text"] for m in world.slack.messages(world.channel)) == 4
            ),
            timeout=60,
            what="the four cards",
        )
        assert sum("jitter-" in m["text"] for m in world.slack.messages(world.channel)) == 4
        assert world.slack.rate_limited_count == 0


def _card_ts(world: Scene, text: str) -> str:
    for message in world.slack.messages(world.channel):
        if text in message["text"]:
            return str(message["ts"])
    return "0"


def test_429_and_5xx_from_mastodon_polls_are_waited_out(tmp_path: Path) -> None:
    with scene(tmp_path) as world:
        world.mastodon.faults.fail("/api/v1/notifications", status=429, retry_after=1, count=2)
        world.mastodon.faults.fail("/api/v1/notifications", status=503, count=1)
        customer = world.mastodon.add_account("patient", "P", domain="remote.example")
        world.mastodon.customer_posts(customer, "@acme after the storm")
        world.card_for("after the storm")
        statuses = [r.status for r in world.mastodon.requests("/api/v1/notifications")]
        assert 429 in statuses and 503 in statuses


BROKEN = """
[[accounts]]
name = "broken-mastodon"
network = "mastodon"
server = "{url}"
token_env = "BROKEN_TOKEN"
channel = "{channel}"
poll_seconds = 0.2
"""


def test_a_broken_account_is_reported_and_retried_less_often_while_others_work(
    tmp_path: Path,
) -> None:
    with (
        FakeMastodon(rate_limit=None) as other,
        scene(
            tmp_path,
            extra_accounts=BROKEN.format(url=other.base_url, channel="C0BROKEN"),
            extra_env={"BROKEN_TOKEN": "revoked-token-0000"},
            wait_for_first_poll=False,
        ) as world,
    ):
        health = eventually(
            lambda: (
                (h := world.bot.health())
                and _account(h, "broken-mastodon")["consecutive_failures"] >= 3
                and h
            ),
            what="the broken account reported",
        )
        broken = _account(health, "broken-mastodon")
        assert broken["healthy"] is False and "401" in broken["last_error"]
        assert _account(health, "acme-mastodon")["healthy"] is True
        customer = world.mastodon.add_account("fine", "Fine", domain="remote.example")
        world.mastodon.customer_posts(customer, "@acme the others keep working")
        world.card_for("the others keep working")
        times = [r.time for r in other.requests("/api/v1/notifications")]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) >= 2 and gaps[-1] > gaps[0]  # growing intervals
        assert "broken-mastodon: poll failed" in world.bot.log()
        answer = _sources_answer(world)
        assert "broken-mastodon" in answer and "401" in answer


def _account(health: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(a for a in health["accounts"] if a["name"] == name))


def _sources_answer(world: Scene) -> str:
    url = world.slack.new_response_url()
    world.events.command(
        "/social", "sources", user_id=world.staff, channel_id=world.channel, response_url=url
    )
    answers = eventually(lambda: world.slack.responses(url), what="/social sources")
    return json.dumps(answers[0])
