"""Bluesky: mentions, replies and quotes from the notification list; replies as posts.

https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications and
https://docs.bsky.app/docs/advanced-guides/posts (replies, rich text, record keys)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from bot.core.watch import WATCH_HOURS_KEY, watch_hours
from bot.domain import (
    DeliveryError,
    FetchResult,
    LengthVerdict,
    Post,
    RateLimited,
    ReplyTarget,
    SentReply,
    UnknownOutcome,
    WatchedThread,
    WatchResult,
)
from bot.settings import AccountSettings, ConfigError, NetworkKeys
from bot.sources.base import SessionStore
from bot.sources.bluesky.cursor import POST, REASONS, Mark, Note, cursor_before, iso
from bot.sources.bluesky.posts import post_of, profile_url
from bot.sources.bluesky.richtext import facets_for
from bot.sources.bluesky.threads import read_threads
from bot.sources.bluesky.tid import tid_for_key
from bot.sources.bluesky.xrpc import XrpcClient, XrpcError
from bot.textlength import GRAPHEME, too_long_to_count

logger = logging.getLogger(__name__)

PAGE_SIZE = 100  # the maximum
MAX_PAGES_PER_POLL = 10
# Notifications are listed by min(createdAt, indexedAt), so one can surface behind others
# already seen: indexed late, or written on a slow clock. Each poll looks back this far
# behind the newest one it has seen; the store's unique key drops what it already has.
LOOKBACK = timedelta(minutes=15)
# app.bsky.feed.post: text has maxGraphemes 300 and maxLength 3000 (UTF-8 bytes).
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
_PROXY = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]+#[a-zA-Z0-9_-]+$")


class BlueskySource:
    network: ClassVar[str] = "bluesky"
    keys: ClassVar[NetworkKeys] = NetworkKeys(
        required=frozenset({"handle", "password_env"}),
        optional=frozenset({"appview", WATCH_HOURS_KEY}),
        default_server="https://bsky.social",
        default_poll_seconds=20.0,
        numbers=frozenset({WATCH_HOURS_KEY}),
    )

    def __init__(
        self, account: AccountSettings, *, timeout: float, sessions: SessionStore | None = None
    ) -> None:
        self.account = account
        self.handle = account.options["handle"].removeprefix("@")
        watch_hours(account)  # a wrong value stops the start, naming the key
        proxy = account.options.get("appview")
        if proxy is not None and not _PROXY.match(proxy):
            raise ConfigError(
                f"[[accounts]] {account.name!r} appview must name a service like "
                f"did:web:api.bsky.app#bsky_appview, got {proxy!r}"
            )
        self._xrpc = XrpcClient(
            account=account.name,
            server=account.server,
            handle=self.handle,
            password=account.secrets["password"],
            sessions=sessions,
            timeout=timeout,
            proxy=proxy,
        )
        # uri -> time of the notifications seen up to the cursor we handed out last; used
        # only when that very cursor comes back, i.e. when what we returned was stored.
        self._seen: tuple[str, dict[str, datetime]] = ("", {})

    # ---- inbound ----------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> FetchResult:
        mark = Mark.parse(cursor) if cursor else None
        if cursor and mark is None:
            logger.warning(
                "account %s: unreadable cursor %r; starting afresh", self.account.name, cursor
            )
        if mark is None:
            return self._first_fetch()
        horizon = mark.newest - LOOKBACK
        notifications, _ = self._notifications(horizon)
        seen = self._seen[1] if self._seen[0] == cursor else {}
        posts: dict[str, tuple[datetime, Post]] = {}
        for note in notifications:
            if note.uri in seen or note.uri in posts or note.at < horizon:
                continue
            if mark.floor and note.at <= mark.floor:
                continue
            post = self._post_from(note)
            if post is not None:
                posts[note.uri] = (note.at, post)
        newest = max([mark.newest, *(n.at for n in notifications)])
        floor = mark.floor if mark.floor and mark.floor >= newest - LOOKBACK else None
        next_cursor = self._remember(
            Mark(newest, floor), {**seen, **{n.uri: n.at for n in notifications}}
        )
        ordered = sorted(posts.values(), key=lambda item: (item[0], item[1].remote_id))
        return FetchResult(posts=[post for _, post in ordered], cursor=next_cursor)

    def _first_fetch(self) -> FetchResult:
        """First start: mark where "now" is; everything listed so far is history."""
        notifications, listed_all = self._notifications(None)
        if notifications:
            newest = max(n.at for n in notifications)
            mark = Mark(newest, newest)
        else:
            # Nothing listed at all: every later notification is new. Only a partial answer
            # (the AppView gave up scanning) makes our clock the line.
            now = datetime.now(UTC)
            mark = Mark(now, None if listed_all else now)
        cursor = self._remember(mark, {n.uri: n.at for n in notifications})
        return FetchResult(posts=[], cursor=cursor)

    def _remember(self, mark: Mark, seen: Mapping[str, datetime]) -> str:
        """Keep what was seen inside the look-back window; returns the cursor to hand out."""
        cursor = str(mark)
        horizon = mark.newest - LOOKBACK
        self._seen = (cursor, {uri: at for uri, at in seen.items() if at >= horizon})
        return cursor

    def _notifications(self, horizon: datetime | None) -> tuple[list[Note], bool]:
        """Mentions, replies and quotes, newest first, back to `horizon` (None: to the
        newest one's time minus LOOKBACK); and whether the list ended before the page cap."""
        found: list[Note] = []
        page_cursor: str | None = None
        for _ in range(MAX_PAGES_PER_POLL):
            params: dict[str, Any] = {"limit": PAGE_SIZE, "reasons": list(REASONS)}
            if page_cursor:
                params["cursor"] = page_cursor
            body = self._xrpc.query("app.bsky.notification.listNotifications", params)
            page = [n for n in map(Note.of, body.get("notifications") or ()) if n is not None]
            found.extend(page)
            if horizon is None and found:
                horizon = max(n.at for n in found) - LOOKBACK
            page_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if not page_cursor:
                return found, True
            if horizon is not None and (
                any(n.at < horizon for n in page) or cursor_before(page_cursor, horizon)
            ):
                return found, True
        logger.warning(
            "account %s: more than %d pages of notifications in %s; the rest were not read",
            self.account.name,
            MAX_PAGES_PER_POLL,
            LOOKBACK,
        )
        return found, False

    def watch(self, threads: Sequence[WatchedThread]) -> WatchResult:
        """The customer's follow-ups without a mention, and answers to them (threads.py)."""
        return read_threads(
            self._xrpc,
            threads,
            account=self.account.name,
            to_post=lambda view, at: self._post_of(view, at, what="thread post"),
        )

    def _post_from(self, note: Note) -> Post | None:
        """The notification's post, or None (logged) when it is not what we expect."""
        return self._post_of(note.raw, note.at, what="notification")

    def _post_of(self, view: Mapping[str, Any], at: datetime, *, what: str) -> Post | None:
        try:
            return post_of(view, at, thread_key=self._thread_key)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.warning(
                "account %s: skipped malformed Bluesky %s %r (%s: %s)",
                self.account.name,
                what,
                view.get("uri"),
                type(exc).__name__,
                exc,
            )
            return None

    def _thread_key(self, root_uri: str) -> str | None:
        """Posts of one thread share a conversation, except under a post of our own: each
        person answering the brand's announcement is a conversation of their own, and
        their follow-ups find it through the post they answer."""
        if root_uri.startswith(f"at://{self._xrpc.did}/"):
            return None
        return root_uri

    # ---- outbound ---------------------------------------------------------------------

    def prepare_reply(self, text: str, *, to: ReplyTarget) -> str:
        # No "@handle" prefix: a Bluesky reply is threaded by its reply refs, and the AppView
        # notifies the author of the post answered (and of the posts above it) anyway. The
        # app adds no mention to replies either; one would only cost 20-30 of 300 graphemes.
        return text

    def measure(self, text: str) -> LengthVerdict:
        """300 graphemes; and 3000 UTF-8 bytes, which only long emoji sequences reach: then
        the limit is how many of this text's graphemes fit in 3000 bytes."""
        too_long = too_long_to_count(text, limit=MAX_GRAPHEMES)
        if too_long is not None:
            return too_long
        graphemes = GRAPHEME.findall(text)
        limit = MAX_GRAPHEMES
        size = len(text.encode("utf-8"))
        if size > MAX_BYTES:
            used = 0
            for fitting, grapheme in enumerate(graphemes):
                used += len(grapheme.encode("utf-8"))
                if used > MAX_BYTES:
                    limit = min(limit, fitting)
                    break
            if limit == 0:  # one grapheme over the byte limit (1,001 joiners): say bytes
                return LengthVerdict(count=size, limit=MAX_BYTES)
        return LengthVerdict(count=len(graphemes), limit=limit)

    def reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply:
        rkey = tid_for_key(key)
        record = self._reply_record(text, to)
        try:
            created = self._xrpc.procedure(
                "com.atproto.repo.createRecord",
                {"repo": self._xrpc.did, "collection": POST, "rkey": rkey, "record": record},
                may_have_happened=True,
            )
        except (RateLimited, UnknownOutcome):
            raise
        except DeliveryError:
            # The record key is ours alone: if it is taken, an earlier attempt published
            # this reply (the PDS refuses the second create, today with a 500).
            existing = self._published(rkey)
            if existing is None:
                raise
            logger.info("account %s: reply %s was already published", self.account.name, rkey)
            return existing
        return self._sent(str(created["uri"]), str(created["cid"]), record)

    def find_reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply | None:
        return self._published(tid_for_key(key))

    def verify(self) -> str:
        me = self._xrpc.query("com.atproto.server.getSession")
        return f"@{me.get('handle', '?')}"

    def close(self) -> None:
        self._xrpc.close()

    def _reply_record(self, text: str, to: ReplyTarget) -> dict[str, Any]:
        extra = to.extra
        if not extra.get("uri") or not extra.get("cid"):
            raise DeliveryError(
                "the post to answer has no Bluesky reference (uri and cid)", permanent=True
            )
        parent = {"uri": extra["uri"], "cid": extra["cid"]}
        root = {
            "uri": extra.get("root_uri") or parent["uri"],
            "cid": extra.get("root_cid") or parent["cid"],
        }
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": iso(datetime.now(UTC)),
            "reply": {"root": root, "parent": parent},
        }
        facets = facets_for(text, resolve=self._did_of)
        if facets:
            record["facets"] = facets
        return record

    def _did_of(self, handle: str) -> str | None:
        try:
            found = self._xrpc.query("com.atproto.identity.resolveHandle", {"handle": handle})
        except XrpcError as exc:
            if exc.status == 400:
                return None  # no account has this handle: it stays plain text
            raise
        did = found.get("did")
        return did if isinstance(did, str) else None

    def _published(self, rkey: str) -> SentReply | None:
        try:
            found = self._xrpc.query(
                "com.atproto.repo.getRecord",
                {"repo": self._xrpc.did, "collection": POST, "rkey": rkey},
            )
        except XrpcError as exc:
            if exc.error == "RecordNotFound":
                return None
            raise
        value = found.get("value")
        return self._sent(str(found["uri"]), str(found.get("cid") or ""), value)

    def _sent(self, uri: str, cid: str, record: Any) -> SentReply:
        extra = {"uri": uri, "cid": cid}
        reply = record.get("reply") if isinstance(record, Mapping) else None
        if isinstance(reply, Mapping) and isinstance(reply.get("root"), Mapping):
            extra["root_uri"] = str(reply["root"].get("uri") or uri)
            extra["root_cid"] = str(reply["root"].get("cid") or cid)
        url = f"{profile_url(self.handle, self._xrpc.did)}/post/{uri.rsplit('/', 1)[-1]}"
        return SentReply(remote_id=uri, url=url, extra=extra)
