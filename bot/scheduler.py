"""APScheduler jobs: poll each account on its interval; nudge the outbox as a safety net."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from apscheduler.schedulers.background import BackgroundScheduler

from bot.bridge import Bridge
from bot.core.watch import ThreadRotation, watched
from bot.delivery import backoff_seconds
from bot.domain import DeliveryError, FetchResult, Post
from bot.settings import AccountSettings
from bot.sources import Source
from bot.sources.base import ThreadWatcher
from bot.store import Store, utcnow
from bot.store import accounts as account_store

logger = logging.getLogger(__name__)

# A broken account (revoked token, server down) is retried ever less often, up to this.
MAX_POLL_BACKOFF_SECONDS = 900.0
RETENTION_INTERVAL_SECONDS = 3600.0


class Poller:
    """Polls one account at a time per instance; the poll lease keeps other instances off."""

    def __init__(
        self,
        store: Store,
        bridge: Bridge,
        sources: Mapping[str, Source],
        *,
        owner: str,
        lease_seconds: float = 60.0,
        on_poll: Callable[[str, int, str | None], None] | None = None,
        on_watch: Callable[[str, int], None] | None = None,
        rotation: ThreadRotation | None = None,
    ) -> None:
        """`on_watch(account, fetches)` hears how many threads each poll read."""
        self.store = store
        self.lease_seconds = lease_seconds
        self.bridge = bridge
        self.sources = sources
        self.owner = owner
        self.on_poll = on_poll
        self.on_watch = on_watch
        self.rotation = rotation or ThreadRotation()

    def poll(self, account: AccountSettings) -> int:
        """Fetch and ingest once; returns the number of new posts (0 when skipped)."""
        if not account_store.try_lease(
            self.store,
            account.name,
            owner=self.owner,
            # Renewed at every poll; an instance that stops polling loses it after this.
            seconds=max(self.lease_seconds, 3 * account.poll_seconds),
        ):
            return 0
        state = account_store.get(self.store, account.name)
        if state.next_poll_at is not None and state.next_poll_at > utcnow():
            return 0
        source = self.sources[account.name]
        try:
            result = source.fetch(state.cursor)
        except DeliveryError as exc:
            self._failed(account, state.consecutive_failures + 1, exc)
            return 0
        if isinstance(source, ThreadWatcher):
            # One page, one transaction: a follow-up seen both ways is stored once.
            result = FetchResult(
                posts=[*result.posts, *self._watch(account, source)], cursor=result.cursor
            )
        new = self.bridge.ingest(account.name, result)
        if new:
            logger.info("account %s: %d new posts", account.name, new)
        if self.on_poll:
            self.on_poll(account.name, new, None)
        return new

    def threads_watched(self, account: AccountSettings) -> int | None:
        """How many of the account's threads are watched; None when its network is not."""
        if not isinstance(self.sources.get(account.name), ThreadWatcher):
            return None
        with self.store.read() as session:
            return len(watched(session, account, now=utcnow()))

    def _watch(self, account: AccountSettings, source: ThreadWatcher) -> list[Post]:
        """New posts in this poll's share of the account's watched threads."""
        with self.store.read() as session:
            threads = watched(session, account, now=utcnow())
        picked = self.rotation.pick(account.name, threads)
        if not picked:
            return []
        found = source.watch(picked)
        self.rotation.forget(account.name, found.gone)
        if self.on_watch:
            self.on_watch(account.name, found.fetches)
        return found.posts

    def _failed(self, account: AccountSettings, failures: int, exc: DeliveryError) -> None:
        retry_in = exc.retry_after
        if retry_in is None:
            retry_in = backoff_seconds(
                failures, base=account.poll_seconds, cap=MAX_POLL_BACKOFF_SECONDS
            )
        count = account_store.record_failure(
            self.store, account.name, error=exc.reason, retry_in=retry_in
        )
        log = logger.warning if count < 3 else logger.error
        log(
            "account %s: poll failed (%d in a row): %s; next try in %.0f s",
            account.name,
            count,
            exc.reason,
            retry_in,
        )
        if self.on_poll:
            self.on_poll(account.name, 0, exc.reason)


def build_scheduler(
    poller: Poller,
    accounts: tuple[AccountSettings, ...],
    *,
    retention: Callable[[], object] | None = None,
) -> BackgroundScheduler:
    """`retention` (erase what [store] retention_days says is old) runs at start and hourly."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for account in accounts:
        scheduler.add_job(
            _guarded(poller.poll),
            "interval",
            args=[account],
            seconds=account.poll_seconds,
            id=f"poll:{account.name}",
            next_run_time=utcnow(),
            max_instances=1,
            coalesce=True,
        )
    if retention is not None:
        scheduler.add_job(
            _logged(retention, "retention"),
            "interval",
            seconds=RETENTION_INTERVAL_SECONDS,
            id="retention",
            next_run_time=utcnow(),
            max_instances=1,
            coalesce=True,
        )
    return scheduler


def _logged(task: Callable[[], object], name: str) -> Callable[[], None]:
    def run() -> None:
        try:
            task()
        except Exception:  # a database hiccup: the next run tries again
            logger.exception("%s crashed; trying again at the next run", name)

    return run


def _guarded(poll: Callable[[AccountSettings], int]) -> Callable[[AccountSettings], None]:
    def run(account: AccountSettings) -> None:
        try:
            poll(account)
        except Exception:  # one account's bug must not stop the others' polling
            logger.exception("account %s: poll crashed", account.name)

    return run
