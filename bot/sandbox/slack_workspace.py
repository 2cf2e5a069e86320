"""`SlackWorkspace`: the fake Slack's state and the record keeping every change goes through.

It holds the workspace (users, channels, messages, user groups, ephemerals, App Home views,
response URLs, the per-channel rate limit and the blocks refusal) and the operations both
the Web API methods (slack_methods.py) and the person helpers (slack_people.py) use to
change it the same way: unique ts, storing and deleting messages (threads, broadcasts,
tombstones), rendering them as conversations.history does, throttling and permalinks.
`FakeSlack` (slack_api.py) adds the HTTP side on top.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.http import LoopbackServer
from bot.sandbox.slack_state import Channel, Message, SlackError, User

Json = dict[str, Any]


class Throttled(Exception):
    """chat.postMessage over the channel's rate: FakeSlack answers 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class SlackWorkspace(LoopbackServer):
    """One workspace's records; the ids and names default to FakeSlack's sandbox team."""

    def __init__(
        self,
        *,
        token: str = "xoxb-sandbox-token",
        app_token: str = "xapp-1-A0SANDBOX-1-sandbox",
        socket_mode: Callable[[], str] | None = None,
        team_id: str = "T0SANDBOX",
        team_name: str = "Sandbox",
        team_domain: str = "sandbox",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "A0SANDBOX",
        bot_name: str = "socialbridge",
        enterprise_id: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.app_token = app_token  # app-level: apps.connections.open only
        # Where apps.connections.open gets its ws:// URL (tests/fakes/slack_socket.py);
        # None: the app has Socket Mode switched off.
        self.socket_mode = socket_mode
        self.team_id = team_id
        self.enterprise_id = enterprise_id  # set: the workspace belongs to a Grid org
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.bot_name = bot_name
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, list[str]] = {}  # id -> member user ids
        self.rate_limited_count = 0
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self._ephemeral: list[Json] = []
        self._views: dict[str, Json] = {}
        self._responses: dict[str, list[Json]] = {}
        self._rate: tuple[float, float] | None = None
        self._buckets: dict[str, tuple[float, float]] = {}
        # refuse_blocks(): the error to answer, and how many more posts get it (None: all)
        self._refusal: tuple[str, int | None] | None = None
        self.users[bot_user_id] = User(
            id=bot_user_id,
            name=bot_name,
            real_name=bot_name,
            display_name="",
            is_bot=True,
            bot_id=bot_id,
        )

    @property
    def api_url(self) -> str:
        """The value for SLACK_API_URL."""
        return f"{self.base_url}/api/"

    def add_member(self, channel: str, user: str) -> None:
        with self._lock:
            ch = self._channel_or_fail(channel)
            if user not in ch.members:
                ch.members.append(user)
            if user == self.bot_user_id:
                ch.is_member = True

    def remove_member(self, channel: str, user: str) -> None:
        with self._lock:
            ch = self._channel_or_fail(channel)
            if user in ch.members:
                ch.members.remove(user)
            if user == self.bot_user_id:
                ch.is_member = False

    def refusal_for_blocks(self) -> str | None:
        """The error a call with blocks gets now (counting it), or None. Called under the
        lock by the methods."""
        if self._refusal is None:
            return None
        error, left = self._refusal
        if left is not None:
            self._refusal = (error, left - 1) if left > 1 else None
        return error

    # --- shared by the methods and the helpers ---------------------------------------

    def next_ts(self) -> str:
        """A unique, strictly increasing message ts ("%d.%06d")."""
        with self._lock:
            micros = max(time.time_ns() // 1000, self._last_ts_us + 1)
            self._last_ts_us = micros
            seconds, fraction = divmod(micros, 1_000_000)
            return f"{seconds}.{fraction:06d}"

    def store(
        self,
        ch: Channel,
        *,
        text: str,
        user: str | None = None,
        bot_id: str | None = None,
        app_id: str | None = None,
        username: str | None = None,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
        subtype: str | None = None,
        metadata: Json | None = None,
        client_msg_id: str | None = None,
        broadcast: bool = False,
    ) -> Message:
        parent = ch.messages.get(thread_ts) if thread_ts else None
        if parent is not None and parent.is_reply and parent.thread_ts is not None:
            parent = ch.messages.get(parent.thread_ts)  # a reply's ts: thread under its parent
        broadcast = broadcast and parent is not None
        msg = Message(
            channel=ch.id,
            ts=self.next_ts(),
            text=text,
            user=user,
            bot_id=bot_id,
            app_id=app_id,
            username=username,
            blocks=blocks,
            # https://api.slack.com/methods/chat.postMessage: a thread_ts that matches no
            # message posts to the channel itself.
            thread_ts=parent.ts if parent is not None else None,
            subtype="thread_broadcast" if broadcast else subtype,
            metadata=metadata,
            client_msg_id=client_msg_id,
        )
        ch.messages[msg.ts] = msg
        if parent is not None:
            parent.replies.append(msg.ts)
            parent.thread_ts = parent.ts
        if parent is None or broadcast:
            ch.timeline.append(msg.ts)
        self.notify_changed()
        return msg

    def delete(self, ch: Channel, msg: Message) -> bool:
        """Remove a message; a parent with replies becomes a tombstone (returns True)."""
        if msg.replies:
            msg.subtype, msg.user, msg.hidden = "tombstone", "USLACKBOT", True
            msg.text = "This message was deleted."
            msg.bot_id = msg.app_id = msg.blocks = msg.metadata = msg.edited = None
            msg.reactions.clear()
            self.notify_changed()
            return True
        del ch.messages[msg.ts]
        if msg.ts in ch.timeline:
            ch.timeline.remove(msg.ts)
        if msg.is_reply and msg.thread_ts in ch.messages:
            parent = ch.messages[msg.thread_ts]
            parent.replies.remove(msg.ts)
            if not parent.replies and parent.subtype == "tombstone":
                self.delete(ch, parent)
        self.notify_changed()
        return False

    def render(self, msg: Message, *, metadata: bool) -> Json:
        """A message as conversations.history shows it (metadata only when asked for)."""
        data: Json = {"type": "message", "ts": msg.ts, "text": msg.text}
        if msg.subtype:
            data["subtype"] = msg.subtype
        if msg.hidden:
            data["hidden"] = True
        if msg.user:
            data["user"] = msg.user
        if msg.bot_id:
            data["bot_id"] = msg.bot_id
            if msg.bot_id == self.bot_id:
                data["app_id"] = self.app_id
                data["bot_profile"] = self._bot_profile()
            elif msg.username:
                data["username"] = msg.username
        if msg.client_msg_id:
            data["client_msg_id"] = msg.client_msg_id
        author = self.users.get(msg.user or "")
        data["team"] = (author.team_id if author else None) or self.team_id
        if msg.blocks is not None:
            data["blocks"] = msg.blocks
        if msg.thread_ts:
            data["thread_ts"] = msg.thread_ts
        if msg.is_reply and msg.thread_ts is not None:
            parent = self.channels[msg.channel].messages.get(msg.thread_ts)
            if parent is not None and parent.author:
                data["parent_user_id"] = parent.author
        if msg.replies:
            ch = self.channels[msg.channel]
            authors = list(dict.fromkeys(ch.messages[r].author or "" for r in msg.replies))
            data.update(
                reply_count=len(msg.replies),
                reply_users_count=len(authors),
                latest_reply=msg.replies[-1],
                reply_users=authors[:5],
                is_locked=False,
                subscribed=False,
            )
        if msg.edited:
            data["edited"] = dict(msg.edited)
        if msg.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in msg.reactions.items()
            ]
        if metadata and msg.metadata:
            data["metadata"] = json.loads(json.dumps(msg.metadata))
        return data

    def throttle(self, channel_id: str) -> None:
        """Token bucket per channel for chat.postMessage; raises when over the limit."""
        if self._rate is None:
            return
        rate, burst = self._rate
        now = time.monotonic()
        tokens, last = self._buckets.get(channel_id, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[channel_id] = (tokens, now)
            self.rate_limited_count += 1
            raise Throttled(max(1, math.ceil((1 - tokens) / rate)))
        self._buckets[channel_id] = (tokens - 1, now)

    def permalink(self, ch: Channel, msg: Message) -> str:
        link = f"https://{self.team_domain}.slack.test/archives/{ch.id}/p{msg.ts.replace('.', '')}"
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
        return link

    def find_channel(self, value: Any) -> Channel:
        """A channel by id or by name (with or without '#'); channel_not_found otherwise."""
        key = str(value or "").strip()
        if key in self.channels:
            return self.channels[key]
        name = key.lstrip("#")
        for ch in self.channels.values():
            if name and ch.name == name:
                return ch
        raise SlackError("channel_not_found")

    def record_ephemeral(self, entry: Json) -> None:
        self._ephemeral.append(entry)

    def record_view(self, user: str, view: Json) -> None:
        self._views[user] = view

    # --- internals -------------------------------------------------------------------

    def _bot_profile(self) -> Json:
        return {
            "id": self.bot_id,
            "app_id": self.app_id,
            "name": self.bot_name,
            "icons": {"image_48": "https://sandbox.slack.test/bot_48.png"},
            "deleted": False,
            "updated": 1_700_000_000,
            "team_id": self.team_id,
        }

    def _channel_or_fail(self, channel: str) -> Channel:
        try:
            return self.find_channel(channel)
        except SlackError:
            raise ValueError(f"unknown channel {channel}: add_channel() first") from None

    def _message_or_fail(self, ch: Channel, ts: str) -> Message:
        found = ch.messages.get(ts)
        if found is None:
            raise ValueError(f"no message {ts} in {ch.id}")
        return found
