"""Crash trials: kill -9 mid-delivery, restart, and every mention is in Slack exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.e2e.harness import Scene, eventually, scene


def _mentions(world: Scene, count: int, tag: str) -> list[str]:
    customer = world.mastodon.add_account(f"crash{tag}", "Crash Test", domain="remote.example")
    texts = [f"crash-{tag}-{n:03d} help" for n in range(count)]
    for text in texts:
        world.mastodon.customer_posts(customer, f"@acme {text}")
    return texts


def _card_counts(world: Scene, texts: list[str]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for message in world.slack.messages(world.channel):
        for text in texts:
            if text in message.get("text", ""):
                seen[text] += 1
    return seen


def _settled(world: Scene) -> bool:
    return bool(world.bot.health()["queue_depth"] == 0)


def test_kill_9_while_slack_is_down_then_restart_posts_every_mention_once(
    tmp_path: Path,
) -> None:
    with scene(tmp_path) as world:
        world.slack.faults.outage(True)
        texts = _mentions(world, 15, "down")
        eventually(
            lambda: world.bot.health()["queue"].get("post_inbound") == 15,
            what="all mentions stored and queued",
        )
        world.bot.kill()
        world.slack.faults.outage(False)
        world.bot.start()
        eventually(lambda: _settled(world), what="the queue to drain")
        assert _card_counts(world, texts) == Counter({text: 1 for text in texts})


def test_kill_9_after_slack_accepted_but_before_it_answered_posts_no_duplicate(
    tmp_path: Path, db_url: str, backend: str
) -> None:
    with scene(tmp_path, database_url=db_url) as world:
        # Slack stores each message, then never answers: the bot cannot know it landed.
        world.slack.faults.hang("chat.postMessage", 60, count=1000)
        texts = _mentions(world, 8, backend)
        eventually(lambda: len(_card_counts(world, texts)) >= 4, what="Slack to accept some posts")
        world.bot.kill()
        world.slack.faults.clear()
        world.bot.start()
        eventually(lambda: len(_card_counts(world, texts)) == 8, what="every card")
        eventually(lambda: _settled(world), what="the queue to drain")
        assert _card_counts(world, texts) == Counter({text: 1 for text in texts})
