"""`SlackPeople`: setting the fake Slack's scene and playing a person in the Slack client.

`add_user`, `add_channel` and `add_usergroup` build the workspace a test needs; the `user_*`
helpers do what a person does in the client (post, edit, delete, react, join, leave, change
their profile) and return the event Slack would deliver for it, which `EventSender`
(slack_events.py) posts to the bot. Both change the records only through `SlackWorkspace`
(slack_workspace.py), as the Web API methods do.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from bot.sandbox.slack_state import Channel, User, as_typed, rich_text_blocks
from bot.sandbox.slack_workspace import Json, SlackWorkspace


class SlackPeople(SlackWorkspace):
    """The workspace with its scene-setting and person helpers."""

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
            return _message_changed(ch, event_ts, message, previous)

    def user_deletes(self, channel: str, ts: str) -> Json:
        """Delete a message; returns `message_deleted`, or, for a thread parent with
        replies, the `message_changed` to a tombstone that Slack sends instead."""
        with self._lock:
            ch = self._channel_or_fail(channel)
            msg = self._message_or_fail(ch, ts)
            previous = self.render(msg, metadata=False)
            event_ts = self.next_ts()
            if self.delete(ch, msg):
                return _message_changed(ch, event_ts, self.render(msg, metadata=False), previous)
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

    # --- internals -------------------------------------------------------------------

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


def _message_changed(channel: Channel, event_ts: str, message: Json, previous: Json) -> Json:
    """The `message_changed` event Slack sends for an edit, or for a deleted thread parent
    that stays as a tombstone."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel.id,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel.channel_type,
        "message": message,
        "previous_message": previous,
    }
