"""Issue 9 item 7's scenario, in real time: one conversation receives 3 posts/s for 60 s
while Slack allows 1 message/s per channel; new customers mention the brand meanwhile.

Measures each new customer's latency, from the poll that fetched the mention to its card
arriving at the fake Slack, and as the reference in the same run the latency of a card in
the quiet channel before the flood. Also checks that the flood arrived whole and in order.
Run: python -m bench.fairness [--seconds 60] [--rate 3]   (writes BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import machine, write_section
from tests.e2e.harness import Scene, eventually, scene

SLACK_RATE = 1.0  # messages per second per channel, as Slack documents
SLACK_BURST = 3
NEWCOMER_EVERY = 10.0  # seconds between new customers during the flood


def fetched_at(world: Scene, status_id: str) -> float:
    """When the poll whose answer carried the status was answered."""
    for call in world.mastodon.requests("/api/v1/notifications"):
        answer = call.response if isinstance(call.response, list) else []
        if any((n.get("status") or {}).get("id") == status_id for n in answer):
            return float(call.answered_at or call.time)
    raise AssertionError(f"no poll fetched {status_id}")


def card_arrived_at(world: Scene, text: str) -> float:
    for call in world.slack.calls("chat.postMessage"):
        if call.ok and text in str(call.params.get("text")) and not call.params.get("thread_ts"):
            return float(call.time)
    raise AssertionError(f"no card for {text!r}")


def newcomer(world: Scene, label: str) -> dict[str, Any]:
    customer = world.mastodon.add_account(label, label.title(), domain="remote.example")
    return world.mastodon.customer_posts(customer, f"@acme {label}-card")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=3.0, help="flood posts per second")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        scene(Path(tmp), extra_slack="channel_posts_per_second = 1") as world,
    ):
        world.slack.rate_limit_channels(SLACK_RATE, burst=SLACK_BURST)
        quiet = newcomer(world, "quiet")
        world.card_for("quiet-card")
        flooder = world.mastodon.add_account("flooder", "Flooder", domain="remote.example")
        root = world.mastodon.customer_posts(flooder, "@acme flood-root")
        world.card_for("flood-root")
        time.sleep(2)  # the channel's slots are free again: the flood starts from rest

        start = time.monotonic()
        newcomers: list[tuple[str, dict[str, Any]]] = []
        posts = round(args.seconds * args.rate)
        for number in range(posts):
            time.sleep(max(0.0, start + number / args.rate - time.monotonic()))
            world.mastodon.customer_posts(
                flooder, f"@acme flood-{number:04d}", in_reply_to_id=root["id"]
            )
            elapsed = number / args.rate
            if int(elapsed // NEWCOMER_EVERY) >= len(newcomers) and elapsed % NEWCOMER_EVERY >= 5:
                label = f"newcomer{len(newcomers):02d}"
                newcomers.append((label, newcomer(world, label)))
        flood_ended = time.monotonic()

        card = world.card_for("flood-root")

        def thread() -> list[Any]:
            return world.slack.thread(world.channel, str(card["ts"]))

        eventually(
            lambda: len(thread()) >= posts and world.bot.health()["queue_depth"] == 0,
            timeout=posts / SLACK_RATE * 2 + 120,
            what="the whole flood",
        )
        drained = time.monotonic()
        quiet_latency = card_arrived_at(world, "quiet-card") - fetched_at(world, quiet["id"])
        latencies = [
            card_arrived_at(world, f"{label}-card") - fetched_at(world, status["id"])
            for label, status in newcomers
        ]
        follow_ups = [str(m["text"]).split("flood-")[1].split()[0] for m in thread()]
        in_order = follow_ups == [f"{n:04d}" for n in range(posts)]
        newcomer_cards = sum(
            "-card" in str(m["text"]) and "newcomer" in str(m["text"])
            for m in world.slack.messages(world.channel)
        )
        limited = world.slack.rate_limited_count

    worst = max(latencies)
    order = "in order" if in_order else "OUT OF ORDER"
    write_section(
        "Fair queue: a flooding conversation and new customers",
        f"""
`python -m bench.fairness` — {machine()}; one conversation receives
{args.rate:g} posts/s for {args.seconds:g} s ({posts} follow-ups) while the fake Slack
enforces {SLACK_RATE:g} message/s per channel with bursts of {SLACK_BURST} (429 +
Retry-After beyond) and the bot paces at 1 message/s; a new customer mentions the brand
every {NEWCOMER_EVERY:g} s of the flood. Latency: from the poll that fetched the mention
to the card arriving at Slack.

| measure | result | goal |
|---|---|---|
| new customer's card, worst of {len(latencies)} | {worst:.2f} s | within 5 s |
| new customer's card, median | {statistics.median(latencies):.2f} s | |
| reference: a card in the quiet channel, same run | {quiet_latency:.2f} s | |
| worst, in Slack's posting intervals (1 / rate) | {worst * SLACK_RATE:.1f} | |
| flood delivered | {len(follow_ups)} of {posts}, {order} | all, in order |
| new customers' cards | {newcomer_cards} of {len(latencies)} | each once |
| flood's backlog posted, after its last post came in | {drained - flood_ended:.0f} s | |
| 429s received | {limited} | |
""",
    )
    print(
        f"new card latency: worst {worst:.2f} s, median {statistics.median(latencies):.2f} s "
        f"(each: {', '.join(f'{x:.2f}' for x in latencies)}); quiet channel "
        f"{quiet_latency:.2f} s; flood {len(follow_ups)}/{posts} in order={in_order}; "
        f"{newcomer_cards} newcomer cards; {limited} 429s"
    )


if __name__ == "__main__":
    main()
