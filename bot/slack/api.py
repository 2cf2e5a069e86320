"""The Slack Web API port: the few calls the bridge needs, with errors made uniform.

Calls go through one keep-alive, pooled httpx client: slack_sdk's WebClient (urllib) opens
a connection (and TLS handshake) per call, which cost more than the rest of a card's work.
The WebClient stays for Bolt. Nothing retries by itself: after a connection error a
chat.postMessage may or may not have landed, and only the delivery worker, which can
reconcile through message metadata, may send it again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from slack_sdk import WebClient

from bot.domain import DeliveryError, RateLimited, UnknownOutcome, capped_wait
from bot.ports import SlackUser, Workspace
from bot.slack.blocks import fit_message
from bot.slack.render import archive_permalink

METADATA_EVENT_TYPE = "socialbridge_message"
# Members are checked on every reply: a minute-old list saves a conversations.members call.
MEMBERSHIP_CACHE_SECONDS = 60.0

# https://api.slack.com/methods/chat.postMessage#errors (and the same lists for the others):
# errors that the same request will hit again; everything else is worth a retry.
_PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "restricted_action",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_arguments",
        "user_not_found",
    }
)


class SlackApi:
    """Calls the Web API of `client`'s base URL and token; every failure comes out as a
    DeliveryError."""

    def __init__(self, client: WebClient, *, user_cache_seconds: float = 3600.0) -> None:
        client.retry_handlers = []
        self.client = client
        self._http = httpx.Client(
            base_url=client.base_url,
            headers={"Authorization": f"Bearer {client.token}"},
            timeout=float(client.timeout),
        )
        self._user_cache_seconds = user_cache_seconds
        self._users: dict[str, tuple[float, SlackUser]] = {}
        self._users_lock = threading.Lock()
        self._memberships: dict[tuple[str, str], tuple[float, set[str]]] = {}
        # When a member_joined/left_channel event last changed a channel's cached members:
        # a conversations.members answer that started before it may be stale, so is not kept.
        self._membership_changed: dict[tuple[str, str], float] = {}
        self._workspace_url: str | None = None
        self._workspace: Workspace | None = None

    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata_key: str | None = None,
        broadcast: bool = False,
    ) -> str:
        """Post a message and return its ts; `metadata_key` lets a retry find it again;
        `broadcast` also shows a thread reply in the channel (reply_broadcast)."""
        text, blocks = fit_message(text, blocks)
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if blocks is not None:
            kwargs["blocks"] = list(blocks)
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
            if broadcast:
                kwargs["reply_broadcast"] = True
        if metadata_key is not None:
            kwargs["metadata"] = {
                "event_type": METADATA_EVENT_TYPE,
                "event_payload": {"key": metadata_key},
            }
        response = self._call("chat.postMessage", kwargs, may_have_happened=True)
        return str(response["ts"])

    def find_posted(
        self, *, channel: str, thread_ts: str | None, metadata_key: str, oldest: float
    ) -> str | None:
        """The ts of a message we posted earlier with this metadata key, if Slack has it.

        https://api.slack.com/metadata/using: metadata comes back only with
        include_all_metadata.
        """
        kwargs: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": 200}
        if thread_ts is None:
            method = "conversations.history"
            kwargs["oldest"] = f"{max(0.0, oldest):.6f}"
        else:
            method = "conversations.replies"
            kwargs["ts"] = thread_ts
        cursor: str | None = None
        while True:
            if cursor:
                kwargs["cursor"] = cursor
            response = self._call(method, kwargs)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT_TYPE
                    and payload.get("key") == metadata_key
                ):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None

    def metadata_key_of_parent(self, *, channel: str, ts: str) -> str | None:
        """Our metadata key on the top-level message at `ts` (a card), or None when that
        message is not one we posted with a key (or is gone).

        conversations.replies answers with the thread's parent first
        (https://api.slack.com/methods/conversations.replies), also for a message that
        has no replies yet.
        """
        try:
            response = self._call(
                "conversations.replies",
                {"channel": channel, "ts": ts, "limit": 1, "include_all_metadata": True},
            )
        except DeliveryError as exc:
            if exc.reason in ("thread_not_found", "message_not_found"):
                return None
            raise
        messages = response.get("messages") or []
        parent = messages[0] if messages and isinstance(messages[0], Mapping) else {}
        if str(parent.get("ts")) != ts or parent.get("thread_ts") not in (None, ts):
            return None
        metadata = parent.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        key = payload.get("key")
        if metadata.get("event_type") != METADATA_EVENT_TYPE or not isinstance(key, str):
            return None
        return key

    def update(
        self, *, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]]
    ) -> None:
        text, fitted = fit_message(text, blocks)
        self._call("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": fitted})

    def react(self, *, channel: str, ts: str, name: str) -> None:
        try:
            self._call("reactions.add", {"channel": channel, "timestamp": ts, "name": name})
        except DeliveryError as exc:
            if exc.reason != "already_reacted":
                raise

    def user_name(self, user_id: str) -> str:
        """A person's display name (users.info, cached for a bounded time); the id on error."""
        user = self._user(user_id)
        return user.name if user else user_id

    def is_bot(self, user_id: str) -> bool:
        """True for bots and apps (and for the bot itself); unknown users count as people."""
        user = self._user(user_id)
        return bool(user and user.is_bot)

    def _user(self, user_id: str) -> SlackUser | None:
        try:
            return self.user_info(user_id)
        except DeliveryError:
            return None

    def user_info(self, user_id: str) -> SlackUser:
        """users.info, cached for a bounded time (user_change events refresh it)."""
        now = time.monotonic()
        with self._users_lock:
            cached = self._users.get(user_id)
            if cached and now - cached[0] < self._user_cache_seconds:
                return cached[1]
        raw = self._call("users.info", {"user": user_id}).get("user") or {}
        user = _slack_user(raw, user_id)
        with self._users_lock:
            if len(self._users) > 10_000:  # bound the cache; a workspace rarely has more
                self._users.clear()
            self._users[user_id] = (now, user)
        return user

    def user_changed(self, raw: Mapping[str, Any]) -> None:
        """A user_change event (https://api.slack.com/events/user_change) carries the whole
        user object: replace a cached entry at once, so a member made a guest stops
        speaking for the brand now rather than when the cache expires."""
        user_id = raw.get("id")
        if not isinstance(user_id, str) or not user_id:
            return
        with self._users_lock:
            if user_id in self._users:
                self._users[user_id] = (time.monotonic(), _slack_user(raw, user_id))

    def workspace(self) -> Workspace:
        """The bot's own workspace (auth.test, asked once it succeeds)."""
        if self._workspace is None:
            answer = self.auth_test()
            self._workspace = Workspace(
                team_id=str(answer.get("team_id") or ""),
                enterprise_id=str(answer.get("enterprise_id") or ""),
            )
        return self._workspace

    def is_channel_member(self, channel: str, user: str) -> bool:
        """Whether `user` is in `channel` now (members cached for a minute)."""
        return user in self._cached(("channel", channel), lambda: self.channel_members(channel))

    def usergroup_members(self, group: str) -> set[str]:
        """https://api.slack.com/methods/usergroups.users.list (cached for a minute)."""

        def fetch() -> set[str]:
            users = self._call("usergroups.users.list", {"usergroup": group}).get("users")
            return {str(u) for u in users or []}

        return self._cached(("usergroup", group), fetch)

    def _cached(self, key: tuple[str, str], fetch: Callable[[], set[str]]) -> set[str]:
        now = time.monotonic()
        with self._users_lock:
            hit = self._memberships.get(key)
            if hit and now - hit[0] < MEMBERSHIP_CACHE_SECONDS:
                return hit[1]
        members = fetch()
        with self._users_lock:
            if self._membership_changed.get(key, -math.inf) < now:
                self._memberships[key] = (now, members)
        return members

    def membership_changed(self, channel: str, user: str, *, joined: bool) -> None:
        """member_joined_channel / member_left_channel: change the cached members at once
        (https://api.slack.com/events/member_left_channel)."""
        key = ("channel", channel)
        with self._users_lock:
            if len(self._membership_changed) > 10_000:  # one entry per channel the bot is in
                self._membership_changed.clear()
            self._membership_changed[key] = time.monotonic()
            hit = self._memberships.get(key)
            if hit is not None:
                members = set(hit[1])
                if joined:
                    members.add(user)
                else:
                    members.discard(user)
                self._memberships[key] = (hit[0], members)

    def permalink(self, channel: str, ts: str) -> str:
        """A link to a message in this workspace, without a chat.getPermalink call per
        message: the workspace URL from auth.test (asked once) + archives/<channel>/p<ts>."""
        if self._workspace_url is None:
            try:
                url = str(self.auth_test().get("url") or "")
            except DeliveryError:
                url = ""
            self._workspace_url = url if url.startswith("https://") else "https://slack.com/"
        return archive_permalink(channel, ts, base=self._workspace_url)

    def auth_test(self) -> Mapping[str, Any]:
        return self._call("auth.test", {})

    def channel_members(self, channel: str) -> set[str]:
        members: set[str] = set()
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"channel": channel, "limit": 1000}
            if cursor:
                kwargs["cursor"] = cursor
            response = self._call("conversations.members", kwargs)
            members.update(str(m) for m in response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return members

    def resolve_channel(self, channel: str) -> str:
        """A channel id as given, or the id of "#name" (looked up once, at start)."""
        if not channel.startswith("#"):
            return channel
        name = channel[1:]
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "types": "public_channel,private_channel",
                "exclude_archived": True,
                "limit": 1000,
            }
            if cursor:
                kwargs["cursor"] = cursor
            response = self._call("conversations.list", kwargs)
            for found in response.get("channels") or []:
                if found.get("name") == name:
                    return str(found["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                raise DeliveryError(f"channel {channel} not found", permanent=True)

    def _call(
        self, method: str, kwargs: Mapping[str, Any], *, may_have_happened: bool = False
    ) -> Mapping[str, Any]:
        try:
            if method in _JSON_METHODS:
                response = self._http.post(method, json=dict(kwargs))
            else:
                response = self._http.post(method, data=_form(kwargs))
        except httpx.HTTPError as exc:
            reason = f"Slack {method}: no answer ({type(exc).__name__})"
            if may_have_happened:
                raise UnknownOutcome(reason) from None
            raise DeliveryError(reason) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            data = {}
        if response.status_code == 429 or data.get("error") == "ratelimited":
            retry_after = _retry_after(response.headers)
            raise RateLimited(f"Slack {method}: rate limited", retry_after=retry_after)
        if response.status_code >= 500:
            raise DeliveryError(f"Slack {method}: server error {response.status_code}")
        if not data.get("ok"):
            error = str(data.get("error") or f"HTTP {response.status_code}")
            raise DeliveryError(error, permanent=error in _PERMANENT_ERRORS)
        return data


# Methods whose arguments go as a JSON body (blocks and metadata are nested); the others
# take form fields, which every Web API method accepts.
# https://api.slack.com/web#posting_json
_JSON_METHODS = frozenset({"chat.postMessage", "chat.update"})


def _form(kwargs: Mapping[str, Any]) -> dict[str, str]:
    """Form fields as Slack reads them: booleans as true/false, everything else as text."""
    return {
        name: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for name, value in kwargs.items()
        if value is not None
    }


def _slack_user(raw: Mapping[str, Any], user_id: str) -> SlackUser:
    """A users.info (or user_change) user object, as much of it as the bot needs."""
    profile = raw.get("profile") or {}
    enterprise = raw.get("enterprise_user")
    if not isinstance(enterprise, Mapping):
        enterprise = {}
    return SlackUser(
        name=str(
            profile.get("display_name")
            or profile.get("real_name")
            or raw.get("real_name")
            or raw.get("name")
            or user_id
        ),
        is_bot=bool(raw.get("is_bot") or raw.get("is_app_user") or user_id == "USLACKBOT"),
        is_guest=bool(raw.get("is_restricted") or raw.get("is_ultra_restricted")),
        team_id=str(raw.get("team_id") or ""),
        enterprise_id=str(enterprise.get("enterprise_id") or ""),
    )


def _retry_after(headers: httpx.Headers) -> float:
    try:
        return capped_wait(float(headers.get("retry-after", "1")))
    except ValueError:
        return 1.0
