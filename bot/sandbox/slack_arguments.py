"""Reading and checking the arguments of the fake Slack's Web API methods (slack_methods.py).

Each helper turns one request argument into what a method works with, or raises the
SlackError Slack answers for it: the channel a caller may see, read or post to, the bot's
own message, a reaction's target and name, `blocks` and `metadata` (JSON or their strings,
checked against Block Kit's rules and the refuse_blocks() fault), `limit`, the
oldest/latest window, and the ts and offset cursors of paginated answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.sandbox.http import Request
from bot.sandbox.slack_blockkit import block_errors
from bot.sandbox.slack_state import (
    Channel,
    Message,
    SlackError,
    decode_cursor,
    encode_cursor,
    truthy,
    ts_key,
)
from bot.sandbox.slack_workspace import Json, SlackWorkspace


def visible_channel(fake: SlackWorkspace, value: Any) -> Channel:
    if not value:
        raise SlackError("channel_not_found")
    ch = fake.find_channel(value)
    if (ch.is_private or ch.is_im) and not ch.is_member:
        raise SlackError("channel_not_found")  # private channels are invisible to outsiders
    return ch


def readable_channel(fake: SlackWorkspace, value: Any) -> Channel:
    ch = visible_channel(fake, value)
    if not ch.is_member:
        raise SlackError("not_in_channel")
    return ch


def postable_channel(fake: SlackWorkspace, value: Any) -> Channel:
    ch = readable_channel(fake, value)
    if ch.is_archived:
        raise SlackError("is_archived")
    return ch


def own_message(fake: SlackWorkspace, ch: Channel, ts: Any, refusal: str) -> Message:
    msg = ch.messages.get(str(ts or ""))
    if msg is None or msg.subtype == "tombstone":
        raise SlackError("message_not_found")
    if msg.bot_id != fake.bot_id:
        raise SlackError(refusal)
    return msg


def reaction_target(fake: SlackWorkspace, req: Request) -> Message:
    ch = readable_channel(fake, req.get("channel"))
    msg = ch.messages.get(str(req.get("timestamp") or ""))
    if msg is None:
        raise SlackError("message_not_found")
    return msg


def reaction_name(req: Request) -> str:
    name = str(req.get("name") or "").strip(":")
    if not name:
        raise SlackError("invalid_name")
    return name


def checked_blocks(fake: SlackWorkspace, value: Any) -> list[Any] | None:
    """`blocks`: a JSON array (or its string) that Block Kit's rules accept
    (slack_blockkit.py); a refuse_blocks() fault refuses any non-empty one."""
    value = _json_argument(value, "invalid_blocks_format")
    if value is None:
        return None
    if not isinstance(value, list):
        raise SlackError("invalid_blocks_format")
    errors = block_errors(value)
    if errors:
        raise SlackError("invalid_blocks", errors=errors)
    if value:
        refusal = fake.refusal_for_blocks()
        if refusal is not None:
            raise SlackError(refusal)
    return value


def checked_metadata(value: Any) -> Json | None:
    """`metadata`: a JSON object (or its string) with event_type and event_payload."""
    value = _json_argument(value, "invalid_metadata_format")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SlackError("invalid_metadata_format")
    event_type, payload = value.get("event_type"), value.get("event_payload", {})
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _json_argument(value: Any, format_error: str) -> Any:
    """A JSON argument as given (form fields carry it as a string); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(format_error) from None
    return value


def page_limit(value: Any, *, default: int, maximum: int) -> int:
    try:
        limit = int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    return default if limit <= 0 else min(limit, maximum)


def time_window(req: Request) -> Callable[[Message], bool]:
    """oldest/latest/inclusive of conversations.history and .replies."""
    inclusive = truthy(req.get("inclusive"))
    oldest = ts_key(str(req.get("oldest"))) if req.get("oldest") else None
    latest = ts_key(str(req.get("latest"))) if req.get("latest") else None

    def inside(msg: Message) -> bool:
        key = ts_key(msg.ts)
        if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
            return False
        return latest is None or key < latest or (key == latest and inclusive)

    return inside


def cursor_ts(req: Request) -> int | None:
    cursor = req.get("cursor")
    return ts_key(decode_cursor(str(cursor), "next_ts")) if cursor else None


def offset_page(
    items: list[Any], req: Request, *, default: int, maximum: int
) -> tuple[list[Any], str]:
    limit = page_limit(req.get("limit"), default=default, maximum=maximum)
    cursor = req.get("cursor")
    offset = 0
    if cursor:
        raw = decode_cursor(str(cursor), "offset")
        if not raw.isdigit():
            raise SlackError("invalid_cursor")
        offset = int(raw)
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    return page, encode_cursor("offset", str(offset + limit)) if more else ""
