"""Bridge benchmarks against the loopback fakes, the bot running as a real process.

- reply latency: from the signed Slack event leaving the test to the Mastodon POST
  arriving (send delay 0), over 1,000 replies, sent one at a time;
- ingest throughput: a backlog of 5,000 mentions, from the bot's start to the last card in
  the fake Slack;
- resident memory of an idle `run`.

Run: python -m bench.bridge   (writes the "Bridge" section of BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.report import machine, percentile, write_section
from tests.e2e.harness import Scene, eventually, scene


def reply_latency(world: Scene, replies: int) -> list[float]:
    conversations = []
    customer = world.mastodon.add_account("bench", "Bench", domain="remote.example")
    for number in range(max(1, replies // 20)):
        status = world.mastodon.customer_posts(customer, f"@acme latency thread {number:04d}")
        conversations.append((status, world.card_for(f"latency thread {number:04d}")))
    latencies = []
    for number in range(replies):
        status, card = conversations[number % len(conversations)]
        token = f"answer-{number:05d}"
        event = world.slack.user_posts(world.channel, world.staff, token, thread_ts=str(card["ts"]))
        sent_at = time.time()
        delivery = world.events.event(event)
        assert delivery.status == 200, delivery

        def arrived(expected: str = token) -> float | None:
            for call in reversed(world.mastodon.requests("POST /api/v1/statuses")[-3:]):
                if expected in str(call.params.get("status", "")):
                    return float(call.time)
            return None

        latencies.append(eventually(arrived, timeout=30, what=token) - sent_at)
    return latencies


def ingest_throughput(world: Scene, mentions: int) -> float:
    world.bot.stop()
    customer = world.mastodon.add_account("backlog", "Backlog", domain="remote.example")
    for number in range(mentions):
        world.mastodon.customer_posts(customer, f"@acme backlog {number:05d}")
    before = len(world.slack.messages(world.channel))
    started = time.time()
    world.bot.start()

    # Look rarely and cheaply: the fake Slack shares this process, and copying thousands
    # of messages every few milliseconds would slow the fake, not the bot.
    deadline = time.monotonic() + 600
    while len(world.slack.messages(world.channel)) - before < mentions:
        assert time.monotonic() < deadline, "the backlog did not reach Slack in 10 minutes"
        time.sleep(1.0)
    posts = [c.answered_at or c.time for c in world.slack.requests("chat.postMessage") if c.ok]
    return mentions / (max(posts) - started)


def idle_rss_mb(world: Scene) -> float:
    time.sleep(5)
    assert world.bot.process is not None
    status = Path(f"/proc/{world.bot.process.pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--mentions", type=int, default=5000)
    args = parser.parse_args()
    # "No artificial rate limit": the bot's own per-channel pacing is lifted too (every
    # mention here goes to one channel; real Slack would allow about one per second).
    unpaced = "channel_posts_per_second = 1000000"
    with tempfile.TemporaryDirectory() as tmp, scene(Path(tmp), extra_slack=unpaced) as world:
        rss = idle_rss_mb(world)
        latencies = reply_latency(world, args.replies)
        throughput = ingest_throughput(world, args.mentions)
    p50 = statistics.median(latencies) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    write_section(
        "Bridge",
        f"""
`python -m bench.bridge` — {machine()}; SQLite store; bot as a real process in HTTP mode,
loopback fake Slack and fake Mastodon, send delay 0, no rate limits.

| measure | result | goal |
|---|---|---|
| Slack event → Mastodon request, p50 ({len(latencies)} replies) | {p50:.1f} ms | |
| Slack event → Mastodon request, p99 | {p99:.1f} ms | < 50 ms |
| backlog of {args.mentions} mentions → fake Slack | {throughput:.0f} mentions/s | > 200/s |
| resident memory of an idle `run` | {rss:.0f} MB | < 120 MB |

Where the time goes (py-spy on the bot): the bot is CPU-bound on one core (the GIL) at
about 6 ms of CPU per mention: SQLAlchemy ORM work in the short transactions of each job
(lease, load, record and done) and slack_sdk opening a new connection per call. Leasing
ahead and smaller ingest batches were tried and changed nothing measurable. Earlier runs
of this benchmark reported about 85 mentions/s because the bot's own per-channel pacing
(100/s in the test harness) capped it; the pacing is now lifted here. The ingest goal of
200/s is not met on this 2-core machine; several instances on one PostgreSQL share the
queue (tests/faults/test_two_instances.py), and Slack's own limit of about one message
per second per channel is far below either figure. Latency moves with the machine's load:
on 2026-11-27 runs gave a p99 between 24 and 51 ms.
""",
    )
    print(f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {throughput:.0f} mentions/s, {rss:.0f} MB")


if __name__ == "__main__":
    main()
