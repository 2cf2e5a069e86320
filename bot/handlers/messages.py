"""Message events: a human's thread reply becomes an outbound reply; edits and deletes
inside the undo window change or cancel it.

https://api.slack.com/events/message and its subtypes message_changed, message_deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from bot.bridge import Bridge, SlackReply

logger = logging.getLogger(__name__)

# Subtypes a person's own reply can carry; everything else (joins, bots, topic changes...)
# is not a reply.
REPLY_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def register(app: App, bridge: Bridge) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        handle_message_event(bridge, event)


def handle_message_event(bridge: Bridge, event: Mapping[str, Any]) -> None:
    subtype = event.get("subtype")
    channel = event.get("channel")
    if not isinstance(channel, str) or not isinstance(subtype, str | None):
        logger.warning("malformed message event (channel or subtype); skipped")
        return
    if subtype == "message_changed":
        message = event.get("message")
        edited = (
            reply_from_event({**message, "channel": channel, "subtype": None})
            if (isinstance(message, Mapping))
            else None
        )
        if edited is not None:
            bridge.edit_reply(edited)
        return
    if subtype == "message_deleted":
        deleted_ts = event.get("deleted_ts")
        previous = event.get("previous_message")
        thread_ts = previous.get("thread_ts") if isinstance(previous, Mapping) else None
        if isinstance(deleted_ts, str):
            bridge.delete_reply(
                channel=channel,
                ts=deleted_ts,
                thread_ts=thread_ts if isinstance(thread_ts, str) else None,
            )
        return
    reply = reply_from_event(event)
    if reply is not None:
        bridge.accept_reply(reply)


def reply_from_event(event: Mapping[str, Any]) -> SlackReply | None:
    """The reply a message event carries, or None when it is not a human's thread reply."""
    subtype = event.get("subtype")
    if not isinstance(subtype, str | None) or subtype not in REPLY_SUBTYPES:
        return None
    if not _by_human(event):
        return None
    channel, ts, thread_ts, user = (
        event.get("channel"),
        event.get("ts"),
        event.get("thread_ts"),
        event.get("user"),
    )
    text = _text(event)
    if not all(isinstance(v, str) and v for v in (channel, ts, thread_ts, user)):
        return None
    if thread_ts == ts or text is None:  # a thread's parent, or no text at all
        return None
    user_team = event.get("user_team")  # set when the author's home is another workspace
    return SlackReply(
        channel=str(channel),
        thread_ts=str(thread_ts),
        ts=str(ts),
        user=str(user),
        text=text,
        user_team=user_team if isinstance(user_team, str) else "",
    )


def _by_human(message: Mapping[str, Any]) -> bool:
    return (
        not message.get("bot_id") and not message.get("bot_profile") and bool(message.get("user"))
    )


def _text(message: Mapping[str, Any]) -> str | None:
    text = message.get("text")
    return text if isinstance(text, str) else None
