"""`FakeSlack`: the Slack Web API at `<base_url>/api/<method>`, over real loopback HTTP.

Point the bot at it with `SLACK_API_URL=fake.api_url`. Answers follow the documented JSON
(https://api.slack.com/methods): HTTP 200 with `"ok": true/false`, 429 + Retry-After with
`{"ok": false, "error": "ratelimited"}` when rate limited. The `user_*` helpers play a
person in the Slack client: they change the workspace and return the event Slack would
deliver, which `EventSender` (slack_events.py) posts to the bot.
"""

from __future__ import annotations

import itertools
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from bot.sandbox.faults import Fault
from bot.sandbox.http import LoopbackServer, Request, Response, retry_after_value
from bot.sandbox.slack_blockkit import block_errors
from bot.sandbox.slack_events import Delivery, EventSender
from bot.sandbox.slack_methods import METHODS
from bot.sandbox.slack_state import (
    Channel,
    Message,
    SlackError,
    User,
    as_typed,
    rich_text_blocks,
)

__all__ = ["Delivery", "EventSender", "FakeSlack", "SlackError"]

Json = dict[str, Any]


class _Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class FakeSlack(LoopbackServer):
    """A one-workspace Slack: team T0SANDBOX, the bot user UBOT (bot_id BBOT)."""

    outage_status = 500

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

    # --- setting the scene -----------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        id: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        channels: Iterable[str] = (),
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> str:
        """Create a person (or another bot's user) and return its id; joins `channels`.
        `is_restricted` makes a guest, `team_id` someone from another workspace (Slack
        Connect): their messages carry it as `user_team`, users.info as `team_id`."""
        with self._lock:
            user_id = id or f"U0SB{next(self._ids):05d}"
            self.users[user_id] = User(
                id=user_id,
                name=name,
                real_name=real_name if real_name is not None else name.title(),
                display_name=display_name if display_name is not None else name,
                is_bot=is_bot,
                deleted=deleted,
                is_restricted=is_restricted,
                is_ultra_restricted=is_ultra_restricted,
                team_id=team_id,
                enterprise_id=enterprise_id,
            )
            for channel in channels:
                self.add_member(channel, user_id)
            return user_id

    def add_channel(
        self,
        name: str,
        *,
        id: str | None = None,
        members: Iterable[str] = (),
        is_member: bool = True,
        is_private: bool = False,
        is_im: bool = False,
        is_archived: bool = False,
    ) -> str:
        """Create a channel and return its id; the bot is a member unless `is_member=False`."""
        with self._lock:
            prefix = "D" if is_im else ("G" if is_private else "C")
            channel_id = id or f"{prefix}0SB{next(self._ids):05d}"
            listed = list(dict.fromkeys(members))
            if is_member and self.bot_user_id not in listed:
                listed.append(self.bot_user_id)
            self.channels[channel_id] = Channel(
                id=channel_id,
                name=name.lstrip("#"),
                members=listed,
                is_member=is_member,
                is_private=is_private,
                is_im=is_im,
                is_archived=is_archived,
            )
            return channel_id

    def add_usergroup(self, group_id: str, members: Iterable[str]) -> str:
        """A user group (e.g. "S0SUPPORT") for usergroups.users.list."""
        with self._lock:
            self.usergroups[group_id] = list(members)
            return group_id

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

    def refusal_for_blocks(self) -> str | None:
        """The error a call with blocks gets now (counting it), or None. Called under the
        lock by the methods."""
        if self._refusal is None:
            return None
        error, left = self._refusal
        if left is not None:
            self._refusal = (error, left - 1) if left > 1 else None
        return error

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

    # --- a person in the Slack client ------------------------------------------------

    def user_posts(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        subtype: str | None = None,
        *,
        blocks: list[Any] | None = None,
        typed: bool = False,
    ) -> Json:
        """Store a message typed by `user` and return the `message` event Slack sends.

        `text` is Slack's wire format (`&lt;`, `<@U…>`, `<https://…>`); `typed=True` takes
        it as the person typed it and converts it as Slack's client does (see as_typed).
        `subtype="bot_message"` makes `user` a bot_id (another integration posting);
        `subtype="thread_broadcast"` also sends the reply to the channel.
        """
        if typed:
            text = as_typed(text)
        with self._lock:
            ch = self._channel_or_fail(channel)
            if thread_ts is not None and thread_ts not in ch.messages:
                raise ValueError(f"no message {thread_ts} in {ch.id} to reply to")
            if subtype == "bot_message":
                msg = self.store(
                    ch,
                    text=text,
                    bot_id=user,
                    username=user,
                    subtype=subtype,
                    thread_ts=thread_ts,
                    blocks=blocks,
                )
            else:
                if user not in self.users:
                    raise ValueError(f"unknown user {user}: add_user() first")
                msg = self.store(
                    ch,
                    text=text,
                    user=user,
                    blocks=blocks if blocks is not None else rich_text_blocks(text),
                    thread_ts=thread_ts,
                    subtype=subtype,
                    client_msg_id=str(uuid.uuid4()),
                    broadcast=subtype == "thread_broadcast",
                )
            event = self.render(msg, metadata=False)
            event.update(channel=ch.id, event_ts=msg.ts, channel_type=ch.channel_type)
            if msg.user:
                event.update(user_team=event["team"], source_team=event["team"])
            return event

    def user_edits(self, channel: str, ts: str, new_text: str, *, typed: bool = False) -> Json:
        """Edit a message as its author would; returns the `message_changed` event."""
        if typed:
            new_text = as_typed(new_text)
        with self._lock:
            ch = self._channel_or_fail(channel)
            msg = self._message_or_fail(ch, ts)
            previous = self.render(msg, metadata=False)
            event_ts = self.next_ts()
            msg.text = new_text
            if msg.client_msg_id is not None:
                msg.blocks = rich_text_blocks(new_text)
            msg.edited = {"user": msg.author or "", "ts": event_ts}
            message = self.render(msg, metadata=False)
            message.update(source_team=message["team"], user_team=message["team"])
            self.notify_changed()
            return {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": ch.id,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": ch.channel_type,
                "message": message,
                "previous_message": previous,
            }

    def user_deletes(self, channel: str, ts: str) -> Json:
        """Delete a message; returns `message_deleted`, or, for a thread parent with
        replies, the `message_changed` to a tombstone that Slack sends instead."""
        with self._lock:
            ch = self._channel_or_fail(channel)
            msg = self._message_or_fail(ch, ts)
            previous = self.render(msg, metadata=False)
            event_ts = self.next_ts()
            if self.delete(ch, msg):
                return {
                    "type": "message",
                    "subtype": "message_changed",
                    "hidden": True,
                    "channel": ch.id,
                    "ts": event_ts,
                    "event_ts": event_ts,
                    "channel_type": ch.channel_type,
                    "message": self.render(msg, metadata=False),
                    "previous_message": previous,
                }
            return {
                "type": "message",
                "subtype": "message_deleted",
                "hidden": True,
                "channel": ch.id,
                "ts": event_ts,
                "deleted_ts": ts,
                "event_ts": event_ts,
                "channel_type": ch.channel_type,
                "previous_message": previous,
            }

    def user_reacts(self, channel: str, ts: str, user: str, name: str) -> Json:
        """Add `:name:` as `user`; returns the `reaction_added` event."""
        return self._react(channel, ts, user, name.strip(":"), add=True)

    def user_unreacts(self, channel: str, ts: str, user: str, name: str) -> Json:
        """Remove `:name:` as `user`; returns the `reaction_removed` event."""
        return self._react(channel, ts, user, name.strip(":"), add=False)

    def user_joins(self, channel: str, user: str, *, inviter: str | None = None) -> Json:
        """`user` joins (or is added to) a channel; returns `member_joined_channel`."""
        return self._membership_event(channel, user, joined=True, inviter=inviter)

    def user_leaves(self, channel: str, user: str) -> Json:
        """`user` leaves (or is removed from) a channel; returns `member_left_channel`."""
        return self._membership_event(channel, user, joined=False)

    def user_changes(
        self, user: str, *, is_restricted: bool | None = None, display_name: str | None = None
    ) -> Json:
        """An admin or the person changes their account; returns the `user_change` event,
        which carries the whole user object (https://api.slack.com/events/user_change)."""
        with self._lock:
            person = self.users[user]
            if is_restricted is not None:
                person.is_restricted = is_restricted
            if display_name is not None:
                person.display_name = display_name
            self.notify_changed()
            return {
                "type": "user_change",
                "user": person.to_json(self.team_id),
                "cache_ts": int(time.time()),
                "event_ts": self.next_ts(),
            }

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
        except _Throttled as exc:
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
            raise _Throttled(max(1, math.ceil((1 - tokens) / rate)))
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

    def _react(self, channel: str, ts: str, user: str, name: str, *, add: bool) -> Json:
        with self._lock:
            ch = self._channel_or_fail(channel)
            msg = self._message_or_fail(ch, ts)
            users = msg.reactions.setdefault(name, [])
            if add == (user in users):
                raise ValueError(f"{user} {'already has' if add else 'has no'} :{name}: on {ts}")
            if add:
                users.append(user)
            else:
                users.remove(user)
                if not users:
                    del msg.reactions[name]
            self.notify_changed()
            return {
                "type": "reaction_added" if add else "reaction_removed",
                "user": user,
                "reaction": name,
                "item_user": msg.author or "",
                "item": {"type": "message", "channel": ch.id, "ts": ts},
                "event_ts": self.next_ts(),
            }

    def _membership_event(
        self, channel: str, user: str, *, joined: bool, inviter: str | None = None
    ) -> Json:
        # https://api.slack.com/events/member_joined_channel and .../member_left_channel:
        # channel_type is one letter, C (public) or G (private), and team is the user's.
        with self._lock:
            ch = self._channel_or_fail(channel)
            if joined:
                self.add_member(ch.id, user)
            else:
                self.remove_member(ch.id, user)
            person = self.users.get(user)
            event: Json = {
                "type": "member_joined_channel" if joined else "member_left_channel",
                "user": user,
                "channel": ch.id,
                "channel_type": "G" if ch.is_private else "C",
                "team": (person.team_id if person else None) or self.team_id,
                "event_ts": self.next_ts(),
            }
            if joined and inviter is not None:
                event["inviter"] = inviter
            self.notify_changed()
            return event

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
