"""`FakeMastodon`: one Mastodon server (the brand's) over real loopback HTTP.

Configure the account's `server` as `fake.base_url` and its token as `fake.token`. Entities
and parameters follow https://docs.joinmastodon.org (Status, Account, Notification,
Instance; paging with max_id/since_id/min_id and Link headers; Idempotency-Key on
POST /api/v1/statuses; X-RateLimit-* headers on every answer). This module is the HTTP
side (authentication, routes, paging, rate-limit headers, faults) and the test-facing
readers; the records and scene-setting helpers are `MastodonWorld` (mastodon_world.py),
the Instance entities mastodon_instance.py.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox import mastodon_html, mastodon_instance
from bot.sandbox.faults import Fault
from bot.sandbox.http import Request, Response, retry_after_value
from bot.sandbox.mastodon_world import Json, MastodonWorld, copy_json, iso

__all__ = ["FakeMastodon", "MastodonError"]

IDEMPOTENCY_SECONDS = 3600  # "Idempotency keys are stored for up to 1 hour"
VISIBILITIES = ("public", "unlisted", "private", "direct")
IN_REPLY_NOT_FOUND = "The post you are trying to reply to does not appear to exist."


class MastodonError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeMastodon(MastodonWorld):
    """The brand's server: its account, customers (local or remote), statuses,
    notifications; the brand's token is the only one it accepts."""

    # --- looking at the result -------------------------------------------------------

    def brand_statuses(self) -> list[Json]:
        """Statuses the brand posted, oldest first."""
        with self._lock:
            return [copy_json(s) for s in self.statuses.values() if s["account"] is self.brand]

    def statuses_replying_to(self, status_id: str) -> list[Json]:
        with self._lock:
            return [
                copy_json(s) for s in self.statuses.values() if s["in_reply_to_id"] == status_id
            ]

    def status(self, status_id: str) -> Json | None:
        with self._lock:
            found = self.statuses.get(status_id)
            return None if found is None else copy_json(found)

    def notifications(self) -> list[Json]:
        """The brand's notifications, newest first."""
        with self._lock:
            return [copy_json(n) for n in reversed(self._notifications)]

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
        return Response.of_json(mastodon_instance.instance_v2(self))

    def _instance_v1(self, req: Request) -> Response:
        return Response.of_json(mastodon_instance.instance_v1(self))

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
            ("X-RateLimit-Reset", iso(reset, micro=True)),
        ]


def _needs_auth(method: str, template: str) -> bool:
    return method != "GET" or template in (
        "/api/v1/notifications",
        "/api/v1/notifications/:id",
        "/api/v1/accounts/verify_credentials",
    )


def _int(value: Any) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _limit(value: Any, default: int, maximum: int) -> int:
    parsed = _int(value)
    return default if parsed is None or parsed <= 0 else min(parsed, maximum)
