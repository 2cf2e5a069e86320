"""Bridge benchmarks against the loopback fakes, the bot running as a real process, each
next to a reference measured in the same run (bench/bare.py):

- reply latency: from the signed Slack event leaving the bench to the Mastodon POST
  arriving (send delay 0), over 1,000 replies sent one at a time; reference: the bare relay
  (check the signature, POST the status, answer);
- ingest throughput: a backlog of 5,000 mentions, from the start to the last card in the
  fake Slack; reference: the bare forwarder (poll, post, cursor in memory, no store);
- resident memory of an idle `run`.

The bot runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.
Run: python -m bench.bridge   (writes the "Bridge" section of BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.report import machine, percentile, write_section
from tests.dburls import database_url, postgres_base_url
from tests.e2e.harness import SIGNING_SECRET, Scene, eventually, free_port, scene

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    p50_ms: float
    p99_ms: float
    replies: int
    mentions_per_s: float
    rss_mb: float | None = None


def _latencies(world: Scene, send: object, replies: int, threads: list[str]) -> list[float]:
    """Send `replies` thread replies one at a time through `send` (an EventSender) and
    return, for each, the seconds until its text reached the fake Mastodon."""
    latencies = []
    for number in range(replies):
        token = f"answer-{number:05d}-{time.monotonic_ns()}"
        event = world.slack.user_posts(
            world.channel, world.staff, token, thread_ts=threads[number % len(threads)]
        )
        sent_at = time.time()
        delivery = send.event(event)  # type: ignore[attr-defined]
        assert delivery.status == 200, delivery

        def arrived(expected: str = token) -> float | None:
            for call in reversed(world.mastodon.requests("POST /api/v1/statuses")[-3:]):
                if expected in str(call.params.get("status", "")):
                    return float(call.time)
            return None

        latencies.append(eventually(arrived, timeout=30, what=token) - sent_at)
    return latencies


def bot_reply_latency(world: Scene, replies: int) -> list[float]:
    customer = world.mastodon.add_account("bench", "Bench", domain="remote.example")
    threads = []
    for number in range(max(1, replies // 20)):
        world.mastodon.customer_posts(customer, f"@acme latency thread {number:04d}")
        threads.append(str(world.card_for(f"latency thread {number:04d}")["ts"]))
    return _latencies(world, world.events, replies, threads)


def relay_reply_latency(world: Scene, replies: int) -> list[float]:
    customer = world.mastodon.add_account("relayed", "Relayed", domain="remote.example")
    status = world.mastodon.customer_posts(customer, "@acme a post for the bare relay")
    thread = str(world.slack.user_posts(world.channel, world.staff, "relay thread")["ts"])
    port = free_port()
    relay = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.bare", "relay", "--port", str(port)),
            *("--signing-secret", SIGNING_SECRET, "--mastodon", world.mastodon.base_url),
            *("--mastodon-token", world.mastodon.token, "--in-reply-to", str(status["id"])),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert relay.stdout is not None and relay.stdout.readline().strip() == b"ready"
        sender = world.slack.event_sender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        return _latencies(world, sender, replies, [thread])
    finally:
        relay.terminate()
        relay.wait(timeout=10)


def _backlog(world: Scene, name: str, mentions: int) -> None:
    customer = world.mastodon.add_account(name, name.title(), domain="remote.example")
    for number in range(mentions):
        world.mastodon.customer_posts(customer, f"@acme {name} {number:05d}")


def _newest_notification(world: Scene) -> str:
    page = httpx.get(
        f"{world.mastodon.base_url}/api/v1/notifications",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {world.mastodon.token}"},
    ).json()
    return str(page[0]["id"])


def _cards_per_second(world: Scene, since: int, started: float) -> float:
    posts = [c.answered_at or c.time for c in world.slack.requests("chat.postMessage")[since:]]
    return len(posts) / (max(posts) - started)


def bot_ingest(world: Scene, mentions: int) -> float:
    world.bot.stop()
    _backlog(world, "backlog", mentions)
    before = len(world.slack.messages(world.channel))
    since = len(world.slack.requests("chat.postMessage"))
    started = time.time()
    world.bot.start()
    # Look rarely and cheaply: the fake Slack shares this process, and copying thousands
    # of messages every few milliseconds would slow the fake, not the bot.
    deadline = time.monotonic() + 600
    while len(world.slack.messages(world.channel)) - before < mentions:
        assert time.monotonic() < deadline, "the backlog did not reach Slack in 10 minutes"
        time.sleep(1.0)
    return _cards_per_second(world, since, started)


def forwarder_ingest(world: Scene, mentions: int) -> float:
    world.bot.stop()
    cursor = _newest_notification(world)
    _backlog(world, "forwarded", mentions)
    since = len(world.slack.requests("chat.postMessage"))
    started = time.time()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.bare", "forward", "--count", str(mentions)),
            *("--mastodon", world.mastodon.base_url, "--mastodon-token", world.mastodon.token),
            *("--slack", world.slack.api_url, "--slack-token", world.slack.token),
            *("--channel", world.channel, "--cursor", cursor),
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    )
    assert json.loads(done.stdout)["forwarded"] == mentions, done.stdout
    return _cards_per_second(world, since, started)


def idle_rss_mb(world: Scene) -> float:
    time.sleep(5)
    assert world.bot.process is not None
    status = Path(f"/proc/{world.bot.process.pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024


def _figures(latencies: list[float], throughput: float, rss: float | None = None) -> Figures:
    return Figures(
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        replies=len(latencies),
        mentions_per_s=throughput,
        rss_mb=rss,
    )


def measure(backend: str, replies: int, mentions: int) -> tuple[Figures, Figures]:
    """The bot's figures on `backend`, and the bare references' from the same fakes."""
    # "No artificial rate limit": the bot's own per-channel pacing is lifted too (every
    # mention here goes to one channel; real Slack would allow about one per second).
    unpaced = "channel_posts_per_second = 1000000"
    with (
        tempfile.TemporaryDirectory() as tmp,
        database_url(backend, Path(tmp)) as url,
        scene(Path(tmp), database_url=url, extra_slack=unpaced) as world,
    ):
        rss = idle_rss_mb(world)
        bot = _figures(bot_reply_latency(world, replies), bot_ingest(world, mentions), rss)
        bare = _figures(relay_reply_latency(world, replies), forwarder_ingest(world, mentions))
    return bot, bare


def _rows(backend: str, bot: Figures, bare: Figures, mentions: int) -> str:
    ingest_ratio = bot.mentions_per_s / bare.mentions_per_s
    p99_ratio = bot.p99_ms / bare.p99_ms
    rss = f"{bot.rss_mb:.0f} MB" if bot.rss_mb is not None else "–"
    return "\n".join(
        [
            f"| {backend}: backlog of {mentions} mentions → fake Slack | "
            f"{bot.mentions_per_s:.0f} mentions/s | {bare.mentions_per_s:.0f} mentions/s | "
            f"{ingest_ratio:.2f} | ≥ 1000/s and ≥ 0.5 |",
            f"| {backend}: Slack event → Mastodon request, p50 ({bot.replies} replies) | "
            f"{bot.p50_ms:.1f} ms | {bare.p50_ms:.1f} ms | {bot.p50_ms / bare.p50_ms:.2f} | |",
            f"| {backend}: Slack event → Mastodon request, p99 | {bot.p99_ms:.1f} ms | "
            f"{bare.p99_ms:.1f} ms | {p99_ratio:.2f} | ≤ 10 ms, ratio ≤ 3 |",
            f"| {backend}: resident memory of an idle `run` | {rss} | | | ≤ 100 MB |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--mentions", type=int, default=5000)
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if postgres_base_url() else [])
    rows = []
    for backend in backends:
        bot, bare = measure(backend, args.replies, args.mentions)
        rows.append(_rows(backend, bot, bare, args.mentions))
        print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    body = f"""
`python -m bench.bridge` — {machine()}, load average {load:.1f} at the end; bot as a real
process in HTTP mode, loopback fake Slack and fake Mastodon in the bench process, send
delay 0, no rate limits. Reference: bench/bare.py in the same run against the same fakes
(the bare forwarder for ingest, the bare relay for replies); ratio = bot / reference.

| measure | bot | reference | ratio | goal |
|---|---:|---:|---:|---|
""" + "\n".join(rows)
    if not args.no_write:
        write_section("Bridge", body)


if __name__ == "__main__":
    main()
