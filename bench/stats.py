"""Time `/social stats 30d` on 1,000,000 conversations and 3,000,000 messages.

    python -m bench.stats            # SQLite, and PostgreSQL when TEST_DATABASE_URL is set

Seeds each backend with one INSERT ... SELECT per table (a generated series, no ORM
objects; secondary indexes are dropped for the load and rebuilt after), then runs
compute_stats for the last 30 days five times and keeps the median. SQLite is a temporary
file, PostgreSQL a fresh schema in TEST_DATABASE_URL's database; both are removed after.
Results replace the "## /social stats" section of BENCHMARKS.md.

The data: a year of mentions, one every 31.5 s, on six accounts (two per network); 92 % are
answered (first response 20 s to about 90 min), 70 % claimed by one of 40 people, 97 % of
those older than two days closed; each conversation has three messages (two inbound and the
reply, or three inbound when unanswered) and one run of a 30-minute first-response clock,
so the answer includes the within-target figures (bot/sla/attainment.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import SQLModel

from bench.report import machine, write_section
from bot.stats import Stats, compute_stats
from bot.store import Store
from bot.store.waiting import open_conversations
from tests.dburls import database_url, postgres_base_url

CONVERSATIONS = 1_000_000
SPAN_SECONDS = 365 * 86400
RUNS = 5
SECTION = "/social stats"
TABLES = ("conversation", "message", "response_clock")
ACCOUNTS = [
    ("acme-mastodon", "mastodon"),
    ("acme-mastodon-de", "mastodon"),
    ("acme-bluesky", "bluesky"),
    ("acme-bluesky-de", "bluesky"),
    ("acme-x", "x"),
    ("acme-x-de", "x"),
]


@dataclass(frozen=True, slots=True)
class Result:
    backend: str
    version: str
    seed_seconds: float
    runs: dict[str, list[float]]  # label -> seconds per run
    stats: Stats


# ---- seeding -----------------------------------------------------------------------------


def _case(column: str, values: list[str]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE {column} {whens} END"


def _derived(series: str, size: int) -> str:
    """Per conversation number i: every figure the seed needs, as SQL over a series (i)."""
    return f"""
        WITH s AS ({series}),
        g AS (
            SELECT i,
                   i % 6 AS a,
                   (i - 1) * {SPAN_SECONDS} / {size} AS off,
                   20 + ((i * 7919) % 10007) % 900
                      + ((i * 104729) % 1009) % 8 * (((i * 7919) % 10007) % 600) AS fr,
                   (i * 7919) % 10007 AS h
            FROM s
        ),
        d AS (
            SELECT g.*,
                   ((i * 37) % 100 < 92 AND off + fr < {SPAN_SECONDS}) AS answered,
                   ((i * 61) % 100 < 70) AS claimed,
                   (i * 53) % 100 < (CASE WHEN off > {SPAN_SECONDS - 2 * 86400}
                                          THEN 40 ELSE 97 END)
                     AND off + fr + 600 + h * 8 < {SPAN_SECONDS} AS closed
            FROM g
        )
    """


def _conversation_sql(series: str, ts: Callable[[str], str], size: int) -> str:
    account = _case("a", [name for name, _ in ACCOUNTS])
    network = _case("a", [network for _, network in ACCOUNTS])
    return f"""
        INSERT INTO conversation (account, network, remote_root, slack_channel, slack_ts,
            status, private, author_handle, author_name, assignee, opened_at,
            last_inbound_at, first_response_at, last_response_at, claimed_at, closed_at,
            closed_by, reopened, first_response_seconds, close_seconds)
        {_derived(series, size)}
        SELECT {account}, {network}, 'r' || i, 'C0BENCH', i || '.000100',
               CASE WHEN closed THEN 'closed' WHEN claimed THEN 'claimed' ELSE 'open' END,
               FALSE, 'user' || (i % 50000) || '@example.social', 'User ' || (i % 50000),
               CASE WHEN claimed THEN 'U' || (i % 40) END,
               {ts("off")}, {ts("off + 10")},
               CASE WHEN answered THEN {ts("off + fr")} END,
               CASE WHEN answered THEN {ts("off + fr")} END,
               CASE WHEN claimed THEN {ts("off + 120")} END,
               CASE WHEN closed THEN {ts("off + fr + 600 + h * 8")} END,
               CASE WHEN closed THEN 'U' || ((i + 7) % 40) END,
               FALSE,
               CASE WHEN answered THEN fr END,
               CASE WHEN closed THEN fr + 600 + h * 8 END
        FROM d
    """


def _message_sql(series: str, ts: Callable[[str], str], size: int) -> str:
    account = _case("a", [name for name, _ in ACCOUNTS])
    out = "(k = 3 AND answered)"
    return f"""
        INSERT INTO message (conversation_id, account, direction, remote_id, remote_url,
            in_reply_to, slack_channel, slack_ts, slack_user, author_remote_id,
            author_handle, author_name, author_url, text, visibility, created_at, state,
            extra_json)
        {_derived(series, size)},
        k3 AS (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3)
        SELECT i, {account}, CASE WHEN {out} THEN 'out' ELSE 'in' END,
               'p' || i || '-' || k, 'https://example.social/p/' || i || '-' || k,
               CASE WHEN k > 1 THEN 'p' || i || '-1' END,
               'C0BENCH', i || '.00020' || k,
               CASE WHEN {out} THEN 'U' || ((i * 13) % 40) END,
               'a' || (i % 50000), 'user' || (i % 50000) || '@example.social',
               'User ' || (i % 50000), 'https://example.social/@user' || (i % 50000),
               'Hello @acme, my order number ' || i || ' has not arrived yet. Can you help?',
               'public',
               CASE k WHEN 1 THEN {ts("off")}
                      WHEN 2 THEN {ts("off + 10")}
                      ELSE (CASE WHEN answered THEN {ts("off + fr")} ELSE {ts("off + 20")} END)
               END,
               CASE WHEN NOT {out} THEN 'posted'
                    WHEN (i * 71) % 100 < 2 THEN 'failed' ELSE 'sent' END,
               '{{}}'
        FROM d CROSS JOIN k3
    """


def _clock_sql(series: str, ts: Callable[[str], str], size: int) -> str:
    """Each conversation's first-response clock, a 30-minute target from its opening,
    stopped by the answer (by whoever sent it) or else by the close."""
    return f"""
        INSERT INTO response_clock (conversation_id, account, phase, started_at, due_at,
            stopped_at, answered_by)
        {_derived(series, size)}
        SELECT i, {_case("a", [name for name, _ in ACCOUNTS])}, 'first', {ts("off")},
               {ts("off + 1800")},
               CASE WHEN answered THEN {ts("off + fr")}
                    WHEN closed THEN {ts("off + fr + 600 + h * 8")} END,
               CASE WHEN answered THEN 'U' || ((i * 13) % 40) END
        FROM d
    """


def _sqlite_parts(start: int, size: int) -> tuple[str, Callable[[str], str]]:
    series = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
        f" WHERE i < {size}) SELECT i FROM n"
    )

    def ts(offset: str) -> str:
        # The text SQLAlchemy stores for a datetime on SQLite.
        return f"strftime('%Y-%m-%d %H:%M:%S', {start} + ({offset}), 'unixepoch') || '.000000'"

    return series, ts


def _postgres_parts(start: int, size: int) -> tuple[str, Callable[[str], str]]:
    series = f"SELECT i FROM generate_series(1::bigint, {size}::bigint) AS i"

    def ts(offset: str) -> str:
        return f"to_timestamp({start} + ({offset}))"

    return series, ts


def seed(store: Store, now: datetime, size: int) -> None:
    """Fill an empty, migrated store; secondary indexes are rebuilt after the load."""
    start = int(now.timestamp()) - SPAN_SECONDS
    series, ts = (_sqlite_parts if store.is_sqlite else _postgres_parts)(start, size)
    indexes = [index for name in TABLES for index in SQLModel.metadata.tables[name].indexes]
    with store.engine.begin() as connection:
        for index in indexes:
            connection.exec_driver_sql(f"DROP INDEX {index.name}")
        connection.execute(sa.text(_conversation_sql(series, ts, size)))
        connection.execute(sa.text(_message_sql(series, ts, size)))
        connection.execute(sa.text(_clock_sql(series, ts, size)))
        for index in indexes:
            index.create(connection)
    if store.is_sqlite:
        # Outside a transaction (the engine begins every one with BEGIN IMMEDIATE): fold the
        # load's WAL into the database file, as the bot's own checkpoints do over time.
        raw = store.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        # What autovacuum does after a bulk load: statistics, and the visibility map that
        # lets index-only scans skip the table.
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in TABLES:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
            # Write the load out now, not while the timed runs read (needs superuser or
            # pg_checkpoint, which the test database's user has).
            conn.exec_driver_sql("CHECKPOINT")


# ---- timing ------------------------------------------------------------------------------


def time_runs(run: Callable[[], object]) -> list[float]:
    run()  # warm the cache and the connection pool; not counted
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def bench(backend: str, store: Store, now: datetime, size: int) -> Result:
    store.upgrade()
    started = time.perf_counter()
    seed(store, now, size)
    seed_seconds = time.perf_counter() - started
    with store.engine.connect() as connection:
        counts = connection.exec_driver_sql(
            "SELECT (SELECT COUNT(*) FROM conversation), (SELECT COUNT(*) FROM message)"
        ).one()
        version = str(
            connection.exec_driver_sql(
                "SELECT sqlite_version()" if store.is_sqlite else "SHOW server_version"
            ).scalar()
        ).split()[0]
    assert tuple(counts) == (size, 3 * size), counts
    print(
        f"{backend}: seeded {counts[0]:,} conversations, {counts[1]:,} messages "
        f"in {seed_seconds:.0f} s"
    )

    def stats_for(days: int | None, **scope: str | None) -> Callable[[], Stats]:
        since = None if days is None else now - timedelta(days=days)
        options = {"account": None, "network": None, **scope}
        return lambda: compute_stats(store, since=since, until=now, **options)

    runs = {
        "stats 30d": time_runs(stats_for(30)),
        "stats 7d": time_runs(stats_for(7)),
        "stats 30d acme-x": time_runs(stats_for(30, account="acme-x")),
        "stats 30d mastodon": time_runs(stats_for(30, network="mastodon")),
        "stats all": time_runs(stats_for(None)),
        "open (20 of the backlog)": time_runs(
            lambda: open_conversations(store, assignee=None, limit=20)
        ),
    }
    for label, times in runs.items():
        print(f"{backend}: {label}: median {statistics.median(times) * 1000:.0f} ms")
    return Result(backend, version, seed_seconds, runs, stats_for(30)())


@contextmanager
def sqlite_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory(prefix="socialbridge-bench-") as directory:
        store = Store(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            yield store
        finally:
            store.dispose()


@contextmanager
def postgres_store() -> Iterator[Store]:
    with (
        tempfile.TemporaryDirectory() as directory,
        database_url("postgresql", Path(directory)) as url,
    ):
        store = Store(url)
        try:
            yield store
        finally:
            store.dispose()


# ---- report ------------------------------------------------------------------------------


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.0f} ms"


def report(results: list[Result], now: datetime, *, load: float, size: int) -> str:
    stats = results[0].stats
    lines = [
        f"`python -m bench.stats`, {now:%Y-%m-%d}. Goal: `/social stats 30d` under 300 ms.",
        "",
        f"- Machine: {machine()} ({_cpu_model()}); load average {load:.1f} before the run"
        " (other work shared the machine, so single figures vary by a few tens of ms).",
        f"- Data: {size:,} conversations over 365 days on 6 accounts (3 networks)"
        f" and {3 * size:,} messages; 92 % answered, 70 % claimed by 40 people."
        f" The last 30 days: {stats.opened:,} conversations opened, {stats.inbound:,} inbound"
        f" messages, {stats.replies:,} replies sent; the backlog (not closed)"
        f" {stats.open_now:,} conversations.",
        "- SQLite: a file, WAL, no ANALYZE (as the bot runs it). PostgreSQL: default"
        " configuration (shared_buffers 128 MB), VACUUM ANALYZE and CHECKPOINT after the"
        " load (what autovacuum and the checkpointer do in time).",
        f"- Each figure: median of {RUNS} runs after one warm-up, one `compute_stats` call"
        " (every query of the answer) or one `open_conversations` call, in-process,"
        " database on the same machine.",
        "",
        "| query | " + " | ".join(f"{r.backend} {r.version}" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for label in results[0].runs:
        lines.append(f"| `{label}` | " + " | ".join(_ms(r.runs[label]) for r in results) + " |")
    lines.append(
        "| seeding (INSERT ... SELECT, index rebuild) | "
        + " | ".join(f"{r.seed_seconds:.0f} s" for r in results)
        + " |"
    )
    same = all(r.stats == stats for r in results)
    lines += [
        "",
        f"`stats 30d` says: first response median {stats.first_response_median} s, 90th"
        f" percentile {stats.first_response_p90} s, close median {stats.close_median} s,"
        f" {len(stats.per_person)} people; {_clock_figures(stats)}; every backend gives the"
        f" same answer: {'yes' if same else 'NO'}.",
        "",
        "How the queries work: the three percentiles sort the window's durations; every"
        " other figure, the within-target counts included, is an index range read without"
        " sorting. `stats all` sorts the whole history for its percentiles, so it grows with"
        " the database; the windowed figures grow with the window only. The command acks"
        " before it computes, so a slow `all` still answers.",
        "",
    ]
    return "\n".join(lines)


def _clock_figures(stats: Stats) -> str:
    clock = stats.attainment
    if clock is None:
        return "no clock runs"
    return (
        f"answered within target {clock.first_within:,} of"
        f" {clock.first_within + clock.first_breached:,} first responses,"
        f" {clock.breaches:,} breaches, {len(clock.per_person)} people who answered"
    )


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    found = re.search(r"model name\s*:\s*(.+)", text)
    return found.group(1).strip() if found else "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=CONVERSATIONS)
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    size = args.conversations
    now = datetime.now(UTC).replace(microsecond=0)
    load = os.getloadavg()[0]
    results = []
    with sqlite_store() as store:
        results.append(bench("SQLite", store, now, size))
    if postgres_base_url() is not None:
        with postgres_store() as store:
            results.append(bench("PostgreSQL", store, now, size))
    else:
        print("TEST_DATABASE_URL is not set: PostgreSQL skipped")
    section = report(results, now, load=load, size=size)
    print(section)
    if not args.no_write and size == CONVERSATIONS:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
