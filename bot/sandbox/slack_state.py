"""The fake Slack workspace's data: users, channels, messages, and their Web API JSON.

Kept apart from the HTTP methods (slack_api.py) so both the methods and the "a human did
this" helpers change the same records the same way.
"""

from __future__ import annotations

import base64
import re
import time
import zlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

_BARE_URL = re.compile(r"https?://[^\s<>|]+[^\s<>|.,;:!?)\]'\"]")


class SlackError(Exception):
    """An `{"ok": false, "error": code}` answer; `errors` (invalid_blocks) go into its
    `errors` and, as "[ERROR] ..." lines, its response_metadata.messages."""

    def __init__(self, code: str, *messages: str, errors: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.errors = list(errors or [])
        self.messages = list(messages) or [f"[ERROR] {error}" for error in self.errors]


@dataclass(slots=True)
class User:
    id: str
    name: str
    real_name: str
    display_name: str
    is_bot: bool = False
    deleted: bool = False
    bot_id: str | None = None
    is_restricted: bool = False  # a multi-channel guest
    is_ultra_restricted: bool = False  # a single-channel guest
    team_id: str | None = None  # another workspace's id: a Slack Connect user
    enterprise_id: str | None = None  # an Enterprise Grid org's id

    def to_json(self, team_id: str) -> dict[str, Any]:
        team_id = self.team_id or team_id
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "first_name": self.real_name.split(" ")[0] if self.real_name else "",
            "team": team_id,
            "image_48": f"https://sandbox.slack.test/avatars/{self.id}_48.png",
            "image_72": f"https://sandbox.slack.test/avatars/{self.id}_72.png",
        }
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": "Europe/Berlin",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": self.is_restricted or self.is_ultra_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            **(
                {
                    "enterprise_user": {
                        "id": self.id,
                        "enterprise_id": self.enterprise_id,
                        "enterprise_name": "Sandbox Org",
                        "is_admin": False,
                        "is_owner": False,
                        "teams": [team_id],
                    }
                }
                if self.enterprise_id
                else {}
            ),
        }


@dataclass(slots=True)
class Message:
    """One stored message; `replies` lists the ts of a parent's replies, oldest first."""

    channel: str
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    username: str | None = None
    blocks: list[Any] | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    metadata: dict[str, Any] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited: dict[str, str] | None = None
    replies: list[str] = field(default_factory=list)
    client_msg_id: str | None = None
    hidden: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def author(self) -> str | None:
        return self.user or self.bot_id


@dataclass(slots=True)
class Channel:
    id: str
    name: str
    members: list[str]
    is_member: bool = True
    is_private: bool = False
    is_im: bool = False
    is_archived: bool = False
    created: int = field(default_factory=lambda: int(time.time()))
    messages: dict[str, Message] = field(default_factory=dict)
    timeline: list[str] = field(default_factory=list)  # top-level and broadcast ts, oldest first

    @property
    def channel_type(self) -> str:
        """The `channel_type` of message events: channel, group (private) or im."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"

    def to_json(self, *, num_members: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private and not self.is_im,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_mpim": False,
            "is_private": self.is_private or self.is_im,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": self.is_member,
            "creator": self.members[0] if self.members else "",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if num_members:
            data["num_members"] = len(self.members)
        return data


def ts_key(value: str) -> int:
    """A Slack ts (or any decimal seconds value) as integer microseconds, for comparisons."""
    try:
        return int(Decimal(value.strip()) * 1_000_000)
    except (InvalidOperation, ValueError):
        raise SlackError("invalid_ts_latest" if value else "invalid_arguments") from None


def encode_cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(cursor: str, kind: str) -> str:
    try:
        found, _, value = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if found != kind or not value:
        raise SlackError("invalid_cursor")
    return value


def truthy(value: Any) -> bool:
    """Slack's booleans: true/false in JSON, "true"/"1" in forms."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def as_typed(text: str) -> str:
    """What Slack's client sends for text a person typed: `&`, `<`, `>` escaped and bare
    links wrapped as `<https://...>` (https://api.slack.com/reference/surfaces/formatting)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE_URL.sub(lambda m: f"<{m.group(0)}>", escaped)


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's clients attach to a message a person typed (`text` is
    the wire format; the block holds the plain characters)."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return [
        {
            "type": "rich_text",
            "block_id": f"b{zlib.crc32(text.encode()) % 100000:05d}",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ],
        }
    ]
