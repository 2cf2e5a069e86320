"""Which watched threads to read at this poll: a budget, oldest-checked first.

On Bluesky a customer's follow-up without a mention notifies nobody, so the open
conversations of the last `watch_threads_hours` are read as threads (bot/sources/base.py
ThreadWatcher). Reading every one at every poll would spend the AppView's rate limit on a
thousand idle threads; a fixed budget per poll, rotating over them, keeps the cost flat.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain import WatchedThread
from bot.settings import AccountSettings, ConfigError
from bot.store import queries

WATCH_HOURS_KEY = "watch_threads_hours"
DEFAULT_WATCH_HOURS = 48.0
FETCHES_PER_POLL = 20


def watch_hours(account: AccountSettings) -> float:
    """The account's `watch_threads_hours` (0: no watching); refuses what is not a number."""
    raw = account.options.get(WATCH_HOURS_KEY)
    if raw is None:
        return DEFAULT_WATCH_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not hours >= 0 or hours == float("inf"):
        raise ConfigError(
            f"[[accounts]] {account.name!r} {WATCH_HOURS_KEY} must be a number of hours, "
            f"0 or more (0 turns watching off), got {raw!r}"
        )
    return hours


def watched(
    session: Session, account: AccountSettings, *, now: datetime
) -> dict[int, WatchedThread]:
    """The account's watched threads by conversation id: not closed, and with a customer
    post within the watch window."""
    hours = watch_hours(account)
    if not hours:
        return {}
    return queries.watched_threads(session, account.name, since=now - timedelta(hours=hours))


class ThreadRotation:
    """Picks up to `budget` threads per poll, the least recently read first (never read
    ones before all others), and forgets threads whose root is gone. In memory: after a
    restart every thread counts as never read, which costs one round of reads."""

    def __init__(self, *, budget: int = FETCHES_PER_POLL) -> None:
        self.budget = budget
        self._turn = itertools.count(1)
        self._read_at: dict[tuple[str, int], int] = {}  # (account, conversation) -> turn
        self._gone: set[tuple[str, str]] = set()  # (account, root)

    def pick(self, account: str, threads: Mapping[int, WatchedThread]) -> list[WatchedThread]:
        live = {
            cid: thread
            for cid, thread in threads.items()
            if (account, thread.root) not in self._gone
        }
        for key in [key for key in self._read_at if key[0] == account and key[1] not in live]:
            del self._read_at[key]  # closed or quiet for too long: no longer watched
        order = sorted(live, key=lambda cid: (self._read_at.get((account, cid), 0), cid))
        turn = next(self._turn)
        chosen = order[: self.budget]
        for cid in chosen:
            self._read_at[(account, cid)] = turn
        return [live[cid] for cid in chosen]

    def forget(self, account: str, roots: Iterable[str]) -> None:
        """These roots were deleted: their threads are not read again."""
        self._gone.update((account, root) for root in roots)
