"""`XAccount`: the brand's X account behind `FakeX`, with its tokens and rate limits.

It holds the records (an `XWorld`, x_world.py), the scene-setting helpers (users, customer
Posts, raw mentions, expired or revoked tokens) and the test-facing readers, plus what
belongs to the account rather than to one route: the OAuth 2.0 user tokens (bearer checks
and POST /2/oauth2/token, whose refresh token rotates on every use) and the per-route
15-minute rate-limit windows with their x-rate-limit-* headers. `FakeX` (x_api.py) adds
the routes.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping

from bot.sandbox.http import Request, Response, RoutedServer
from tests.fakes.x_params import XError, basic_auth, problem
from tests.fakes.x_world import Json, UserRef, XWorld

# Per user and 15-minute window: https://docs.x.com/x-api/fundamentals/rate-limits
DEFAULT_RATE_LIMITS: Mapping[str, int] = {
    "GET /2/users/me": 75,
    "GET /2/users/:id/mentions": 300,
    "GET /2/users/:id/tweets": 900,
    "GET /2/tweets/:id": 900,
    "POST /2/tweets": 100,
}
WINDOW_SECONDS = 900


class XAccount(RoutedServer):
    """The brand's X account, its customers and their Posts; one user token pair."""

    def __init__(
        self,
        *,
        brand_username: str = "acme",
        brand_name: str = "ACME",
        access_token: str = "sandbox-x-access-token",
        refresh_token: str = "sandbox-x-refresh-token",
        client_id: str = "sandbox-x-client-id",
        client_secret: str | None = None,
        token_lifetime: float = 7200.0,
        restrict_replies: bool = True,
        reject_duplicates: bool = True,
        rate_limits: Mapping[str, int] | None = DEFAULT_RATE_LIMITS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.world = XWorld(brand_username=brand_username, brand_name=brand_name, lock=self._lock)
        self.brand = self.world.brand
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.restrict_replies = restrict_replies
        self.reject_duplicates = reject_duplicates
        self.rate_limits = dict(rate_limits) if rate_limits is not None else None
        self.refreshes = 0
        self._access: dict[str, float | None] = {access_token: None}  # token -> expires at
        self._refresh = refresh_token
        self._windows: dict[str, tuple[float, int]] = {}

    # --- setting the scene -------------------------------------------------------------

    @property
    def access_token(self) -> str:
        """The newest valid access token."""
        with self._lock:
            return list(self._access)[-1]

    @property
    def refresh_token(self) -> str:
        with self._lock:
            return self._refresh

    def add_user(self, username: str, name: str | None = None) -> Json:
        return dict(self.world.add_user(username, name))

    def customer_tweets(
        self,
        user: UserRef,
        text: str,
        *,
        in_reply_to: str | None = None,
        quote: str | None = None,
        mention_brand: bool = True,
        summons: bool | None = None,
        at: float | None = None,
        note: str | None = None,
    ) -> Json:
        """A customer posts `text`; "@brand " is put in front unless already there.
        `summons=False` makes X refuse the brand's replies to it (as when the brand only
        appears in an inherited reply prefix); `at` backdates it (its id too)."""
        with self._lock:
            author = self.world.user(user)
            brand = self.brand["username"]
            named = re.search(rf"(?<![\w@])@{re.escape(brand)}\b", text, re.IGNORECASE)
            if mention_brand and not named:
                text = f"@{brand} {text}"
            tweet = self.world.create(
                author,
                text,
                in_reply_to=in_reply_to,
                quote=quote,
                summons=summons,
                at=at,
                note=note,
            )
            self.notify_changed()
            return self.world.public(tweet)

    def inject_mention(self, payload: Json) -> None:
        """A mention served exactly as given (for malformed-payload tests); needs an "id"."""
        with self._lock:
            self.world.raw_mentions.append(dict(payload))

    def expire_access_tokens(self) -> None:
        """Every access token given so far stops working, as after its two hours."""
        with self._lock:
            for token in self._access:
                self._access[token] = 0.0

    def revoke_refresh_token(self) -> None:
        with self._lock:
            self._refresh = "revoked-" + secrets.token_hex(8)

    # --- looking at the result ---------------------------------------------------------

    def brand_tweets(self) -> list[Json]:
        """The brand's Posts, oldest first, text as stored (t.co links, reply prefix)."""
        with self._lock:
            mine = [t for t in self.world.tweets.values() if t["author_id"] == self.brand["id"]]
            return [self.world.public(t) for t in sorted(mine, key=lambda t: int(t["id"]))]

    def replies_to(self, tweet_id: str) -> list[Json]:
        with self._lock:
            return [
                self.world.public(t)
                for t in self.world.tweets.values()
                if any(
                    r["type"] == "replied_to" and r["id"] == tweet_id
                    for r in t.get("referenced_tweets", [])
                )
            ]

    def tweet(self, tweet_id: str) -> Json | None:
        with self._lock:
            found = self.world.tweets.get(tweet_id)
            return None if found is None else self.world.public(found)

    # --- tokens and rate limits ----------------------------------------------------------

    def _token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in req.form.items()}
        if self.client_secret is not None:
            if basic_auth(req) != (self.client_id, self.client_secret):
                raise XError(
                    401,
                    {
                        "error": "unauthorized_client",
                        "error_description": "Missing valid authorization header",
                    },
                )
        elif form.get("client_id") != self.client_id:
            raise XError(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Missing required parameter [client_id].",
                },
            )
        if form.get("grant_type") != "refresh_token":
            raise XError(
                400,
                {"error": "unsupported_grant_type", "error_description": "Grant type unknown."},
            )
        if form.get("refresh_token") != self._refresh:
            raise XError(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
            )
        access = "x-access-" + secrets.token_urlsafe(24)
        self._refresh = "x-refresh-" + secrets.token_urlsafe(24)
        self._access[access] = time.time() + self.token_lifetime
        self.refreshes += 1
        return Response.of_json(
            {
                "token_type": "bearer",
                "expires_in": int(self.token_lifetime),
                "access_token": access,
                "scope": "tweet.read tweet.write users.read offline.access",
                "refresh_token": self._refresh,
            }
        )

    def _authenticate(self, request: Request) -> None:
        token = request.bearer_token()
        with self._lock:
            known = token is not None and token in self._access
            expires = self._access.get(token or "")
        if not known or (expires is not None and expires <= time.time()):
            raise problem(401, "Unauthorized", "Unauthorized")

    def _count(self, route: str) -> None:
        if self.rate_limits is None or route not in self.rate_limits:
            return
        with self._lock:
            now = time.time()
            start = now - now % WINDOW_SECONDS
            window_start, used = self._windows.get(route, (start, 0))
            used = used + 1 if window_start == start else 1
            self._windows[route] = (start, used)
        if used > self.rate_limits[route]:
            raise problem(429, "Too Many Requests", "Too Many Requests")

    def _limit_headers(self, route: str, *, exhausted: bool = False) -> list[tuple[str, str]]:
        if self.rate_limits is None or route not in self.rate_limits:
            return []
        limit = self.rate_limits[route]
        now = time.time()
        start = now - now % WINDOW_SECONDS
        with self._lock:
            window_start, used = self._windows.get(route, (start, 0))
        used = used if window_start == start else 0
        remaining = 0 if exhausted else max(0, limit - used)
        return [
            ("x-rate-limit-limit", str(limit)),
            ("x-rate-limit-remaining", str(remaining)),
            ("x-rate-limit-reset", str(int(start + WINDOW_SECONDS))),
        ]
