"""Bluesky's poll cursor and the notifications it walks over.

The cursor is our own (the newest listing time seen, and the first start's "now"), not
the AppView's, because notifications are listed by min(createdAt, indexedAt) and one can
surface behind others already seen (https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

POST = "app.bsky.feed.post"
REASONS = ("mention", "reply", "quote")


@dataclass(frozen=True, slots=True)
class Mark:
    """The poll cursor: the newest notification time seen, and the first start's "now"
    (nothing at or before it is new; history is not imported)."""

    newest: datetime
    floor: datetime | None

    def __str__(self) -> str:
        return f"{iso(self.newest)} {iso(self.floor) if self.floor else '-'}"

    @classmethod
    def parse(cls, cursor: str) -> Mark | None:
        try:
            newest, floor = cursor.split(" ")
            return cls(parse_time(newest), None if floor == "-" else parse_time(floor))
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Note:
    """A notification about a post, with its listing time (min of createdAt, indexedAt)."""

    uri: str
    at: datetime
    raw: Mapping[str, Any]

    @classmethod
    def of(cls, raw: Any) -> Note | None:
        if not isinstance(raw, Mapping) or raw.get("reason") not in REASONS:
            return None
        uri = raw.get("uri")
        if not isinstance(uri, str) or f"/{POST}/" not in uri:
            return None
        try:
            return cls(uri, parse_time(str(raw["indexedAt"])), raw)
        except (KeyError, ValueError):
            return None


def cursor_before(cursor: str, horizon: datetime) -> bool:
    # The reference AppView's cursor is the listing time of the last notification it
    # looked at; a cursor that reads otherwise says nothing here.
    try:
        return parse_time(cursor) < horizon
    except ValueError:
        return False


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"no time zone in {value!r}")
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
