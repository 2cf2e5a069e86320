"""Reading watched threads: the customer's follow-ups that mention nobody, and answers to them.

Bluesky notifies an account only of mentions, replies to its posts and quotes, so a
customer who adds to their own post without "@brand" is heard only by reading the thread:
https://docs.bsky.app/docs/api/app-bsky-feed-get-post-thread
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain import DeliveryError, Post, WatchedThread, WatchResult
from bot.sources.bluesky.cursor import parse_time
from bot.sources.bluesky.xrpc import XrpcClient, XrpcError

logger = logging.getLogger(__name__)

# Levels below the root the AppView returns: an exchange (customer, brand) takes two, so ten
# exchanges deep. Deeper follow-ups that answer the brand are notified anyway.
THREAD_DEPTH = 20
# Posts looked at per thread, whatever the AppView sends: a viral root has thousands.
MAX_POSTS_PER_THREAD = 300
THREAD_VIEW = "app.bsky.feed.defs#threadViewPost"
NOT_FOUND = "app.bsky.feed.defs#notFoundPost"

ToPost = Callable[[Mapping[str, Any], datetime], Post | None]


def read_threads(
    xrpc: XrpcClient, threads: Sequence[WatchedThread], *, account: str, to_post: ToPost
) -> WatchResult:
    """One getPostThread per thread, in order; a failed read (rate limit, server error)
    ends the walk, and the threads not read wait for the next poll."""
    posts: list[Post] = []
    gone: set[str] = set()
    fetches = 0
    for thread in threads:
        fetches += 1
        try:
            body = xrpc.query(
                "app.bsky.feed.getPostThread",
                {"uri": thread.root, "depth": THREAD_DEPTH, "parentHeight": 0},
            )
        except DeliveryError as exc:
            if isinstance(exc, XrpcError) and exc.error == "NotFound":
                _gone(gone, thread.root, account)
                continue
            logger.warning(
                "account %s: reading thread %s failed (%s); the rest wait for the next poll",
                account,
                thread.root,
                exc.reason,
            )
            break
        root = body.get("thread")
        if isinstance(root, Mapping) and root.get("$type") == NOT_FOUND:
            _gone(gone, thread.root, account)
            continue
        posts.extend(_Walk(thread, own=xrpc.did, to_post=to_post).run(root))
    return WatchResult(posts=posts, gone=frozenset(gone), fetches=fetches)


@dataclass
class _Walk:
    """One thread, parents before answers. A post is taken when the customer wrote it or
    it answers one of the customer's posts, it is newer than the conversation, it is not
    ours, and what it answers is the root, ours, the customer's or taken: so each taken
    post finds its conversation through its parent."""

    thread: WatchedThread
    own: str
    to_post: ToPost
    joinable: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)

    def run(self, root: Any) -> list[Post]:
        taken: list[Post] = []
        stack = [root]
        looked = 0
        while stack and looked < MAX_POSTS_PER_THREAD:
            node = stack.pop()
            if not isinstance(node, Mapping) or node.get("$type") != THREAD_VIEW:
                continue  # notFoundPost, blockedPost: skipped with what hangs below them
            looked += 1
            view = node.get("post")
            if isinstance(view, Mapping):
                post = self._consider(view, is_root=looked == 1)
                if post is not None:
                    taken.append(post)
            replies = node.get("replies")
            if isinstance(replies, list):
                stack.extend(reversed(replies))
        return taken

    def _consider(self, view: Mapping[str, Any], *, is_root: bool) -> Post | None:
        uri, author = view.get("uri"), view.get("author")
        did = author.get("did") if isinstance(author, Mapping) else None
        if not isinstance(uri, str):
            return None
        if is_root or did in (self.own, self.thread.author):
            self.joinable.add(uri)
        if did == self.thread.author:
            self.customers.add(uri)
        if did == self.own:
            return None
        parent = _parent_of(view)
        if did != self.thread.author and parent not in self.customers:
            return None
        if not is_root and parent not in self.joinable:
            return None
        try:
            at = parse_time(str(view["indexedAt"]))
        except (KeyError, ValueError):
            return None
        if at < self.thread.since:
            return None  # history from before the conversation
        post = self.to_post(view, at)
        if post is not None:
            self.joinable.add(uri)
        return post


def _gone(gone: set[str], root: str, account: str) -> None:
    """The root was deleted: nothing more will come, so the watch stops."""
    logger.info("account %s: thread %s was deleted; it is no longer watched", account, root)
    gone.add(root)


def _parent_of(view: Mapping[str, Any]) -> str | None:
    record = view.get("record")
    reply = record.get("reply") if isinstance(record, Mapping) else None
    parent = reply.get("parent") if isinstance(reply, Mapping) else None
    uri = parent.get("uri") if isinstance(parent, Mapping) else None
    return uri if isinstance(uri, str) else None
