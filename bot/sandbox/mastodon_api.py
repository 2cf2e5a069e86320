"""`FakeMastodon`: one Mastodon server (the brand's) over real loopback HTTP.

Configure the account's `server` as `fake.base_url` and its token as `fake.token`. Entities
and parameters follow https://docs.joinmastodon.org (Status, Account, Notification,
Instance; paging with max_id/since_id/min_id and Link headers; Idempotency-Key on
POST /api/v1/statuses; X-RateLimit-* headers on every answer).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import mastodon_html
from bot.sandbox.faults import Fault
from bot.sandbox.http import Request, Response, RoutedServer, retry_after_value

__all__ = ["FakeMastodon", "MastodonError"]

Json = dict[str, Any]
AccountRef = Mapping[str, Any] | str

IDEMPOTENCY_SECONDS = 3600  # "Idempotency keys are stored for up to 1 hour"
VISIBILITIES = ("public", "unlisted", "private", "direct")
IN_REPLY_NOT_FOUND = "The post you are trying to reply to does not appear to exist."


class MastodonError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeMastodon(RoutedServer):
    """The brand's server: its account, customers (local or remote), statuses,
    notifications; the brand's token is the only one it accepts."""

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
                "created_at": _iso(time.time()),
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
                "created_at": _iso(time.time()),
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

    # --- looking at the result -------------------------------------------------------

    def brand_statuses(self) -> list[Json]:
        """Statuses the brand posted, oldest first."""
        with self._lock:
            return [_copy(s) for s in self.statuses.values() if s["account"] is self.brand]

    def statuses_replying_to(self, status_id: str) -> list[Json]:
        with self._lock:
            return [_copy(s) for s in self.statuses.values() if s["in_reply_to_id"] == status_id]

    def status(self, status_id: str) -> Json | None:
        with self._lock:
            found = self.statuses.get(status_id)
            return None if found is None else _copy(found)

    def notifications(self) -> list[Json]:
        """The brand's notifications, newest first."""
        with self._lock:
            return [_copy(n) for n in reversed(self._notifications)]

    # --- the HTTP side ---------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        for method, pattern, _template, handler in self._routes():
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                try:
                    self._authenticate(request, required=_needs_auth(method, _template))
                    self._count_request()
                    with self._lock:
                        return handler(request, *match.groups())
                except MastodonError as exc:
                    return Response.of_json({"error": exc.message}, exc.status)
        return Response.of_json({"error": "Record not found"}, 404)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        headers = list(fault.headers.items())
        if fault.status == 429:
            wait = fault.retry_after if fault.retry_after is not None else 1.0
            headers += self._limit_headers(remaining=0, reset=time.time() + wait)
            if fault.retry_after is not None:
                headers.append(("Retry-After", retry_after_value(fault.retry_after)))
            if fault.body is None:
                error = fault.error or "Too many requests"
                return Response.of_json({"error": error}, 429, headers)
        if fault.body is None and fault.status >= 500 and fault.error is None:
            return self.outage_response(fault.status, request)  # nginx's HTML, not JSON
        return super().fault_response(fault, request)

    def decorate(self, request: Request, response: Response) -> None:
        if not any(name.lower() == "x-ratelimit-limit" for name, _ in response.headers):
            response.headers += self._limit_headers()

    # --- endpoints -------------------------------------------------------------------

    def route_table(self) -> list[tuple[str, str, Callable[..., Response]]]:
        return [
            ("GET", "/api/v1/notifications", self._get_notifications),
            ("GET", "/api/v1/notifications/:id", self._get_notification),
            ("GET", "/api/v1/accounts/verify_credentials", self._verify_credentials),
            ("GET", "/api/v1/accounts/:id", self._get_account),
            ("GET", "/api/v1/accounts/:id/statuses", self._account_statuses),
            ("GET", "/api/v2/instance", self._instance_v2),
            ("GET", "/api/v1/instance", self._instance_v1),
            ("POST", "/api/v1/statuses", self._post_status),
            ("GET", "/api/v1/statuses/:id", self._get_status),
            ("DELETE", "/api/v1/statuses/:id", self._delete_status),
            ("GET", "/api/v1/statuses/:id/context", self._context),
        ]

    def _get_notifications(self, req: Request) -> Response:
        types, excluded = set(req.get_list("types")), set(req.get_list("exclude_types"))
        chosen = [
            n
            for n in self._notifications
            if (not types or n["type"] in types) and n["type"] not in excluded
        ]
        keep = {k: v for k, v in req.query.items() if k in ("limit", "types[]", "exclude_types[]")}
        return self._page(req, chosen, keep, default=40, maximum=80)

    def _get_notification(self, req: Request, notification_id: str) -> Response:
        for n in self._notifications:
            if n["id"] == notification_id:
                return Response.of_json(n)
        raise MastodonError(404, "Record not found")

    def _verify_credentials(self, req: Request) -> Response:
        source = {
            "privacy": "public",
            "sensitive": False,
            "language": "",
            "note": "",
            "fields": [],
            "follow_requests_count": 0,
        }
        return Response.of_json({**self.brand, "source": source})

    def _get_account(self, req: Request, account_id: str) -> Response:
        return Response.of_json(self._account_by_id(account_id))

    def _account_statuses(self, req: Request, account_id: str) -> Response:
        account = self._account_by_id(account_id)
        exclude_replies = str(req.get("exclude_replies", "")).lower() in ("1", "true")
        chosen = [
            s
            for s in self.statuses.values()
            if s["account"] is account and not (exclude_replies and s["in_reply_to_id"])
        ]
        keep = {k: v for k, v in req.query.items() if k in ("limit", "exclude_replies")}
        return self._page(req, chosen, keep, default=20, maximum=40)

    def _instance_v2(self, req: Request) -> Response:
        return Response.of_json(
            {
                "domain": self.domain,
                "title": "Sandbox Mastodon",
                "version": "4.3.0",
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "A loopback fake for socialbridge's tests.",
                "usage": {"users": {"active_month": len(self.accounts)}},
                "thumbnail": {"url": f"{self.base_url}/thumbnail.png"},
                "languages": ["en"],
                "configuration": self._configuration(),
                "registrations": {"enabled": False, "approval_required": False, "message": None},
                "contact": {"email": "admin@sandbox.test", "account": None},
                "rules": [],
            }
        )

    def _instance_v1(self, req: Request) -> Response:
        return Response.of_json(
            {
                "uri": self.domain,
                "title": "Sandbox Mastodon",
                "short_description": "A loopback fake.",
                "description": "A loopback fake for socialbridge's tests.",
                "email": "admin@sandbox.test",
                "version": "4.3.0",
                "urls": {},
                "stats": {"user_count": len(self.accounts), "status_count": len(self.statuses)},
                "languages": ["en"],
                "registrations": False,
                "approval_required": False,
                "configuration": self._configuration(),
                "contact_account": None,
                "rules": [],
            }
        )

    def _post_status(self, req: Request) -> Response:
        key = req.header("idempotency-key")
        if key:
            seen = self._idempotency.get(key)
            if seen and time.time() - seen[1] < IDEMPOTENCY_SECONDS and seen[0] in self.statuses:
                return Response.of_json(self.statuses[seen[0]])  # the same status, nothing new
        text = str(req.get("status") or "")
        spoiler = str(req.get("spoiler_text") or "")
        media = req.get_list("media_ids")
        if not text.strip() and not media:
            raise MastodonError(422, "Validation failed: Text can't be blank")
        visibility = str(req.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            raise MastodonError(422, f"'{visibility}' is not a valid visibility")
        in_reply_to_id = str(req.get("in_reply_to_id") or "") or None
        if in_reply_to_id is not None and in_reply_to_id not in self.statuses:
            raise MastodonError(404, IN_REPLY_NOT_FOUND)
        if mastodon_html.countable_length(text, spoiler) > self.max_characters:
            limit = self.max_characters
            raise MastodonError(422, f"Validation failed: Text character limit of {limit} exceeded")
        status = self._create(
            self.brand,
            text,
            visibility=visibility,
            in_reply_to_id=in_reply_to_id,
            spoiler_text=spoiler,
            language=str(req.get("language") or "en"),
            sensitive=str(req.get("sensitive", "")).lower() in ("1", "true"),
        )
        status["application"] = {"name": "socialbridge", "website": None}
        self._sources[status["id"]] = text
        if key:
            self._idempotency[key] = (status["id"], time.time())
        return Response.of_json(status)

    def _get_status(self, req: Request, status_id: str) -> Response:
        return Response.of_json(self._status_by_id(status_id))

    def _delete_status(self, req: Request, status_id: str) -> Response:
        status = self._status_by_id(status_id)
        if status["account"] is not self.brand:
            raise MastodonError(403, "This action is not allowed")
        self.delete_status(status_id)
        return Response.of_json({**status, "text": self._sources.pop(status_id, "")})

    def _context(self, req: Request, status_id: str) -> Response:
        status = self._status_by_id(status_id)
        ancestors: list[Json] = []
        parent = self.statuses.get(status["in_reply_to_id"] or "")
        while parent is not None:
            ancestors.insert(0, parent)
            parent = self.statuses.get(parent["in_reply_to_id"] or "")
        descendants = self._thread_order(status["id"])
        return Response.of_json({"ancestors": ancestors, "descendants": descendants})

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
            "created_at": _iso(time.time()),
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

    def _page(
        self,
        req: Request,
        items: list[Json],
        keep: Mapping[str, list[str]],
        *,
        default: int,
        maximum: int,
    ) -> Response:
        """Mastodon's id paging: newest first; `min_id` gives the page right after it
        (the oldest newer ones), `since_id` the newest newer ones; Link next/prev."""
        limit = _limit(req.get("limit"), default, maximum)
        max_id, since_id, min_id = (_int(req.get(p)) for p in ("max_id", "since_id", "min_id"))
        chosen = [i for i in items if max_id is None or int(i["id"]) < max_id]
        if min_id is not None:
            page = [i for i in chosen if int(i["id"]) > min_id][:limit][::-1]
        else:
            chosen = [i for i in chosen if since_id is None or int(i["id"]) > since_id]
            page = chosen[-limit:][::-1] if limit else []
        headers: list[tuple[str, str]] = []
        if page:
            links = [
                f'<{self._link(req.path, keep, max_id=page[-1]["id"])}>; rel="next"',
                f'<{self._link(req.path, keep, min_id=page[0]["id"])}>; rel="prev"',
            ]
            headers.append(("Link", ", ".join(links)))
        return Response.of_json(page, headers=headers)

    def _link(self, path: str, keep: Mapping[str, list[str]], **cursor: str) -> str:
        pairs = [(k, v) for k, values in keep.items() for v in values]
        pairs += list(cursor.items())
        return f"{self.base_url}{path}?{urllib.parse.urlencode(pairs)}"

    def _configuration(self) -> Json:
        return {
            "urls": {"streaming": f"ws://{self.domain}"},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {
                "max_characters": self.max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": mastodon_html.URL_RESERVED,
            },
            "media_attachments": {
                "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "video/mp4"],
                "image_size_limit": 16777216,
                "image_matrix_limit": 33177600,
                "video_size_limit": 103809024,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8294400,
            },
            "polls": {
                "max_options": 4,
                "max_characters_per_option": 50,
                "min_expiration": 300,
                "max_expiration": 2629746,
            },
            "translation": {"enabled": False},
        }

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

    def _account_by_id(self, account_id: str) -> Json:
        found = self.accounts.get(account_id)
        if found is None:
            raise MastodonError(404, "Record not found")
        return found

    def _status_by_id(self, status_id: str) -> Json:
        found = self.statuses.get(status_id)
        if found is None:
            raise MastodonError(404, "Record not found")
        return found

    def _authenticate(self, request: Request, *, required: bool) -> None:
        token = request.bearer_token()
        if token is None and request.header("authorization") is None and not required:
            return
        if token != self.token:
            raise MastodonError(401, "The access token is invalid")

    def _count_request(self) -> None:
        """300 requests per 5 minutes per account, in windows aligned to the clock."""
        with self._id_lock:
            now = time.time()
            start = now - now % self.rate_limit_period
            window_start, count = self._window
            count = count + 1 if window_start == start else 1
            self._window = (start, count)
        if self.rate_limit is not None and count > self.rate_limit:
            raise MastodonError(429, "Too many requests")

    def _limit_headers(
        self, *, remaining: int | None = None, reset: float | None = None
    ) -> list[tuple[str, str]]:
        limit = self.rate_limit if self.rate_limit is not None else 300
        with self._id_lock:
            window_start, count = self._window
        now = time.time()
        current = now - now % self.rate_limit_period
        used = count if window_start == current else 0
        if remaining is None:
            remaining = max(0, limit - used)
        if reset is None:
            reset = current + self.rate_limit_period
        return [
            ("X-RateLimit-Limit", str(limit)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", _iso(reset, micro=True)),
        ]

    def _snowflake(self) -> str:
        """Increasing ids shaped like Mastodon's: milliseconds << 16 plus a sequence."""
        with self._id_lock:
            value = max(int(time.time() * 1000) << 16, self._last_snowflake + 1)
            self._last_snowflake = value
            return str(value)


def _needs_auth(method: str, template: str) -> bool:
    return method != "GET" or template in (
        "/api/v1/notifications",
        "/api/v1/notifications/:id",
        "/api/v1/accounts/verify_credentials",
    )


def _iso(moment: float, *, micro: bool = False) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    if micro:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _int(value: Any) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _limit(value: Any, default: int, maximum: int) -> int:
    parsed = _int(value)
    return default if parsed is None or parsed <= 0 else min(parsed, maximum)


def _copy(data: Json) -> Json:
    copied: Json = json.loads(json.dumps(data))
    return copied
