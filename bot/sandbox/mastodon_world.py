"""`MastodonWorld`: what the fake Mastodon server knows, and the helpers that set its scene.

It holds the brand's account, the customers (local or remote), the statuses and the
brand's notifications, with Mastodon's snowflake-shaped ids; `add_account`,
`customer_posts`, `raw_status`, `add_notification` and `delete_status` change them as the
server would (content rendered by mastodon_html.py, mention notifications, reply counts),
and the HTTP side, `FakeMastodon` (mastodon_api.py), reads and writes the same records.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import mastodon_html
from bot.sandbox.http import RoutedServer

Json = dict[str, Any]
AccountRef = Mapping[str, Any] | str


class MastodonWorld(RoutedServer):
    """The brand's server's records. The rate limit's settings and window are set up here
    too, beside the ids: both are counted under `_id_lock`."""

    def __init__(
        self,
        *,
        token: str = "sandbox-mastodon-token",
        brand_username: str = "acme",
        brand_display_name: str = "ACME",
        max_characters: int = 500,
        rate_limit: int | None = 300,
        rate_limit_period: float = 300.0,
        first_notification_id: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.max_characters = max_characters
        self.rate_limit = rate_limit
        self.rate_limit_period = rate_limit_period
        self.accounts: dict[str, Json] = {}
        self.statuses: dict[str, Json] = {}  # in creation order
        self._notifications: list[Json] = []  # ascending id
        self._idempotency: dict[str, tuple[str, float]] = {}
        self._sources: dict[str, str] = {}  # the brand's plain text, for DELETE's answer
        self._last_snowflake = 0
        self._next_notification = first_notification_id
        self._window: tuple[float, int] = (0.0, 0)
        self._id_lock = threading.Lock()
        self.brand = self.add_account(brand_username, brand_display_name)

    @property
    def domain(self) -> str:
        return urllib.parse.urlsplit(self.base_url).netloc

    # --- setting the scene -----------------------------------------------------------

    def add_account(
        self,
        username: str,
        display_name: str | None = None,
        domain: str | None = None,
        *,
        bot: bool = False,
    ) -> Json:
        """A local account (acct "username") or a remote one (acct "username@domain")."""
        with self._lock:
            account_id = self._snowflake()
            if domain is None:
                url, uri = f"{self.base_url}/@{username}", f"{self.base_url}/users/{username}"
            else:
                url, uri = f"https://{domain}/@{username}", f"https://{domain}/users/{username}"
            account: Json = {
                "id": account_id,
                "username": username,
                "acct": username if domain is None else f"{username}@{domain}",
                "display_name": display_name if display_name is not None else username,
                "locked": False,
                "bot": bot,
                "discoverable": True,
                "group": False,
                "created_at": iso(time.time()),
                "note": "",
                "url": url,
                "uri": uri,
                "avatar": f"{self.base_url}/avatars/original/missing.png",
                "avatar_static": f"{self.base_url}/avatars/original/missing.png",
                "header": f"{self.base_url}/headers/original/missing.png",
                "header_static": f"{self.base_url}/headers/original/missing.png",
                "followers_count": 0,
                "following_count": 0,
                "statuses_count": 0,
                "last_status_at": None,
                "emojis": [],
                "fields": [],
            }
            self.accounts[account_id] = account
            return account

    def customer_posts(
        self,
        account: AccountRef,
        text: str,
        visibility: str = "public",
        in_reply_to_id: str | None = None,
        mention_brand: bool = True,
        *,
        spoiler_text: str = "",
        language: str = "en",
        sensitive: bool = False,
    ) -> Json:
        """A customer writes `text`; "@brand " is put in front unless already there.
        A status that mentions the brand gives the brand a "mention" notification."""
        with self._lock:
            author = self._account(account)
            brand = self.brand["username"]
            already = re.search(rf"(?<![\w@])@{re.escape(brand)}(?![\w])", text, re.IGNORECASE)
            if mention_brand and not already:
                text = f"@{brand} {text}"
            return self._create(
                author,
                text,
                visibility=visibility,
                in_reply_to_id=in_reply_to_id,
                spoiler_text=spoiler_text,
                language=language,
                sensitive=sensitive,
            )

    def raw_status(
        self,
        account: AccountRef,
        content: str,
        *,
        visibility: str = "public",
        in_reply_to_id: str | None = None,
        mentions: Sequence[AccountRef] | None = None,
        notify: bool | None = None,
        spoiler_text: str = "",
        language: str | None = "en",
        tags: Sequence[str] = (),
        media_attachments: Sequence[Json] = (),
    ) -> Json:
        """A status with arbitrary `content` HTML (as another server might send it);
        mentions default to the brand, and a brand mention notifies unless `notify=False`."""
        with self._lock:
            author = self._account(account)
            mentioned = [self._account(a) for a in (mentions if mentions is not None else [])]
            if mentions is None:
                mentioned = [self.brand]
            status = self._store(
                author,
                content,
                mentioned,
                list(tags),
                visibility=visibility,
                in_reply_to_id=in_reply_to_id,
                spoiler_text=spoiler_text,
                language=language,
                sensitive=False,
                media=list(media_attachments),
            )
            brand_mentioned = any(m["id"] == self.brand["id"] for m in mentioned)
            if (brand_mentioned if notify is None else notify) and author is not self.brand:
                self.add_notification("mention", author, status)
            return status

    def add_notification(self, type: str, account: AccountRef, status: Json | None = None) -> Json:
        """Any notification for the brand ("favourite", "follow", ...), for filter tests."""
        with self._lock:
            notification: Json = {
                "id": str(self._next_notification),
                "type": type,
                "created_at": iso(time.time()),
                "group_key": f"ungrouped-{self._next_notification}",
                "account": self._account(account),
            }
            if status is not None:
                notification["status"] = status
            self._next_notification += 1
            self._notifications.append(notification)
            self.notify_changed()
            return notification

    def delete_status(self, status_id: str) -> None:
        """The author deletes a status: it 404s from now on and its notifications go."""
        with self._lock:
            status = self.statuses.pop(status_id)
            status["account"]["statuses_count"] -= 1
            self._notifications = [
                n for n in self._notifications if (n.get("status") or {}).get("id") != status_id
            ]
            parent = self.statuses.get(status.get("in_reply_to_id") or "")
            if parent is not None:
                parent["replies_count"] -= 1
            self.notify_changed()

    # --- internals -------------------------------------------------------------------

    def _create(
        self,
        author: Json,
        text: str,
        *,
        visibility: str,
        in_reply_to_id: str | None,
        spoiler_text: str,
        language: str,
        sensitive: bool,
    ) -> Json:
        rendered = mastodon_html.render(text, self._resolve, lambda t: f"{self.base_url}/tags/{t}")
        status = self._store(
            author,
            rendered.html,
            rendered.mentions,
            rendered.tags,
            visibility=visibility,
            in_reply_to_id=in_reply_to_id,
            spoiler_text=spoiler_text,
            language=language,
            sensitive=sensitive,
            media=[],
        )
        if author is not self.brand and any(m["id"] == self.brand["id"] for m in rendered.mentions):
            self.add_notification("mention", author, status)
        return status

    def _store(
        self,
        author: Json,
        content: str,
        mentions: list[Json],
        tags: list[str],
        *,
        visibility: str,
        in_reply_to_id: str | None,
        spoiler_text: str,
        language: str | None,
        sensitive: bool,
        media: list[Json],
    ) -> Json:
        parent = self.statuses.get(in_reply_to_id) if in_reply_to_id else None
        if in_reply_to_id and parent is None:
            raise ValueError(f"no status {in_reply_to_id} to reply to")
        status_id = self._snowflake()
        url, uri = f"{author['url']}/{status_id}", f"{author['uri']}/statuses/{status_id}"
        status: Json = {
            "id": status_id,
            "created_at": iso(time.time()),
            "in_reply_to_id": parent["id"] if parent else None,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None,
            "sensitive": sensitive or bool(spoiler_text),
            "spoiler_text": spoiler_text,
            "visibility": visibility,
            "language": language,
            "uri": uri,
            "url": url,
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "content": content,
            "filtered": [],
            "reblog": None,
            "account": author,
            "media_attachments": media,
            "mentions": [
                {"id": m["id"], "username": m["username"], "url": m["url"], "acct": m["acct"]}
                for m in mentions
            ],
            "tags": [{"name": t.lower(), "url": f"{self.base_url}/tags/{t.lower()}"} for t in tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        self.statuses[status_id] = status
        author["statuses_count"] += 1
        author["last_status_at"] = status["created_at"][:10]
        if parent is not None:
            parent["replies_count"] += 1
        self.notify_changed()
        return status

    def _thread_order(self, root_id: str) -> list[Json]:
        """Descendants depth-first, siblings oldest first, as /context lists them."""
        ordered: list[Json] = []

        def walk(parent_id: str) -> None:
            for child in self.statuses.values():
                if child["in_reply_to_id"] == parent_id:
                    ordered.append(child)
                    walk(child["id"])

        walk(root_id)
        return ordered

    def _resolve(self, username: str, domain: str | None) -> Json | None:
        local = domain is None or domain.lower() == self.domain.lower()
        for account in self.accounts.values():
            if account["username"].lower() != username.lower():
                continue
            if local and account["acct"] == account["username"]:
                return account
            if not local and account["acct"].lower() == f"{username}@{domain}".lower():
                return account
        return None

    def _account(self, ref: AccountRef) -> Json:
        if isinstance(ref, str):
            for account in self.accounts.values():
                if ref in (account["id"], account["acct"], f"@{account['acct']}"):
                    return account
            raise ValueError(f"unknown account {ref}: add_account() first")
        found = self.accounts.get(str(ref.get("id")))
        if found is None:
            raise ValueError(f"unknown account {ref.get('acct')}: add_account() first")
        return found

    def _snowflake(self) -> str:
        """Increasing ids shaped like Mastodon's: milliseconds << 16 plus a sequence."""
        with self._id_lock:
            value = max(int(time.time() * 1000) << 16, self._last_snowflake + 1)
            self._last_snowflake = value
            return str(value)


def iso(moment: float, *, micro: bool = False) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    if micro:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def copy_json(data: Json) -> Json:
    copied: Json = json.loads(json.dumps(data))
    return copied
