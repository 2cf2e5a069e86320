"""The outbox worker: lease a job, run its performer, record the outcome or the failure.

Woken as soon as a job is written (`wake()`); otherwise it sleeps until the next job is
due, at most `idle_seconds`, which is the safety net for jobs written by another instance.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlmodel import Session

from bot.domain import DeliveryError, RateLimited
from bot.jobkinds import HELD_EVENT, POST_INBOUND, REWRITE_ERASED
from bot.pacing import ChannelPacer
from bot.settings import DeliverySettings
from bot.store import Job, Store, outbox, utcnow

logger = logging.getLogger(__name__)

Record = Callable[[Session], None]
Performer = Callable[[Job], Record | None]
GaveUp = Callable[[Session, Job, str], None]
# Reads, in the lease's transaction, the rows the leased jobs' performers start from.
Preload = Callable[[Session, Sequence[Job]], None]
# job, outcome ("done" | "retry" | "failed"), the error's reason when it failed
Observer = Callable[[Job, str, str | None], None]

# Kinds that must never be dropped for a passing failure: a mention that never reaches
# Slack, a reply held until its card is recorded, or an erasure's promised Slack rewrite
# (bot/erasure_slack.py) is lost for good. They retry (with capped backoff) until a
# permanent error.
PERSISTENT_KINDS = frozenset({POST_INBOUND, HELD_EVENT, REWRITE_ERASED})

# Leased jobs per worker, running and queued: 2 keeps every worker busy between leases.
# The queued ones hold their lease while they wait: at most one worker's run of jobs, far
# inside lease_seconds even when each one takes its whole HTTP timeout.
QUEUED_PER_WORKER = 2


def backoff_seconds(attempts: int, *, base: float, cap: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries of many
    jobs that failed together spread out (https://aws.amazon.com/blogs/architecture/
    exponential-backoff-and-jitter/). Retries here are durable rows, not in-process loops,
    so a retry library's sleep-and-call loop does not fit; only the delay is computed."""
    ceiling = min(cap, base * 2.0 ** max(0, attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class DeliveryWorker:
    """One dispatcher thread leases jobs while a worker is free and hands them to a pool.

    A single leaser means the workers never race each other for the same rows; several
    instances still share the queue through the database's row locks.
    """

    def __init__(
        self,
        store: Store,
        performers: Mapping[str, Performer],
        *,
        owner: str,
        settings: DeliverySettings,
        gave_up: GaveUp,
        observe: Observer | None = None,
        idle_seconds: float = 5.0,
        pacer: ChannelPacer | None = None,
        preload: Preload | None = None,
    ) -> None:
        self.store = store
        self.pacer = pacer or ChannelPacer()
        self.performers = performers
        self.owner = owner
        self.settings = settings
        self.gave_up = gave_up
        self.observe = observe
        self.idle_seconds = idle_seconds
        self.preload = preload
        self._condition = threading.Condition()
        self._generation = 0
        self._stopping = threading.Event()
        # Jobs leased and not finished (running, or queued in the pool).
        self._in_flight = 0
        # Jobs done whose outcome the dispatcher has not written yet.
        self._finished: list[tuple[Job, Record | None]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._dispatcher: threading.Thread | None = None

    def wake(self) -> None:
        """New work was written (or a job finished and may have unblocked the next one)."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="delivery")
        self._dispatcher = threading.Thread(target=self._dispatch, name="outbox", daemon=True)
        self._dispatcher.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the jobs in flight, then hand back any lease still held."""
        self._stopping.set()
        self.wake()
        if self._dispatcher is not None:
            self._dispatcher.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with self._condition:
            finished, self._finished = self._finished, []
        if finished:
            with self.store.session() as session:
                _record_all(session, finished, one_by_one=True)
        released = outbox.release(self.store, owner=self.owner)
        if released:
            logger.info("returned %d leased jobs to the queue", released)

    def _dispatch(self) -> None:
        """Lease in batches, and record finished jobs in the same transaction.

        A lease computes the fair order over a window of jobs (bot/store/outbox.py), which
        costs about the same for one job as for ten, and leasing one job per finished job
        made it a third of the bot's CPU under a backlog; a transaction per finished job
        was most of the rest (BENCHMARKS.md, profile of 2026-12-04). So up to
        QUEUED_PER_WORKER x workers jobs are leased ahead; the next lease waits until a
        worker's worth has finished, and the outcomes that came in meanwhile are written in
        the lease's transaction. An idle worker leases at once, so a reply on a quiet bot
        does not wait."""
        assert self._pool is not None
        workers = self.settings.workers
        capacity = workers * QUEUED_PER_WORKER
        while not self._stopping.is_set():
            with self._condition:
                while (
                    self._in_flight > capacity - workers
                    and not self._finished
                    and not self._stopping.is_set()
                ):
                    self._condition.wait()
                finished, self._finished = self._finished, []
                free = capacity - self._in_flight if self._in_flight <= capacity - workers else 0
                generation = self._generation
            jobs: list[Job] = []
            timeout = self.idle_seconds
            try:
                jobs, paced_for = self._record_and_lease(finished, free)
                if not jobs and free:
                    timeout = self._sleep_seconds(outbox.next_due(self.store), paced_for)
            except Exception:
                logger.exception("outbox: database error while leasing; retrying")
                with self._condition:  # their outcomes are written at the next try
                    self._finished[:0] = finished
                timeout = min(timeout, 1.0)
                finished = []
            with self._condition:
                self._in_flight += len(jobs)
            for job in jobs:
                self._pool.submit(self._run_in_slot, job)
            if not free or len(jobs) == free:
                continue  # full (the loop's head waits for room), or there may be more
            with self._condition:
                if (
                    self._generation == generation
                    and not self._finished
                    and not self._stopping.is_set()
                ):
                    self._condition.wait(timeout)

    def _record_and_lease(
        self, finished: list[tuple[Job, Record | None]], limit: int
    ) -> tuple[list[Job], float | None]:
        """In one transaction: write the outcomes of finished jobs, lease up to `limit`
        more, none for a channel without room (extra jobs for a channel that filled up
        within this batch go straight back), and read what the leased jobs start from
        (`preload`). Also how long until a paused channel has room again."""
        paused, paced_for = self.pacer.paused()
        if not finished and not (limit and outbox.anything_to_lease(self.store, paused)):
            return [], paced_for
        try:
            recorded, jobs, runnable = self._one_turn(finished, limit, paused, one_by_one=False)
        except _RecordFailed:  # its transaction is rolled back: again, each in a savepoint
            recorded, jobs, runnable = self._one_turn(finished, limit, paused, one_by_one=True)
        for job in recorded:
            self._observe(job, "done", None)
        if len(runnable) < len(jobs):
            paced_for = self.pacer.paused()[1]
        return runnable, paced_for

    def _one_turn(
        self,
        finished: list[tuple[Job, Record | None]],
        limit: int,
        paused: Sequence[str],
        *,
        one_by_one: bool,
    ) -> tuple[list[Job], list[Job], list[Job]]:
        """_record_and_lease's transaction: the jobs written, leased, and runnable."""
        with self.store.session() as session:
            recorded = _record_all(session, finished, one_by_one=one_by_one)
            jobs = outbox.lease_in(
                session,
                owner=self.owner,
                lease_seconds=self.settings.lease_seconds,
                limit=limit,
                paused_channels=paused,
            )
            runnable = [
                job for job in jobs if job.channel is None or self.pacer.try_take(job.channel)
            ]
            outbox.unlease_in(session, [job for job in jobs if job not in runnable])
            if runnable and self.preload is not None:
                self.preload(session, runnable)
        return recorded, jobs, runnable

    def _run_in_slot(self, job: Job) -> None:
        try:
            self._run(job)
        finally:
            # A worker is free, and its outcome is in _finished or already written (a
            # failure, which wakes the dispatcher itself): notify, with no new generation,
            # so the dispatcher takes a turn only when there is room or something to write.
            with self._condition:
                self._in_flight -= 1
                self._condition.notify_all()

    def _sleep_seconds(self, due: datetime | None, paced_for: float | None) -> float:
        waits = [self.idle_seconds]
        if due is not None:
            waits.append((due - utcnow()).total_seconds())
        if paced_for is not None:
            waits.append(paced_for)
        return max(0.005, min(waits))

    def _run(self, job: Job) -> None:
        performer = self.performers.get(job.kind)
        try:
            if performer is None:
                raise DeliveryError(f"unknown job kind {job.kind!r}", permanent=True)
            try:
                record = performer(job)
            finally:  # the post is answered (or failed): its slot cools down from now
                if job.channel is not None:
                    self.pacer.answered(job.channel)
        except DeliveryError as exc:
            self._failed(job, exc)
            return
        except Exception as exc:  # a bug: keep the job and the worker, record what happened
            logger.exception("job %s (%s) crashed", job.id, job.kind)
            self._failed(job, DeliveryError(f"internal error ({type(exc).__name__})"))
            return
        with self._condition:  # written by the dispatcher, with the next lease
            self._finished.append((job, record))

    def _failed(self, job: Job, exc: DeliveryError) -> None:
        persistent = job.kind in PERSISTENT_KINDS
        if exc.permanent or (not persistent and job.attempts >= self.settings.max_attempts):
            logger.warning("job %s (%s) failed for good: %s", job.id, job.kind, exc.reason)
            with self.store.session() as session:
                outbox.mark_failed(session, job, error=exc.reason)
                self.gave_up(session, job, exc.reason)
            self.wake()
            self._observe(job, "failed", exc.reason)
            return
        delay = exc.retry_after
        if isinstance(exc, RateLimited) and job.channel is not None and delay is not None:
            self.pacer.penalize(job.channel, delay)
        if delay is None:
            delay = backoff_seconds(
                job.attempts,
                base=self.settings.backoff_base_seconds,
                cap=self.settings.backoff_max_seconds,
            )
        logger.info(
            "job %s (%s) attempt %d failed: %s; next try in %.1f s",
            job.id,
            job.kind,
            job.attempts,
            exc.reason,
            delay,
        )
        outbox.retry_later(self.store, job, error=exc.reason, delay_seconds=delay)
        self.wake()  # the dispatcher's sleep may now end sooner
        self._observe(job, "retry", exc.reason)

    def _observe(self, job: Job, outcome: str, error: str | None) -> None:
        if self.observe is not None:
            self.observe(job, outcome, error)


class _RecordFailed(Exception):
    """A record raised while outcomes were written together (see _record_all)."""


def _record_all(
    session: Session, finished: list[tuple[Job, Record | None]], *, one_by_one: bool
) -> list[Job]:
    """Write finished jobs' outcomes and mark them done; the jobs written. Together, with
    no savepoint (a SAVEPOINT and its RELEASE were a tenth of the dispatcher's CPU): if a
    record fails, _RecordFailed rolls the whole turn back, and the next try (`one_by_one`)
    gives each its own savepoint, so one bad record costs only its own job (see _record)."""
    if one_by_one:
        return [job for job, record in finished if _record(session, job, record)]
    for _, record in finished:
        if record is not None:
            try:
                record(session)
            except Exception as exc:
                raise _RecordFailed from exc
    outbox.mark_done_many(session, [job for job, _ in finished])
    return [job for job, _ in finished]


def _record(session: Session, job: Job, record: Record | None) -> bool:
    """Write a finished job's outcome and mark it done, apart from the others written with
    it: a record that fails (a bug) leaves its job leased, so it runs again, reconciling
    first, when the lease ends; False then."""
    try:
        with session.begin_nested():
            if record is not None:
                record(session)
            outbox.mark_done(session, job)
    except Exception:
        logger.exception("job %s (%s): its outcome could not be written", job.id, job.kind)
        return False
    return True
