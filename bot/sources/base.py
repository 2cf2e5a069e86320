"""What every network module provides: the Source protocol.

A network is one module in this package plus one line in `bot.sources.SOURCES`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from bot.domain import (
    FetchResult,
    LengthVerdict,
    ReplyTarget,
    SentReply,
    WatchedThread,
    WatchResult,
)
from bot.settings import AccountSettings, NetworkKeys


class SessionStore(Protocol):
    """Where a source keeps a login that must survive restarts (tokens, refresh tokens)."""

    def load_session(self, account: str) -> str | None: ...

    def save_session(self, account: str, session_json: str) -> None: ...


logger = logging.getLogger(__name__)


def stored_session(
    sessions: SessionStore | None, account: str, *, network: str
) -> dict[str, Any] | None:
    """The JSON object a source saved for `account`; None when there is none, or when it
    is not readable (logged: the source then starts over with its configured secret)."""
    if sessions is None:
        return None
    raw = sessions.load_session(account)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        logger.warning("account %s: stored %s session unreadable; starting over", account, network)
        return None
    return data


class Source(Protocol):
    """One configured account on one network."""

    network: ClassVar[str]
    keys: ClassVar[NetworkKeys]

    def fetch(self, cursor: str | None) -> FetchResult:
        """Posts newer than `cursor`, oldest first. With no cursor: none, and a cursor at now."""
        ...

    def prepare_reply(self, text: str, *, to: ReplyTarget) -> str:
        """The text as it will be published (e.g. with the @mention the network needs)."""
        ...

    def measure(self, text: str) -> LengthVerdict:
        """Length of a prepared reply by the network's own rule, and the limit."""
        ...

    def reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply:
        """Publish a prepared reply; `key` is stable across retries of the same reply."""
        ...

    def find_reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply | None:
        """After an unknown outcome: the reply if it was published after all."""
        ...

    def verify(self) -> str:
        """Check the credentials; returns who we are on the network."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ThreadWatcher(Protocol):
    """A source that can read whole threads, for networks that notify nobody of a reply
    without a mention (Bluesky). Optional: a source without it stays on its notifications."""

    def watch(self, threads: Sequence[WatchedThread]) -> WatchResult:
        """New posts in these threads by their customer, or answering the customer's posts;
        never our own. Bounded per thread; a read that fails ends the walk early."""
        ...


class SourceFactory(Protocol):
    """A Source class: builds the source of one configured account."""

    def __call__(
        self, account: AccountSettings, *, timeout: float, sessions: SessionStore
    ) -> Source: ...
