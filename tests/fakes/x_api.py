"""`FakeX`: the X API v2 for one brand account, over real loopback HTTP.

Configure the account's `server` as `fake.base_url`, its token as `fake.access_token`, its
refresh token as `fake.refresh_token` and its client id as `fake.client_id`. The JSON follows
https://docs.x.com: Post and User objects with `tweet.fields`/`user.fields`/`expansions`,
`data`/`includes`/`meta` with `next_token` paging, errors as problem objects
{"title", "detail", "type", "status"} (400s list the bad parameters under "errors"),
x-rate-limit-limit/-remaining/-reset (epoch seconds) on every limited route, and 429 with no
Retry-After (X sends none). Routes:

- GET /2/users/me, GET /2/users/:id/mentions, GET /2/users/:id/tweets, GET /2/tweets/:id
- POST /2/tweets, with the self-serve reply rule: a reply is refused with 403 unless the Post
  answered mentions or quotes the brand (https://docs.x.com/x-api/posts/manage-tweets/integrate)
  and a Post identical to one of the brand's is refused as duplicate content
- POST /2/oauth2/token (grant_type=refresh_token; public or confidential client); the refresh
  token rotates on every use

This module holds the routes and their answers (paging, fields, expansions, the reply and
duplicate rules, problem-object faults); the account, its tokens and rate limits are
`XAccount` (x_account.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus

from twitter_text import parse_tweet  # type: ignore[import-untyped]

from bot.sandbox.faults import Fault
from bot.sandbox.http import Request, Response
from tests.fakes.x_account import DEFAULT_RATE_LIMITS, XAccount
from tests.fakes.x_params import (
    EXPANSIONS,
    INVALID_REQUEST,
    TWEET_FIELDS,
    USER_FIELDS,
    XError,
    encode_token,
    field_list,
    id_param,
    int_param,
    problem,
    time_param,
    token_param,
)
from tests.fakes.x_world import Json

__all__ = ["DEFAULT_RATE_LIMITS", "FakeX"]

MENTIONS_CAP = 800  # the mention timeline serves the 800 newest
TIMELINE_CAP = 3200
NOT_SUMMONED = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
NOT_VISIBLE = "You attempted to reply to a Tweet that is deleted or not visible to you."

Handler = Callable[..., Response]


class FakeX(XAccount):
    """The X API v2 routes of the brand's account (see the module docstring)."""

    # --- the HTTP side -----------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        for method, pattern, template, handler in self._routes():
            match = pattern.fullmatch(request.path)
            if not match or method != request.method:
                continue
            route = f"{method} {template}"
            try:
                if template != "/2/oauth2/token":
                    self._authenticate(request)
                    self._count(route)
                with self._lock:
                    return handler(request, *match.groups())
            except XError as exc:
                headers = self._limit_headers(route, exhausted=exc.status == 429)
                return Response.of_json(exc.body, exc.status, headers)
        return Response.of_json(problem(404, "Not Found Error", "Not found").body, 404)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        status = fault.status
        headers = list(fault.headers.items())
        if status == 429:
            reset = math.ceil(time.time() + (fault.retry_after or 1.0))
            route = self.route_names(request)[0]
            limit = (self.rate_limits or {}).get(route, 300)
            headers += [
                ("x-rate-limit-limit", str(limit)),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", str(reset)),
            ]
        if fault.body is not None:
            content_type = fault.content_type or "text/plain; charset=utf-8"
            return Response.of_text(fault.body, status, content_type, headers)
        title = _phrase(status)
        return Response.of_json(problem(status, title, fault.error or title).body, status, headers)

    def decorate(self, request: Request, response: Response) -> None:
        if any(name.lower() == "x-rate-limit-limit" for name, _ in response.headers):
            return
        response.headers += self._limit_headers(self.route_names(request)[0])

    # --- endpoints ---------------------------------------------------------------------

    def route_table(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/2/users/me", self._users_me),
            ("GET", "/2/users/:id/mentions", self._mentions),
            ("GET", "/2/users/:id/tweets", self._user_tweets),
            ("GET", "/2/tweets/:id", self._get_tweet),
            ("POST", "/2/tweets", self._post_tweet),
            ("POST", "/2/oauth2/token", self._token),
        ]

    def _users_me(self, req: Request) -> Response:
        fields = field_list(req, "user.fields", USER_FIELDS)
        return Response.of_json({"data": _user_view(self.brand, fields)})

    def _mentions(self, req: Request, user_id: str) -> Response:
        user = self._user_by_id(user_id)
        mentioning = [t for t in self.world.tweets.values() if self.world.mentions_user(t, user)]
        return self._timeline(req, mentioning, cap=MENTIONS_CAP, raw=self.world.raw_mentions)

    def _user_tweets(self, req: Request, user_id: str) -> Response:
        user = self._user_by_id(user_id)
        excluded = set(str(req.get("exclude") or "").split(",")) - {""}
        own = [
            t
            for t in self.world.tweets.values()
            if t["author_id"] == user["id"]
            and not ("replies" in excluded and "in_reply_to_user_id" in t)
        ]
        return self._timeline(req, own, cap=TIMELINE_CAP)

    def _get_tweet(self, req: Request, tweet_id: str) -> Response:
        tweet = self.world.tweets.get(tweet_id)
        if tweet is None:
            detail = f"Could not find tweet with id: [{tweet_id}]."
            raise problem(404, "Not Found Error", detail)
        fields = field_list(req, "tweet.fields", TWEET_FIELDS)
        return Response.of_json({"data": self.world.rendered(tweet, fields)})

    def _post_tweet(self, req: Request) -> Response:
        body: Json = req.json if isinstance(req.json, dict) else {}
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise problem(400, "Invalid Request", "text: must not be empty", INVALID_REQUEST)
        if int(parse_tweet(text).weightedLength) > 280:
            raise problem(400, "Invalid Request", "Text is too long.", INVALID_REQUEST)
        reply = body.get("reply") or {}
        target_id = str(reply.get("in_reply_to_tweet_id") or "") or None
        target = self.world.tweets.get(target_id) if target_id else None
        if target_id and target is None:
            raise problem(403, "Forbidden", NOT_VISIBLE)
        if (
            target is not None
            and self.restrict_replies
            and target["author_id"] != self.brand["id"]
            and not target["_summons"]
        ):
            raise problem(403, "Forbidden", NOT_SUMMONED)
        if self.reject_duplicates and any(
            t["author_id"] == self.brand["id"] and t.get("_typed") == text
            for t in self.world.tweets.values()
        ):
            raise problem(403, "Forbidden", DUPLICATE)
        stored = text
        if target is not None and target["author_id"] != self.brand["id"]:
            # X puts the @name of the person answered in front of a reply by itself.
            answered = self.world.users[target["author_id"]]["username"]
            if not text.lower().startswith(f"@{answered.lower()}"):
                stored = f"@{answered} {text}"
        tweet = self.world.create(self.brand, stored, in_reply_to=target_id)
        tweet["_typed"] = text
        data = {
            "id": tweet["id"],
            "text": tweet["text"],
            "edit_history_tweet_ids": tweet["edit_history_tweet_ids"],
        }
        return Response.of_json({"data": data}, 201)

    # --- internals -----------------------------------------------------------------------

    def _timeline(
        self, req: Request, items: list[Json], *, cap: int, raw: list[Json] | None = None
    ) -> Response:
        """X's id paging: newest first, since_id/until_id/start_time/end_time filters,
        max_results 5..100 (default 10), next_token while more remain."""
        size = int_param(req, "max_results", default=10, low=5, high=100)
        since, until = id_param(req, "since_id"), id_param(req, "until_id")
        start, end = time_param(req, "start_time"), time_param(req, "end_time")
        before = token_param(req)
        fields = field_list(req, "tweet.fields", TWEET_FIELDS)
        user_fields = field_list(req, "user.fields", USER_FIELDS)
        expansions = field_list(req, "expansions", EXPANSIONS)
        pool: list[Json] = sorted(items + (raw or []), key=lambda t: int(t["id"]), reverse=True)
        chosen = [
            t
            for t in pool[:cap]
            if (since is None or int(t["id"]) > since)
            and (until is None or int(t["id"]) < until)
            and (before is None or int(t["id"]) < before)
            and (start is None or _created(t) >= start)
            and (end is None or _created(t) <= end)
        ]
        page = chosen[:size]
        data = [t if raw and t in raw else self.world.rendered(t, fields) for t in page]
        body: Json = {}
        meta: Json = {"result_count": len(data)}
        if data:
            body["data"] = data
            meta["newest_id"], meta["oldest_id"] = str(page[0]["id"]), str(page[-1]["id"])
            if "author_id" in expansions:
                authors = {str(t.get("author_id")) for t in page}
                users = [self.world.users[a] for a in sorted(authors) if a in self.world.users]
                body["includes"] = {"users": [_user_view(u, user_fields) for u in users]}
        if len(chosen) > size:
            meta["next_token"] = encode_token(int(page[-1]["id"]))
        body["meta"] = meta
        return Response.of_json(body)

    def _user_by_id(self, user_id: str) -> Json:
        found = self.world.users.get(user_id)
        if found is None:
            raise problem(404, "Not Found Error", f"Could not find user with id: [{user_id}].")
        return found


def _user_view(user: Json, fields: set[str]) -> Json:
    view: Json = {"id": user["id"], "name": user["name"], "username": user["username"]}
    for name in sorted(fields):
        if name in user:
            view[name] = user[name]
    return view


def _created(tweet: Json) -> float:
    try:
        return datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError):
        return 0.0


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
