"""GET /metrics: the Prometheus text format, from one registry per process.

Counters count what this process did since it started (Prometheus handles restarts);
the queue depth and account health are read from the database at scrape time, so every
instance reports the shared queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.store import Job, utcnow

# Seconds from a job being written to its outcome: mostly the send delay and retries for
# replies, near zero otherwise.
# Thread reads per poll (bot/core/watch.py): the budget is 20, so a bucket sits on it.
THREAD_READ_BUCKETS = (0, 1, 5, 10, 19, 20, 21, 50)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class _StateCollector(Collector):
    def __init__(self, read: Callable[[], tuple[Mapping[str, int], Mapping[str, int]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queue, failing = self._read()
        depth = GaugeMetricFamily(
            "socialbridge_queue_depth", "Unfinished outbox jobs by kind.", labels=["kind"]
        )
        for kind, count in sorted(queue.items()):
            depth.add_metric([kind], count)
        yield depth
        health = GaugeMetricFamily(
            "socialbridge_account_consecutive_failures",
            "Failed polls in a row per account (0 = healthy).",
            labels=["account"],
        )
        for account, count in sorted(failing.items()):
            health.add_metric([account], count)
        yield health


class Metrics:
    def __init__(
        self, read_state: Callable[[], tuple[Mapping[str, int], Mapping[str, int]]]
    ) -> None:
        self.registry = CollectorRegistry()
        self.mentions = Counter(
            "socialbridge_mentions_ingested",
            "New posts stored from the networks.",
            ["account"],
            registry=self.registry,
        )
        self.replies = Counter(
            "socialbridge_replies_sent",
            "Replies the networks accepted.",
            ["account"],
            registry=self.registry,
        )
        self.failures = Counter(
            "socialbridge_failures",
            "Failed attempts: delivery jobs (by kind) and polls, by reason.",
            ["what", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "socialbridge_delivery_latency_seconds",
            "From a job being written to its success, by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.thread_reads = Histogram(
            "socialbridge_thread_reads_per_poll",
            "Watched threads read in one poll (Bluesky follow-ups without a mention).",
            ["account"],
            buckets=THREAD_READ_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(read_state))

    def polled(self, account: str, new: int, error: str | None) -> None:
        if new:
            self.mentions.labels(account).inc(new)
        if error:
            self.failures.labels(f"poll:{account}", _reason(error)).inc()

    def threads_read(self, account: str, reads: int) -> None:
        self.thread_reads.labels(account).observe(reads)

    def reply_sent(self, account: str) -> None:
        self.replies.labels(account).inc()

    def job_finished(self, job: Job, outcome: str, error: str | None) -> None:
        if outcome == "done":
            self.latency.labels(job.kind).observe((utcnow() - job.created_at).total_seconds())
        elif error:
            self.failures.labels(job.kind, _reason(error)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _reason(error: str) -> str:
    """A low-cardinality label from an error sentence: its words before any detail."""
    return error.split(":")[0].split("(")[0].strip()[:60] or "unknown"
