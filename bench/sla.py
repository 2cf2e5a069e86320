"""The response clock's timers at scale, the bot running as a real process against the
loopback fake Slack, next to a reference measured in the same run:

- notice lateness: 10,000 open conversations with running clocks, of which `--due` fall
  due in a one-minute window (a reminder `warn_before` ahead and the breach each); from each
  timer's moment to the notice's ts in the fake Slack. Reference: a bare timer (one thread
  that sleeps until each moment of the same schedule and posts chat.postMessage);
- the bot's CPU while it waits between due times, with every clock running (from
  /proc/<pid>/stat, user + system time over a quiet window).

The conversations, clocks and timers are written straight into the bot's store (the rows
ingest would write) while the bot is stopped; the bot then starts and finds them.
Run: python -m bench.sla   (writes the "Response clock" section of BENCHMARKS.md)
`/social stats` with the clock's figures at 1,000,000 conversations: python -m bench.stats.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.report import machine, percentile, write_section
from bot.settings import SlaSettings
from bot.sla import timers
from bot.sla.clock import BusinessHours
from bot.store import Conversation, Message, ResponseClock, Store, outbox
from bot.store.bulk import insert_returning_ids, new_row
from tests.e2e.harness import Scene, eventually, scene

OPEN = 10_000
DUE = 500  # clocks falling due while measured; the rest are due tomorrow
WINDOW = 60.0  # seconds over which the DUE clocks fall due
LEAD = 45.0  # seconds from seeding to the first due time: restart, then a quiet window
WARN = 10  # warn_before, seconds
TARGET = timedelta(hours=1)
SLA = SlaSettings(
    first_response=TARGET,
    next_response=timedelta(hours=2),
    warn_before=timedelta(seconds=WARN),
    business_hours=BusinessHours.parse("always"),
    escalate_to="S0SUPPORT",
)
CONFIG = f"""
[sla]
first_response = "1h"
next_response = "2h"
warn_before = "{WARN}s"
escalate_to = "S0SUPPORT"
"""


@dataclass(frozen=True)
class Lateness:
    notices: int
    expected: int
    within_1s: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def _lateness(late: list[float], expected: int) -> Lateness:
    return Lateness(
        notices=len(late),
        expected=expected,
        within_1s=sum(1 for s in late if s <= 1.0),
        p50_ms=statistics.median(late) * 1000,
        p99_ms=percentile(late, 0.99) * 1000,
        max_ms=max(late) * 1000,
    )


def _parents(world: Scene, count: int) -> list[str]:
    """Card messages in the fake Slack for the notices to thread under."""
    channel = world.slack.find_channel(world.channel)
    return [
        world.slack.store(channel, text=f"card {n}", bot_id=world.slack.bot_id).ts
        for n in range(count)
    ]


def seed(world: Scene, first_due: datetime, rng: random.Random) -> dict[str, datetime]:
    """OPEN conversations with cards and running first-response clocks; returns the due
    time of each card (by ts) that falls due in the window."""
    parents = _parents(world, OPEN)
    dues = [first_due + timedelta(seconds=rng.uniform(0, WINDOW)) for _ in range(DUE)]
    dues += [first_due + timedelta(days=1, seconds=rng.uniform(0, 3600)) for _ in parents[DUE:]]
    store = Store(world.database_url)
    try:
        with store.session() as session:
            ids = insert_returning_ids(
                session,
                Conversation,
                [
                    new_row(
                        Conversation,
                        {
                            "account": "acme-mastodon",
                            "network": "mastodon",
                            "remote_root": f"bench-{n}",
                            "slack_channel": world.channel,
                            "slack_ts": ts,
                            "author_handle": f"user{n}@remote.example",
                            "author_name": f"User {n}",
                            "opened_at": due - TARGET,
                            "last_inbound_at": due - TARGET,
                        },
                    )
                    for n, (ts, due) in enumerate(zip(parents, dues, strict=True))
                ],
            )
            session.execute(
                sa.insert(Message),
                [
                    {
                        "conversation_id": cid,
                        "account": "acme-mastodon",
                        "direction": "in",
                        "remote_id": f"bench-{n}",
                        "slack_channel": world.channel,
                        "slack_ts": ts,
                        "author_handle": f"user{n}@remote.example",
                        "text": f"@acme question {n}",
                        "created_at": due - TARGET,
                        "state": "posted",
                    }
                    for n, (cid, ts, due) in enumerate(zip(ids, parents, dues, strict=True))
                ],
            )
            session.execute(
                sa.insert(ResponseClock),
                [
                    timers.clock_values(cid, "acme-mastodon", due - TARGET, "first", due)
                    for cid, due in zip(ids, dues, strict=True)
                ],
            )
            outbox.enqueue_many(
                session,
                [
                    timer
                    for cid, due in zip(ids, dues, strict=True)
                    for timer in timers.timers_for(cid, world.channel, due, SLA)
                ],
            )
    finally:
        store.dispose()
    return dict(zip(parents[:DUE], dues[:DUE], strict=True))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_percent(pid: int, seconds: float) -> float:
    before, started = _cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (_cpu_seconds(pid) - before) / (time.monotonic() - started)


def _moments(due: datetime) -> list[tuple[str, datetime]]:
    return [("reminder", due - timedelta(seconds=WARN)), ("breach", due)]


def bot_lateness(world: Scene, dues: dict[str, datetime]) -> list[float]:
    """Seconds from each timer's moment to its notice in the card's thread."""
    late = []
    for parent, due in dues.items():
        thread = [m for m in world.slack.thread(world.channel, parent) if m["ts"] != parent]
        for (_, moment), notice in zip(_moments(due), thread, strict=False):
            late.append(float(notice["ts"]) - moment.timestamp())
        if len(thread) != 2:
            print(f"card {parent}: {len(thread)} notices instead of 2")
    return late


def bare_timer_lateness(world: Scene, first: datetime, rng: random.Random) -> list[float]:
    """The same schedule's shape, served by one thread that sleeps until each moment and
    posts chat.postMessage to the same fake Slack."""
    parents = _parents(world, DUE)
    schedule = sorted(
        (moment, parent)
        for parent in parents
        for _, moment in _moments(first + timedelta(seconds=rng.uniform(0, WINDOW)))
    )
    late: list[float] = []

    def run() -> None:
        with httpx.Client(
            base_url=world.slack.api_url,
            headers={"Authorization": f"Bearer {world.slack.token}"},
        ) as client:
            for moment, parent in schedule:
                time.sleep(max(0.0, moment.timestamp() - time.time()))
                answer = client.post(
                    "chat.postMessage",
                    data={"channel": world.channel, "thread_ts": parent, "text": "due"},
                ).json()
                late.append(float(answer["ts"]) - moment.timestamp())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return late


def measure(seed_value: int) -> tuple[Lateness, Lateness, float, float]:
    rng = random.Random(seed_value)
    with (
        tempfile.TemporaryDirectory(prefix="socialbridge-bench-") as directory,
        scene(Path(directory), extra_accounts=CONFIG, poll_seconds=20) as world,
    ):
        world.bot.stop()
        first_due = datetime.now(UTC) + timedelta(seconds=LEAD)
        dues = seed(world, first_due, rng)
        world.bot.start()
        assert world.bot.process is not None
        pid = world.bot.process.pid
        time.sleep(5)  # start-up: migrations checked, the first poll, the first lease
        quiet = (first_due - timedelta(seconds=WARN) - datetime.now(UTC)).total_seconds() - 3
        waiting_cpu = idle_cpu_percent(pid, quiet)
        eventually(
            lambda: all(len(world.slack.thread(world.channel, parent)) >= 3 for parent in dues),
            timeout=WINDOW + 120,
            what="every notice",
        )
        time.sleep(5)  # the card updates after the breaches
        after_cpu = idle_cpu_percent(pid, 20)
        bot = _lateness(bot_lateness(world, dues), 2 * DUE)
        bare_first = datetime.now(UTC) + timedelta(seconds=WARN + 2)
        bare = _lateness(bare_timer_lateness(world, bare_first, rng), 2 * DUE)
    return bot, bare, waiting_cpu, after_cpu


def _row(name: str, figures: Lateness) -> str:
    return (
        f"| {name} | {figures.notices:,} of {figures.expected:,} | {figures.within_1s:,} |"
        f" {figures.p50_ms:.0f} ms | {figures.p99_ms:.0f} ms | {figures.max_ms:.0f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    bot, bare, waiting_cpu, after_cpu = measure(args.seed)
    body = "\n".join(
        [
            f"`python -m bench.sla`, {datetime.now(UTC):%Y-%m-%d}. Goals: every notice within"
            " 1 s of its due time; the bot's CPU under 2 % between due times.",
            "",
            f"- Machine: {machine()}; load average {load:.1f} before the run. SQLite.",
            f"- {OPEN:,} open conversations with running clocks; {DUE:,} of them fall due at"
            f" random moments in {WINDOW:.0f} s, each with a reminder {WARN} s ahead and the"
            " breach, the others tomorrow.",
            "",
            "| timers | notices | within 1 s | p50 late | p99 late | max late |",
            "|---|---:|---:|---:|---:|---:|",
            _row("bot (outbox timers)", bot),
            _row("bare timer (reference)", bare),
            "",
            f"Bot CPU while {OPEN:,} clocks run and none is due: {waiting_cpu:.2f} % before the"
            f" window, {after_cpu:.2f} % after it (a poll every 20 s included).",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("Response clock", body)


if __name__ == "__main__":
    main()
