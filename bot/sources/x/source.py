"""X (API v2): mentions from the user mention timeline, replies as Posts.

https://docs.x.com/x-api/posts/timelines/introduction (GET /2/users/:id/mentions) and
https://docs.x.com/x-api/posts/manage-tweets/introduction (POST /2/tweets).

Polling, not streaming: the mentions timeline allows 300 requests per 15 minutes per user
(https://docs.x.com/x-api/fundamentals/rate-limits). The default interval of 60 s spends 15 of
them per window (5 %), 1,440 a day, 43,200 in a 30-day month, and leaves room for paging,
`socialbridge check` and other apps on the same account. X bills reads per resource returned
(https://docs.x.com/x-api/getting-started/pricing: a Post read $0.005, a User read $0.010,
each counted once per UTC day), so an empty poll costs nothing: the month of polling itself
is $0, and each mention costs about $0.005 plus $0.010 for its author (once a day per
author). A reply is a "Content: Create" at $0.015, or $0.200 when it contains a link.
"""

from __future__ import annotations

import html
import logging
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from bot.catalog import say
from bot.domain import (
    Author,
    DeliveryError,
    FetchResult,
    LengthVerdict,
    Post,
    ReplyTarget,
    SentReply,
    Visibility,
)
from bot.settings import AccountSettings, NetworkKeys
from bot.sources.base import SessionStore
from bot.sources.transport import send
from bot.sources.x.auth import NETWORK, BearerAuth, XTokens
from bot.sources.x.cursor import MentionCursor
from bot.textlength import too_long_to_count

logger = logging.getLogger(__name__)

DEFAULT_SERVER = "https://api.x.com"
DEFAULT_POLL_SECONDS = 60.0
PAGE_SIZE = 100  # max_results: 5 to 100
# The mention timeline serves the 800 newest mentions; 9 pages of 100 reach past them all.
MAX_PAGES_PER_POLL = 9
FIND_REPLY_PAGES = 3
TWEET_FIELDS = (
    "conversation_id,created_at,in_reply_to_user_id,referenced_tweets,author_id,entities,note_tweet"
)
# X's own words when it refuses a reply: https://docs.x.com/x-api/posts/manage-tweets/integrate
_NOT_SUMMONED = ("not been mentioned", "reply to this conversation is not allowed", "summoned")
_DUPLICATE = "duplicate content"


class _NotSummoned(DeliveryError):
    """X refused a reply because the post answered did not mention or quote this account."""


class _DuplicateRefused(DeliveryError):
    """X refused a Post identical to one this account already published."""


