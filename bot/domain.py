"""Plain values shared by every layer: what a post is, who wrote it, how delivery fails.

Sources convert a network's JSON into these at the edge; the bridge and the store never
see a network's payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Visibility(StrEnum):
    """Who can see a post, in Mastodon's vocabulary (the other networks map onto it)."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"  # followers only
    DIRECT = "direct"  # only the people mentioned: a private message

    @property
    def is_private(self) -> bool:
        return self is Visibility.DIRECT


@dataclass(frozen=True, slots=True)
class Author:
    remote_id: str
    handle: str  # without the leading "@", e.g. "alice@example.social"
    display_name: str
    url: str


@dataclass(frozen=True, slots=True)
class Post:
    """One post fetched from a network, already converted to plain text."""

    remote_id: str
    url: str
    author: Author
    text: str
    created_at: datetime
    visibility: Visibility = Visibility.PUBLIC
    in_reply_to: str | None = None  # remote id of the post this one answers
    thread_root: str | None = None  # the network's own thread key, where it has one
    # Network-specific data a later reply needs (Bluesky's cid and root ref, say); stored.
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WatchedThread:
    """An open conversation whose thread is read for posts that notify nobody: the
    customer's own follow-ups and the answers to them (see bot/core/watch.py)."""

    root: str  # the conversation's remote root, where the thread is read from
    author: str  # the customer's remote id (a DID on Bluesky)
    since: datetime  # their first post's time: nothing older is new


@dataclass(frozen=True, slots=True)
class WatchResult:
    """What reading some watched threads found: new posts in thread order, the roots that
    are gone (deleted: stop watching), and how many thread reads it cost."""

    posts: list[Post]
    gone: frozenset[str]
    fetches: int


@dataclass(frozen=True, slots=True)
class FetchResult:
    posts: list[Post]
    cursor: str | None  # where the next poll resumes; None keeps the old one


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """The post a reply answers, as stored: everything a source needs to thread it."""

    remote_id: str
    author_handle: str
    visibility: Visibility
    thread_root: str | None
    extra: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SentReply:
    remote_id: str
    url: str
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LengthVerdict:
    """`counted` is False when the text was too long to be worth counting: `count` is then
    the bound it exceeds (bot.textlength.too_long_to_count)."""

    count: int
    limit: int
    counted: bool = True

    @property
    def fits(self) -> bool:
        return self.count <= self.limit


class DeliveryError(Exception):
    """A call to Slack or a network failed; the delivery worker decides what happens next.

    `permanent` errors are not retried; `retry_after` (seconds) overrides the backoff.
    `reason` is a short, secret-free sentence that can be shown in a Slack thread.
    """

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


MAX_RETRY_AFTER_SECONDS = 900.0
"""The longest wait a server's Retry-After or rate-limit reset may impose on us (15 min)."""


def capped_wait(seconds: float) -> float:
    """A server-given wait, never negative and never over MAX_RETRY_AFTER_SECONDS: a
    `Retry-After: 999999` from a broken or hostile server must not park a job for days."""
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


class RateLimited(DeliveryError):
    def __init__(self, reason: str, *, retry_after: float) -> None:
        super().__init__(reason, retry_after=retry_after)


class UnknownOutcome(DeliveryError):
    """The request may have been carried out (timeout after it left): reconcile first."""
