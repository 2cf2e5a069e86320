"""Deliver events, slash commands and interactions to the bot exactly as Slack does.

Requests are signed as https://api.slack.com/authentication/verifying-requests-from-slack
describes: `X-Slack-Signature: v0=hex(hmac_sha256(secret, "v0:{ts}:{body}"))` with
`X-Slack-Request-Timestamp`; redeliveries carry `X-Slack-Retry-Num`/`X-Slack-Retry-Reason`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the bot answered to one delivery; status 0 means no answer (timeout, refused)."""

    status: int
    body: bytes
    headers: dict[str, str]
    elapsed: float
    event_id: str | None = None
    error: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class EventSender:
    """Posts signed requests to the bot's `POST /slack/events` (or any URL)."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        team_id: str = "T0SANDBOX",
        team_domain: str = "sandbox",
        api_app_id: str = "A0SANDBOX",
        bot_user_id: str = "UBOT",
        verification_token: str = "sandbox-verification-token",
        response_url_factory: Callable[[], str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self.verification_token = verification_token
        self.response_url_factory = response_url_factory
        self.timeout = timeout
        # A direct opener: a proxy from the environment must never see loopback traffic.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # --- what Slack sends ------------------------------------------------------------

    def envelope(
        self,
        inner_event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
    ) -> dict[str, Any]:
        """The `event_callback` wrapper around an inner event."""
        event_id = event_id or f"Ev0SB{next(_event_ids):08d}"
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": dict(inner_event),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": event_time if event_time is not None else int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-sandbox-{self.team_id}-{event_id}",
        }

    def event(
        self,
        inner_event: Mapping[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        *,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
        bad_signature: bool = False,
        stale: bool = False,
        timeout: float | None = None,
    ) -> Delivery:
        """Deliver one event; pass the same `event_id` with `retry_num` to redeliver it."""
        envelope = self.envelope(inner_event, event_id=event_id, event_time=event_time)
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        delivery = self.post_raw(
            body,
            "application/json",
            headers=headers,
            bad_signature=bad_signature,
            stale=stale,
            timeout=timeout,
        )
        return _with_event_id(delivery, str(envelope["event_id"]))

    def url_verification(self, challenge: str = "sandbox-challenge") -> Delivery:
        body = json.dumps(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        ).encode()
        return self.post_raw(body, "application/json")

    def command(
        self,
        command: str,
        text: str = "",
        user_id: str = "U0SB00001",
        channel_id: str = "C0SB00001",
        *,
        response_url: str | None = None,
        user_name: str | None = None,
        channel_name: str = "social",
        trigger_id: str | None = None,
        bad_signature: bool = False,
        stale: bool = False,
        timeout: float | None = None,
    ) -> Delivery:
        """A slash command, form-encoded as Slack sends it."""
        if response_url is None:
            response_url = self._response_url()
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or self._trigger_id(),
        }
        body = urllib.parse.urlencode(fields).encode()
        return self.post_raw(
            body,
            "application/x-www-form-urlencoded",
            bad_signature=bad_signature,
            stale=stale,
            timeout=timeout,
        )

    def action(
        self,
        payload: Mapping[str, Any],
        *,
        bad_signature: bool = False,
        stale: bool = False,
        timeout: float | None = None,
    ) -> Delivery:
        """An interaction (block_actions unless `payload["type"]` says otherwise) as
        form-encoded `payload=<json>`; envelope fields the test leaves out are filled in."""
        full = dict(payload)
        full.setdefault("type", "block_actions")
        full.setdefault("token", self.verification_token)
        full.setdefault("api_app_id", self.api_app_id)
        full.setdefault("team", {"id": self.team_id, "domain": self.team_domain})
        full.setdefault("is_enterprise_install", False)
        full.setdefault("enterprise", None)
        full.setdefault("trigger_id", self._trigger_id())
        if "response_url" not in full and self.response_url_factory is not None:
            full["response_url"] = self.response_url_factory()
        encoded = json.dumps(full, ensure_ascii=False, separators=(",", ":"))
        body = urllib.parse.urlencode({"payload": encoded}).encode()
        return self.post_raw(
            body,
            "application/x-www-form-urlencoded",
            bad_signature=bad_signature,
            stale=stale,
            timeout=timeout,
        )

    # --- the wire --------------------------------------------------------------------

    def signature(self, body: bytes, timestamp: int) -> str:
        base = f"v0:{timestamp}:".encode() + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return f"v0={digest}"

    def post_raw(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        bad_signature: bool = False,
        stale: bool = False,
        timestamp: int | None = None,
        timeout: float | None = None,
    ) -> Delivery:
        """Sign and POST `body`; `stale` dates it 10 minutes back (Slack allows 5)."""
        if timestamp is None:
            timestamp = int(time.time()) - (600 if stale else 0)
        signature = self.signature(body, timestamp)
        if bad_signature:
            signature = "v0=" + hashlib.sha256(b"not the secret" + body).hexdigest()
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature,
            **dict(headers or {}),
        }
        request = urllib.request.Request(self.url, data=body, headers=all_headers, method="POST")
        started = time.monotonic()
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as answer:
                return Delivery(
                    status=answer.status,
                    body=answer.read(),
                    headers={k.lower(): v for k, v in answer.headers.items()},
                    elapsed=time.monotonic() - started,
                )
        except urllib.error.HTTPError as exc:
            return Delivery(
                status=exc.code,
                body=exc.read(),
                headers={k.lower(): v for k, v in exc.headers.items()},
                elapsed=time.monotonic() - started,
            )
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            return Delivery(
                status=0,
                body=b"",
                headers={},
                elapsed=time.monotonic() - started,
                error=f"{type(exc).__name__}: {exc}",
            )

    def _response_url(self) -> str:
        if self.response_url_factory is not None:
            return self.response_url_factory()
        return "https://hooks.slack.test/commands/T0SANDBOX/0/unused"

    def _trigger_id(self) -> str:
        return f"{next(_trigger_ids)}.{int(time.time())}.sandbox"


def _with_event_id(delivery: Delivery, event_id: str) -> Delivery:
    return Delivery(
        status=delivery.status,
        body=delivery.body,
        headers=delivery.headers,
        elapsed=delivery.elapsed,
        event_id=event_id,
        error=delivery.error,
    )
