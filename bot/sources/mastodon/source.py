"""Mastodon: mentions from the notifications API, replies as statuses.

https://docs.joinmastodon.org/methods/notifications/ and
https://docs.joinmastodon.org/methods/statuses/#create
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any, ClassVar

import httpx

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
from bot.sources.mastodon.html import mastodon_html_to_text
from bot.sources.transport import send
from bot.textlength import DEFAULT_MASTODON_URL_WEIGHT, mastodon_length, too_long_to_count

logger = logging.getLogger(__name__)

PAGE_SIZE = 40  # the documented default; 80 is the maximum
MAX_PAGES_PER_POLL = 50  # the rest waits for the next poll; the cursor keeps the place
# Until /api/v2/instance answers: Mastodon's stock limits.
DEFAULT_MAX_CHARACTERS = 500
# The limits are read by the poll, never by a Slack listener (which must answer Slack
# within 3 s whatever Mastodon does); known limits are read again this often.
LIMITS_REFRESH_SECONDS = 3600.0


class MastodonSource:
    network: ClassVar[str] = "mastodon"
    keys: ClassVar[NetworkKeys] = NetworkKeys(
        required=frozenset({"token_env"}), default_poll_seconds=20.0
    )

    def __init__(
        self, account: AccountSettings, *, timeout: float, sessions: SessionStore | None = None
    ) -> None:
        self.account = account
        self._client = httpx.Client(
            base_url=account.server,
            headers={
                "Authorization": f"Bearer {account.secrets['token'].reveal()}",
                "User-Agent": "socialbridge",
            },
            timeout=timeout,
        )
        self._limits_lock = threading.Lock()
        self._limits: tuple[int, int] | None = None
        self._limits_read_at = 0.0

    def fetch(self, cursor: str | None) -> FetchResult:
        self._refresh_limits()
        if cursor is None:
            # First start: remember where "now" is and import no history. "0" means "there
            # was nothing yet", so every later notification counts as new.
            newest = self._notifications({"limit": 1})
            return FetchResult(posts=[], cursor=_max_id(newest) or "0")
        posts: list[Post] = []
        position = cursor
        for _ in range(MAX_PAGES_PER_POLL):
            # min_id pages forward from the cursor: the oldest notifications newer than it.
            page = self._notifications({"min_id": position, "limit": PAGE_SIZE})
            if not page:
                break
            position = _max_id(page) or position
            for notification in page:
                post = self._post_from(notification)
                if post is not None:
                    posts.append(post)
            if len(page) < PAGE_SIZE:
                break
        posts.sort(key=lambda p: (p.created_at, _id_order(p.remote_id)))
        return FetchResult(posts=posts, cursor=position)

    def prepare_reply(self, text: str, *, to: ReplyTarget) -> str:
        mention = "@" + to.author_handle
        words = {word.rstrip(".,:;!?").lower() for word in text.split()}
        if mention.lower() in words:
            return text
        return f"{mention} {text}"

    def measure(self, text: str) -> LengthVerdict:
        limit, url_weight = self._instance_limits()
        return too_long_to_count(text, limit=limit) or LengthVerdict(
            count=mastodon_length(text, url_weight=url_weight), limit=limit
        )

    def reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply:
        # Idempotency-Key: Mastodon answers a repeated request with the status it already
        # made (kept for an hour), so a retry after a timeout cannot post twice.
        # https://docs.joinmastodon.org/methods/statuses/#headers
        response = send(
            self._client,
            "POST",
            "/api/v1/statuses",
            network="Mastodon",
            may_have_happened=True,
            headers={"Idempotency-Key": key},
            data={"status": text, "in_reply_to_id": to.remote_id, "visibility": to.visibility},
        )
        status = response.json()
        return SentReply(remote_id=str(status["id"]), url=str(status.get("url") or ""))

    def find_reply(self, *, to: ReplyTarget, text: str, key: str) -> SentReply | None:
        return None  # the Idempotency-Key makes a plain retry safe

    def verify(self) -> str:
        me = send(
            self._client, "GET", "/api/v1/accounts/verify_credentials", network="Mastodon"
        ).json()
        return f"@{me.get('acct', '?')}"

    def close(self) -> None:
        self._client.close()

    def _notifications(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        query = {"types[]": "mention", **params}
        body = send(
            self._client, "GET", "/api/v1/notifications", network="Mastodon", params=query
        ).json()
        if not isinstance(body, list):
            raise DeliveryError("Mastodon answered notifications with something not a list")
        return [n for n in body if isinstance(n, dict) and "id" in n]

    def _post_from(self, notification: dict[str, Any]) -> Post | None:
        """The mention as a Post, or None (logged) when the payload is not what we expect."""
        try:
            if notification.get("type") != "mention":
                return None
            status = notification["status"]
            account = status["account"]
            visibility = Visibility(status.get("visibility", "public"))
            return Post(
                remote_id=str(status["id"]),
                url=str(status.get("url") or status.get("uri") or ""),
                author=Author(
                    remote_id=str(account["id"]),
                    handle=str(account["acct"]),
                    display_name=str(account.get("display_name") or account["username"]),
                    url=str(account.get("url") or ""),
                ),
                text=mastodon_html_to_text(str(status.get("content") or "")),
                created_at=datetime.fromisoformat(str(status["created_at"]).replace("Z", "+00:00")),
                visibility=visibility,
                in_reply_to=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning(
                "account %s: skipped malformed Mastodon notification %r (%s: %s)",
                self.account.name,
                notification.get("id"),
                type(exc).__name__,
                exc,
            )
            return None

    def _instance_limits(self) -> tuple[int, int]:
        with self._limits_lock:
            return self._limits or (DEFAULT_MAX_CHARACTERS, DEFAULT_MASTODON_URL_WEIGHT)

    def _refresh_limits(self) -> None:
        """Read the instance's limits if unknown (every poll until it answers) or older
        than LIMITS_REFRESH_SECONDS. https://docs.joinmastodon.org/methods/instance/#v2"""
        with self._limits_lock:
            known = self._limits is not None
            if known and time.monotonic() - self._limits_read_at < LIMITS_REFRESH_SECONDS:
                return
        try:
            config = send(self._client, "GET", "/api/v2/instance", network="Mastodon").json()
            statuses = config["configuration"]["statuses"]
            limits = (int(statuses["max_characters"]), int(statuses["characters_reserved_per_url"]))
        except (DeliveryError, KeyError, TypeError, ValueError) as exc:
            logger.log(
                logging.DEBUG if known else logging.WARNING,
                "account %s: instance limits unavailable (%s); using %s",
                self.account.name,
                exc,
                self._instance_limits(),
            )
            return
        with self._limits_lock:
            self._limits = limits
            self._limits_read_at = time.monotonic()


def _id_order(remote_id: str) -> tuple[int, str]:
    # Mastodon ids are integers in strings; compare by length first, then digits.
    return (len(remote_id), remote_id)


def _max_id(notifications: list[dict[str, Any]]) -> str | None:
    ids = [str(n["id"]) for n in notifications]
    return max(ids, key=_id_order) if ids else None