class XSource:
    network: ClassVar[str] = "x"
    keys: ClassVar[NetworkKeys] = NetworkKeys(
        required=frozenset({"token_env"}),
        optional=frozenset({"refresh_token_env", "client_id_env", "client_secret_env", "user_id"}),
        default_server=DEFAULT_SERVER,
        default_poll_seconds=DEFAULT_POLL_SECONDS,
    )

    def __init__(
        self, account: AccountSettings, *, timeout: float, sessions: SessionStore | None = None
    ) -> None:
        self.account = account
        # twitter-text's tables cost about 20 MB of memory and half a second at import, so
        # they are loaded when an X account is set up (at start), not by every bot, and
        # never first inside a Slack listener.
        import bot.sources.x.text

        self._text = bot.sources.x.text
        self._tokens = XTokens(account, sessions=sessions, timeout=timeout)
        self._client = httpx.Client(
            base_url=account.server,
            auth=BearerAuth(self._tokens),
            headers={"User-Agent": "socialbridge"},
            timeout=timeout,
            event_hooks={"response": [_explain_refusals]},
        )
        self._me_lock = threading.Lock()
        self._user_id: str | None = account.options.get("user_id")
        self._username: str | None = None

    # --- inbound -----------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> FetchResult:
        position = self._position(cursor)
        if position is None:
            # First start: remember where "now" is and import no history.
            first = self._mentions({"max_results": 5})
            newest = _newest_id(first.get("data") or [])
            start = MentionCursor.first_start(newest, datetime.now(UTC))
            return FetchResult(posts=[], cursor=str(start))
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "username,name",
        }
        params.update(position.query())
        tweets: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        for _ in range(MAX_PAGES_PER_POLL):
            page = self._mentions(params)
            tweets.extend(t for t in page.get("data") or [] if isinstance(t, dict))
            for user in (page.get("includes") or {}).get("users") or []:
                if isinstance(user, dict) and "id" in user:
                    users[str(user["id"])] = user
            next_token = (page.get("meta") or {}).get("next_token")
            if not next_token:
                break
            params["pagination_token"] = next_token
        else:
            logger.warning(
                "account %s: more mentions since the last poll than X serves (800)",
                self.account.name,
            )
        me = self._me()
        posts = [
            post
            for post in (self._post_from(tweet, users) for tweet in tweets)
            if post is not None and post.author.remote_id != me
        ]
        posts.sort(key=lambda p: int(p.remote_id))
        seen = [int(t["id"]) for t in tweets if str(t.get("id", "")).isdigit()]
        advanced = position.advanced(seen)
        return FetchResult(posts=posts, cursor=None if advanced == position else str(advanced))

    def _position(self, cursor: str | None) -> MentionCursor | None:
        if cursor is None:
            return None
        try:
            return MentionCursor.parse(cursor)
        except ValueError:
            logger.warning(
                "account %s: unreadable X cursor %r; starting from now", self.account.name, cursor
            )
            return None

    def _mentions(self, params: dict[str, Any]) -> dict[str, Any]:
        body = send(
            self._client, "GET", f"/2/users/{self._me()}/mentions", network=NETWORK, params=params
        ).json()
        if not isinstance(body, dict):
            raise DeliveryError("X answered the mention timeline with something not an object")
        return body

    def _post_from(self, tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> Post | None:
        """The mention as a Post, or None (logged) when the payload is not what we expect."""
        try:
            tweet_id = str(int(tweet["id"]))
            author_id = str(tweet["author_id"])
            user = users.get(author_id)
            if user is not None:
                username = str(user["username"])
                author = Author(
                    remote_id=author_id,
                    handle=username,
                    display_name=str(user.get("name") or username),
                    url=f"https://x.com/{username}",
                )
                url = f"https://x.com/{username}/status/{tweet_id}"
            else:  # the author was not expanded (suspended, say): keep the mention anyway
                author = Author(author_id, author_id, f"X user {author_id}", "")
                url = f"https://x.com/i/web/status/{tweet_id}"
            replied_to = _replied_to(tweet)
            return Post(
                remote_id=tweet_id,
                url=url,
                author=author,
                text=_plain_text(tweet),
                created_at=datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00")),
                visibility=Visibility.PUBLIC,  # mentions are public Posts; DMs are elsewhere
                in_reply_to=replied_to,
                thread_root=str(tweet.get("conversation_id") or tweet_id),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            logger.warning(
                "account %s: skipped malformed X mention %r (%s: %s)",
                self.account.name,
                tweet.get("id"),
                type(exc).__name__,
                exc,
            )
            return None

    # --- outbound ----------------------------------------------------------------------

    def prepare_reply(self, text: str, *, to: ReplyTarget) -> str:
        # No @-prefix: in_reply_to_tweet_id threads the reply and X puts the @name of the
        # person answered in front by itself, outside the 280 ("auto-populated @mentions at
        # the start of replies don't count"); typing it again would show it twice and count.
        return text

    def measure(self, text: str) -> LengthVerdict:
        limit = self._text.MAX_WEIGHTED_LENGTH
        return too_long_to_count(text, limit=limit) or LengthVerdict(
            count=self._text.x_weighted_length(text), limit=limit
        )

    def reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply:
        # X has no idempotency key: after a timeout the worker calls find_reply first, and X
        # itself refuses a second identical Post ("duplicate content"), handled below.
        body = {"text": text, "reply": {"in_reply_to_tweet_id": to.remote_id}}
        try:
            response = send(
                self._client,
                "POST",
                "/2/tweets",
                network=NETWORK,
                may_have_happened=True,
                json=body,
            )
        except _DuplicateRefused:
            found = self.find_reply(to=to, text=text, key=key)
            if found is not None:
                return found
            raise DeliveryError(say("x.reply_duplicate"), permanent=True) from None
        except _NotSummoned:
            raise DeliveryError(
                say("x.reply_not_summoned", handle=to.author_handle), permanent=True
            ) from None
        try:
            tweet_id = str(int(response.json()["data"]["id"]))
        except (KeyError, TypeError, ValueError):
            raise DeliveryError("X answered the new Post without its id") from None
        return SentReply(remote_id=tweet_id, url=self._status_url(tweet_id))

    def find_reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply | None:
        """Our reply to `to` with this text among our own Posts newer than `to`, if any."""
        wanted = self._text.comparable_text(text)
        params: dict[str, Any] = {
            "since_id": to.remote_id,
            "max_results": PAGE_SIZE,
            "tweet.fields": "referenced_tweets,created_at",
            "exclude": "retweets",
        }
        for _ in range(FIND_REPLY_PAGES):
            page = send(
                self._client, "GET", f"/2/users/{self._me()}/tweets", network=NETWORK, params=params
            ).json()
            for tweet in page.get("data") or []:
                if not isinstance(tweet, dict) or _replied_to(tweet) != to.remote_id:
                    continue
                if self._text.comparable_text(str(tweet.get("text") or "")) == wanted:
                    tweet_id = str(tweet["id"])
                    logger.info(
                        "account %s: reply to %s was already published as %s",
                        self.account.name,
                        to.remote_id,
                        tweet_id,
                    )
                    return SentReply(remote_id=tweet_id, url=self._status_url(tweet_id))
            next_token = (page.get("meta") or {}).get("next_token")
            if not next_token:
                break
            params["pagination_token"] = next_token
        return None

    # --- the account ---------------------------------------------------------------------

    def verify(self) -> str:
        me = self._users_me()
        return f"@{me['username']}"

    def close(self) -> None:
        self._client.close()
        self._tokens.close()

    def _me(self) -> str:
        """Our user id: from the config's `user_id`, else asked once with GET /2/users/me."""
        with self._me_lock:
            if self._user_id is not None:
                return self._user_id
        me = self._users_me()
        return str(me["id"])

    def _users_me(self) -> dict[str, Any]:
        body = send(self._client, "GET", "/2/users/me", network=NETWORK).json()
        try:
            me = body["data"]
            user_id, username = str(me["id"]), str(me["username"])
        except (KeyError, TypeError):
            raise DeliveryError("X answered /2/users/me without the account's id") from None
        with self._me_lock:
            self._user_id = self._user_id or user_id
            self._username = username
        return {"id": user_id, "username": username}

    def _status_url(self, tweet_id: str) -> str:
        if self._username:
            return f"https://x.com/{self._username}/status/{tweet_id}"
        return f"https://x.com/i/web/status/{tweet_id}"


def _explain_refusals(response: httpx.Response) -> None:
    """httpx response hook: X's 403 on POST /2/tweets names why; two reasons need their own
    handling, so they become their own errors before transport.send sees a plain 403."""
    request = response.request
    if response.status_code != 403 or request.method != "POST" or request.url.path != "/2/tweets":
        return
    response.read()
    try:
        body = response.json()
        detail = str(body.get("detail") or body.get("title") or "").lower()
    except (AttributeError, ValueError):
        return
    if any(marker in detail for marker in _NOT_SUMMONED):
        raise _NotSummoned("X refused the reply: the post answered did not summon the account")
    if _DUPLICATE in detail:
        raise _DuplicateRefused("X refused a duplicate Post")


def _plain_text(tweet: dict[str, Any]) -> str:
    """The Post's text as typed: the full note for long Posts, &amp; and friends unescaped,
    t.co links replaced by where they lead."""
    note = tweet.get("note_tweet")
    text = str(note["text"]) if isinstance(note, dict) and note.get("text") else str(tweet["text"])
    entities = (note if isinstance(note, dict) and note.get("text") else tweet).get("entities")
    for url in (entities or {}).get("urls") or []:
        if isinstance(url, dict) and url.get("url") and url.get("expanded_url"):
            text = text.replace(str(url["url"]), str(url["expanded_url"]))
    return html.unescape(text)


def _replied_to(tweet: dict[str, Any]) -> str | None:
    for ref in tweet.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def _newest_id(tweets: list[Any]) -> str | None:
    ids = [str(t["id"]) for t in tweets if isinstance(t, dict) and str(t.get("id", "")).isdigit()]
    return max(ids, key=int) if ids else None
