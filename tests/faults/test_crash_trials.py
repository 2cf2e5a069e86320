"""Crash trials: SIGKILL at random moments while mentions and replies stream through.

A seeded driver feeds 200 mentions (a third of them follow-ups in earlier threads) and 100
thread replies to the real bot process in 20 trials; each trial may also make Slack or
Mastodon accept a request and then never answer (the bot times out: an unknown outcome),
then kills the bot with SIGKILL after a random moment and restarts it. Events that could
not be delivered while the bot was down are redelivered, as Slack does. After every trial:
each mention is in Slack exactly once, in its right thread, and each reply is on Mastodon
exactly once.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sources.mastodon.html import mastodon_html_to_text
from tests.e2e.harness import Scene, eventually, scene

SEED = 20261127
TRIALS = 20
MENTIONS_PER_TRIAL = 10
REPLIES_PER_TRIAL = 5


@dataclass
class Stream:
    """What the driver sent, to check against what arrived."""

    roots: dict[str, str] = field(default_factory=dict)  # mention text -> its root's text
    status_ids: dict[str, str] = field(default_factory=dict)  # mention text -> status id
    replies: list[str] = field(default_factory=list)
    undelivered: list[dict[str, Any]] = field(default_factory=list)


def _where_in_slack(world: Scene) -> dict[str, list[str | None]]:
    """Every text in the channel -> where it stands: None (a card) or its thread's ts."""
    found: dict[str, list[str | None]] = {}
    for card in world.slack.messages(world.channel):
        found.setdefault(card["text"], []).append(None)
        for reply in world.slack.thread(world.channel, card["ts"]):
            found.setdefault(reply["text"], []).append(card["ts"])
    return found


def _mention_text(message_text: str, stream: Stream) -> str | None:
    for text in stream.roots:
        if text in message_text:
            return text
    return None


def _check(world: Scene, stream: Stream, trial: int) -> None:
    placed: Counter[str] = Counter()
    card_of: dict[str, str] = {}
    for card in world.slack.messages(world.channel):
        text = _mention_text(card["text"], stream)
        if text is not None:
            placed[text] += 1
            card_of[text] = card["ts"]
    for card in world.slack.messages(world.channel):
        for reply in world.slack.thread(world.channel, card["ts"]):
            text = _mention_text(reply["text"], stream)
            if text is not None and reply.get("bot_id"):
                placed[text] += 1
                root = stream.roots[text]
                assert card_of.get(root) == card["ts"], f"trial {trial}: {text} in wrong thread"
    assert placed == Counter({text: 1 for text in stream.roots}), f"trial {trial}"
    # A reply answers the thread's latest post, whoever wrote it: compare without the @.
    # (Read from the status itself: a request that hung has no recorded answer.)
    sent = Counter(
        mastodon_html_to_text(s["content"]).split(" ", 1)[1]
        for s in world.mastodon.brand_statuses()
    )
    assert sent == Counter(stream.replies), f"trial {trial}: replies on Mastodon differ"


def _settle(world: Scene, stream: Stream) -> None:
    def all_there() -> bool:
        texts = " ".join(m["text"] for m in world.slack.messages(world.channel))
        texts += " ".join(
            r["text"]
            for m in world.slack.messages(world.channel)
            for r in world.slack.thread(world.channel, m["ts"])
        )
        sent = world.mastodon.brand_statuses()
        return all(t in texts for t in stream.roots) and len(sent) >= len(stream.replies)

    eventually(all_there, timeout=60, what="every mention in Slack and every reply sent")
    eventually(lambda: world.bot.health()["queue_depth"] == 0, timeout=60, what="an empty queue")


def _trial(world: Scene, stream: Stream, rng: random.Random, trial: int) -> str:
    fault = rng.choice(["none", "slack-hang", "mastodon-hang"])
    if fault == "slack-hang":
        world.slack.faults.hang("chat.postMessage", 30, count=rng.randint(1, 3))
    elif fault == "mastodon-hang":
        world.mastodon.faults.hang("POST /api/v1/statuses", 30, count=1)
    for number in range(MENTIONS_PER_TRIAL):
        text = f"t{trial:02d}m{number:02d} please help"
        handle = f"c{trial:02d}x{number:02d}"
        customer = world.mastodon.add_account(handle, handle, domain="remote.example")
        earlier = [t for t, root in stream.roots.items() if t == root]
        if earlier and rng.random() < 0.33:
            root = rng.choice(earlier)
            status = world.mastodon.customer_posts(
                customer, f"@acme {text}", in_reply_to_id=stream.status_ids[root]
            )
        else:
            root = text
            status = world.mastodon.customer_posts(customer, f"@acme {text}")
        stream.roots[text] = root
        stream.status_ids[text] = str(status["id"])

    def answerable_cards() -> dict[str, str]:
        cards = {
            _mention_text(m["text"], stream): m["ts"] for m in world.slack.messages(world.channel)
        }
        return {t: ts for t, ts in cards.items() if t is not None and stream.roots.get(t) == t}

    cards = eventually(answerable_cards, what="a card to answer")
    answerable = list(cards)
    for number in range(REPLIES_PER_TRIAL):
        root = rng.choice(answerable)
        handle = f"c{root[1:3]}x{root[4:6]}"
        text = f"answer|{handle}|{trial:02d}-{number}"
        stream.replies.append(text)
        event = world.slack.user_posts(world.channel, world.staff, text, thread_ts=cards[root])
        if world.events.event(event, timeout=5).status != 200:
            stream.undelivered.append(event)
    time.sleep(rng.uniform(0.0, 0.8))
    return fault


def test_sigkill_at_random_moments_loses_nothing_and_posts_nothing_twice(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    stream = Stream()
    faults: Counter[str] = Counter()
    redelivered = 0
    with scene(tmp_path) as world:
        for trial in range(TRIALS):
            faults[_trial(world, stream, rng, trial)] += 1
            redelivered += len(stream.undelivered)
            world.bot.kill()
            world.slack.faults.clear()
            world.mastodon.faults.clear()
            world.bot.start()
            for retry, event in enumerate(stream.undelivered, start=1):  # Slack redelivers
                assert world.events.event(event, retry_num=min(retry, 3)).status == 200
            stream.undelivered.clear()
            _settle(world, stream)
            _check(world, stream, trial)
    print(  # the figures RELIABILITY.md quotes (pytest -s)
        f"crash trials: {TRIALS} SIGKILLs, {len(stream.roots)} mentions, "
        f"{len(stream.replies)} replies, faults {dict(faults)}, {redelivered} events redelivered"
    )
    # What is asserted is asserted per trial, in _check, against what Slack and Mastodon hold.
