"""The outbox worker in process (bot/delivery.py), on SQLite and PostgreSQL: outcomes are
written in batches with the next lease, a failing record costs only its own job, and
stopping writes what finished."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.delivery import DeliveryWorker, Performer, Record
from bot.settings import DeliverySettings
from bot.store import Job, Store, outbox
from tests.e2e.harness import eventually


def _enqueue(store: Store, kind: str, keys: list[str]) -> None:
    with store.session() as session:
        for key in keys:
            outbox.enqueue(session, kind=kind, ordering_key=key)


def _states(store: Store) -> dict[str, list[str]]:
    """Job states by ordering key, in id order."""
    with store.read() as session:
        jobs = session.exec(select(Job).order_by(col(Job.id))).all()
    states: dict[str, list[str]] = {}
    for job in jobs:
        states.setdefault(job.ordering_key, []).append(job.state)
    return states


def _worker(store: Store, performers: dict[str, Performer]) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        performers,
        owner="test",
        settings=DeliverySettings(workers=2),
        gave_up=lambda session, job, reason: None,
        idle_seconds=0.05,
    )


def _writes(ran: list[int]) -> Performer:
    """Counts its runs; its record writes a mark on the job, as records write facts."""

    def perform(job: Job) -> Record:
        ran.append(job.id or 0)

        def record(session: Session) -> None:
            session.execute(
                sa.update(outbox.JOBS).where(outbox.JOBS.c.id == job.id).values(last_error="ok")
            )

        return record

    return perform


def _marks(store: Store) -> list[str | None]:
    with store.read() as session:
        return list(session.exec(select(Job.last_error).order_by(col(Job.id))))


def _fails_to_record(job: Job) -> Record:
    def record(session: Session) -> None:
        raise RuntimeError("a bug in a record")

    return record


def test_every_job_runs_once_in_key_order_and_is_marked_done(store: Store) -> None:
    ran: list[int] = []
    _enqueue(store, "ok", [f"k{n % 5}" for n in range(40)])
    worker = _worker(store, {"ok": _writes(ran)})
    worker.start()
    try:
        eventually(lambda: _states(store) == {f"k{n}": ["done"] * 8 for n in range(5)} or None)
    finally:
        worker.stop()
    assert sorted(ran) == list(range(1, 41))
    assert _marks(store) == ["ok"] * 40
    by_key: dict[int, list[int]] = {}
    for job_id in ran:
        by_key.setdefault((job_id - 1) % 5, []).append(job_id)
    assert all(ids == sorted(ids) for ids in by_key.values())


def test_a_record_that_fails_leaves_only_its_own_job_to_run_again(store: Store) -> None:
    ran: list[int] = []
    _enqueue(store, "ok", ["a", "b", "c"])
    _enqueue(store, "bad", ["d", "d"])
    _enqueue(store, "ok", ["e", "f"])
    worker = _worker(store, {"ok": _writes(ran), "bad": _fails_to_record})
    worker.start()
    try:
        done = ["done"]
        expected = {
            "a": done,
            "b": done,
            "c": done,
            "d": ["leased", "pending"],
            "e": done,
            "f": done,
        }
        eventually(lambda: _states(store) == expected or None)
    finally:
        worker.stop()
    assert sorted(ran) == [1, 2, 3, 6, 7]  # job 4 ran but was not written; 5 waits behind it
    assert _marks(store) == ["ok", "ok", "ok", None, None, "ok", "ok"]
    # stop() hands the lease back: the failed job runs again (and reconciles) next time
    assert _states(store)["d"] == ["pending", "pending"]


def test_stopping_writes_the_outcomes_of_jobs_that_finished(store: Store) -> None:
    release = threading.Event()
    started = threading.Event()
    ran: list[int] = []

    def slow(job: Job) -> Record:
        started.set()
        release.wait(10)
        return _writes(ran)(job)  # type: ignore[return-value]

    _enqueue(store, "slow", ["only"])
    worker = _worker(store, {"slow": slow})
    worker.start()
    assert started.wait(10)
    stopper = threading.Thread(target=worker.stop)
    stopper.start()  # the dispatcher has gone when the job finishes
    release.set()
    stopper.join(30)
    assert _states(store) == {"only": ["done"]}
    assert ran == [1]
    assert _marks(store) == ["ok"]
