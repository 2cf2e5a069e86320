"""The durable queue: ordering per key, leases, retries, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.store import Job, Store, outbox, utcnow


def _enqueue(store: Store, key: str, kind: str = "notice", delay: float = 0.0) -> int:
    with store.session() as session:
        job = outbox.enqueue(
            session, kind=kind, ordering_key=key, not_before=utcnow() + timedelta(seconds=delay)
        )
        assert job.id is not None
        return job.id


def _finish(store: Store, job: Job) -> None:
    with store.session() as session:
        outbox.mark_done(session, job)


def test_jobs_of_one_ordering_key_run_one_at_a_time_in_order(store: Store) -> None:
    first = _enqueue(store, "slack:1")
    second = _enqueue(store, "slack:1")
    leased = outbox.lease(store, owner="a", lease_seconds=30)
    assert leased is not None and leased.id == first
    assert outbox.lease(store, owner="b", lease_seconds=30) is None
    _finish(store, leased)
    after = outbox.lease(store, owner="b", lease_seconds=30)
    assert after is not None and after.id == second


def test_other_ordering_keys_are_not_blocked(store: Store) -> None:
    _enqueue(store, "slack:1")
    _enqueue(store, "slack:1")
    other = _enqueue(store, "slack:2")
    first = outbox.lease(store, owner="a", lease_seconds=30)
    second = outbox.lease(store, owner="a", lease_seconds=30)
    assert first is not None and second is not None
    assert second.id == other


def test_a_job_waiting_for_retry_keeps_later_jobs_of_its_key_waiting(store: Store) -> None:
    _enqueue(store, "net:7")
    later = _enqueue(store, "net:7")
    job = outbox.lease(store, owner="a", lease_seconds=30)
    assert job is not None
    outbox.retry_later(store, job, error="boom", delay_seconds=60)
    assert outbox.lease(store, owner="a", lease_seconds=30) is None
    with store.session() as session:
        waiting = session.get_one(Job, later)
        assert waiting.state == "pending"


def test_a_failed_job_unblocks_its_key(store: Store) -> None:
    _enqueue(store, "net:7")
    later = _enqueue(store, "net:7")
    job = outbox.lease(store, owner="a", lease_seconds=30)
    assert job is not None
    with store.session() as session:
        outbox.mark_failed(session, job, error="refused")
    nxt = outbox.lease(store, owner="a", lease_seconds=30)
    assert nxt is not None and nxt.id == later


def test_an_expired_lease_is_taken_over_and_counts_an_attempt(store: Store) -> None:
    job_id = _enqueue(store, "slack:1")
    first = outbox.lease(store, owner="crashed", lease_seconds=-1)
    assert first is not None and first.attempts == 1
    again = outbox.lease(store, owner="survivor", lease_seconds=30)
    assert again is not None and again.id == job_id
    assert again.attempts == 2 and again.lease_owner == "survivor"


def test_a_job_not_yet_due_is_not_leased(store: Store) -> None:
    _enqueue(store, "net:1", delay=60)
    assert outbox.lease(store, owner="a", lease_seconds=30) is None


def test_release_returns_held_leases_to_the_queue(store: Store) -> None:
    _enqueue(store, "slack:1")
    assert outbox.lease(store, owner="stopping", lease_seconds=300) is not None
    assert outbox.release(store, owner="stopping") == 1
    assert outbox.lease(store, owner="other", lease_seconds=30) is not None


def test_cancel_pending_only_cancels_jobs_not_started(store: Store) -> None:
    with store.session() as session:
        outbox.enqueue(session, kind="send_reply", ordering_key="net:1", message_id=11)
        outbox.enqueue(session, kind="send_reply", ordering_key="net:2", message_id=12)
    leased = outbox.lease(store, owner="a", lease_seconds=30)
    assert leased is not None and leased.message_id == 11
    with store.session() as session:
        assert outbox.cancel_pending(session, kind="send_reply", message_id=11) is False
        assert outbox.cancel_pending(session, kind="send_reply", message_id=12) is True


def test_concurrent_workers_never_lease_the_same_job(store: Store) -> None:
    for number in range(60):
        _enqueue(store, f"slack:{number}")
    leased: list[int] = []
    lock = threading.Lock()

    def work(owner: str) -> None:
        while (job := outbox.lease(store, owner=owner, lease_seconds=30)) is not None:
            with lock:
                leased.append(job.id or 0)
            _finish(store, job)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(leased) == sorted(set(leased))
    assert len(leased) == 60


def test_queue_depth_counts_unfinished_jobs_by_kind(store: Store) -> None:
    _enqueue(store, "slack:1", kind="post_inbound")
    _enqueue(store, "slack:2", kind="post_inbound")
    done = _enqueue(store, "net:1", kind="send_reply")
    with store.session() as session:
        outbox.mark_done(session, session.get_one(Job, done))
        assert outbox.queue_depth(session) == {"post_inbound": 2}
