"""`FakeSlack`: the Slack Web API at `<base_url>/api/<method>`, over real loopback HTTP.

Point the bot at it with `SLACK_API_URL=fake.api_url`. Answers follow the documented JSON
(https://api.slack.com/methods): HTTP 200 with `"ok": true/false`, 429 + Retry-After with
`{"ok": false, "error": "ratelimited"}` when rate limited. This module holds the HTTP side
(authentication, dispatch to slack_methods.py, response URLs, faults) and the test-facing
switches and readers; the records live in `SlackWorkspace` (slack_workspace.py) and the
scene-setting and person helpers, whose `user_*` events `EventSender` (slack_events.py)
posts to the bot, in `SlackPeople` (slack_people.py).
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.faults import Fault
from bot.sandbox.http import Request, Response, retry_after_value
from bot.sandbox.slack_blockkit import block_errors
from bot.sandbox.slack_events import Delivery, EventSender
from bot.sandbox.slack_methods import METHODS
from bot.sandbox.slack_people import SlackPeople
from bot.sandbox.slack_state import SlackError
from bot.sandbox.slack_workspace import Json, Throttled

__all__ = ["Delivery", "EventSender", "FakeSlack", "SlackError"]


class FakeSlack(SlackPeople):
    """A one-workspace Slack: team T0SANDBOX, the bot user UBOT (bot_id BBOT)."""

    outage_status = 500

    # --- switches and senders --------------------------------------------------------

    def rate_limit_channels(self, per_second: float | None = 1.0, *, burst: int = 1) -> None:
        """Throttle chat.postMessage per channel like Slack (about 1 per second, short
        bursts allowed): over the limit it answers 429 with an integer Retry-After >= 1.
        `None` switches throttling off."""
        with self._lock:
            self._rate = None if per_second is None else (float(per_second), float(burst))
            self._buckets.clear()

    def refuse_blocks(self, error: str = "invalid_blocks", count: int | None = 1) -> None:
        """Answer `error` to the next `count` chat.postMessage / chat.update /
        chat.postEphemeral calls that carry blocks, valid or not: Slack has limits it does
        not document (msg_blocks_too_long) and a bot must survive them."""
        with self._lock:
            self._refusal = (error, count) if count is None or count > 0 else None

    def event_sender(self, url: str, signing_secret: str, *, timeout: float = 10.0) -> EventSender:
        """An EventSender whose ids match this workspace and whose commands and actions
        carry response URLs served by this fake."""
        return EventSender(
            url,
            signing_secret,
            team_id=self.team_id,
            team_domain=self.team_domain,
            api_app_id=self.app_id,
            bot_user_id=self.bot_user_id,
            response_url_factory=self.new_response_url,
            timeout=timeout,
        )

    def new_response_url(self) -> str:
        with self._lock:
            key = f"R0SB{next(self._ids):05d}"
            self._responses[key] = []
            return f"{self.base_url}/response/{key}"

    # --- looking at the result -------------------------------------------------------

    def messages(self, channel: str) -> list[Json]:
        """Top-level messages (and broadcast replies), oldest first, metadata included."""
        with self._lock:
            ch = self._channel_or_fail(channel)
            return [self.render(ch.messages[ts], metadata=True) for ts in ch.timeline]

    def thread(self, channel: str, ts: str) -> list[Json]:
        """The replies under the thread parent `ts`, oldest first (the parent excluded)."""
        with self._lock:
            ch = self._channel_or_fail(channel)
            parent = ch.messages.get(ts)
            if parent is None:
                return []
            return [self.render(ch.messages[r], metadata=True) for r in parent.replies]

    def message(self, channel: str, ts: str) -> Json | None:
        with self._lock:
            found = self._channel_or_fail(channel).messages.get(ts)
            return None if found is None else self.render(found, metadata=True)

    def calls(self, method: str) -> list[Any]:
        """Recorded requests to one Web API method (see RecordedRequest)."""
        return self.requests(method)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Json]:
        with self._lock:
            return [
                dict(e)
                for e in self._ephemeral
                if (channel is None or e["channel"] == channel)
                and (user is None or e["user"] == user)
            ]

    def view(self, user: str) -> Json | None:
        """The App Home view last published for `user`."""
        with self._lock:
            found = self._views.get(user)
            return None if found is None else dict(found)

    def responses(self, response_url: str | None = None) -> list[Json]:
        """Bodies the bot posted to response URLs (one URL, or all in order)."""
        with self._lock:
            if response_url is not None:
                return list(self._responses.get(response_url.rsplit("/", 1)[-1], []))
            return [body for bodies in self._responses.values() for body in bodies]

    # --- the HTTP side ---------------------------------------------------------------

    def route_names(self, request: Request) -> tuple[str, ...]:
        target = f"{request.method} {request.path}"
        if request.path.startswith("/api/"):
            return (request.path[len("/api/") :], request.path, target)
        if request.path.startswith("/response/"):
            return ("response_url", request.path, target)
        return (target, request.path)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/response/"):
            return self._response_url_post(request)
        if not request.path.startswith("/api/"):
            return Response.of_json({"ok": False, "error": "not_found"}, status=404)
        handler = METHODS.get(request.path[len("/api/") :])
        if handler is None:
            return Response.of_json({"ok": False, "error": "unknown_method"})
        try:
            self._authenticate(request, app_level=request.path == "/api/apps.connections.open")
            with self._lock:
                result = handler(self, request)
        except SlackError as exc:
            body: Json = {"ok": False, "error": exc.code}
            if exc.errors:
                body["errors"] = exc.errors
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            return Response.of_json(body)
        except Throttled as exc:
            headers = [("Retry-After", str(exc.retry_after))]
            return Response.of_json({"ok": False, "error": "ratelimited"}, 429, headers)
        self.notify_changed()
        return Response.of_json({"ok": True, **result})

    def fault_response(self, fault: Fault, request: Request) -> Response:
        if fault.body is not None:
            return super().fault_response(fault, request)
        headers = list(fault.headers.items())
        retry_after = fault.retry_after
        if fault.status == 429 and retry_after is None:
            retry_after = 1  # Slack always says when to come back
        if retry_after is not None:
            headers.append(("Retry-After", retry_after_value(retry_after)))
        if fault.status == 429:
            error = fault.error or "ratelimited"
        elif fault.status == 503:
            error = fault.error or "service_unavailable"
        elif fault.status >= 500:
            error = fault.error or "internal_error"
        else:
            error = fault.error or "fatal_error"
        return Response.of_json({"ok": False, "error": error}, fault.status, headers)

    def outage_response(self, status: int, request: Request) -> Response:
        error = "service_unavailable" if status == 503 else "internal_error"
        return Response.of_json({"ok": False, "error": error}, status)

    # --- internals -------------------------------------------------------------------

    def _authenticate(self, request: Request, *, app_level: bool) -> None:
        """An app-level token (xapp-) opens Socket Mode connections and nothing else; a bot
        token cannot open them (https://api.slack.com/methods/apps.connections.open)."""
        token = request.bearer_token() or request.get("token")
        if not token:
            raise SlackError("not_authed")
        if token not in (self.token, self.app_token):
            raise SlackError("invalid_auth")
        if (token == self.app_token) != app_level:
            raise SlackError("not_allowed_token_type")

    def _response_url_post(self, request: Request) -> Response:
        key = request.path.rsplit("/", 1)[-1]
        with self._lock:
            if key not in self._responses:
                return Response.of_text("no_active_hooks", status=404)
            body: Any = request.json
            if body is None and "payload" in request.form:
                body = json.loads(request.form["payload"][0])
            blocks = body.get("blocks") if isinstance(body, dict) else None
            # A response_url answers a refusal with HTTP 400 and the bare error as text,
            # without details, like an incoming webhook.
            if isinstance(blocks, list) and block_errors(blocks):
                return Response.of_text("invalid_blocks", status=400)
            self._responses[key].append(body if isinstance(body, dict) else {"raw": body})
        self.notify_changed()
        return Response.of_json({"ok": True})
