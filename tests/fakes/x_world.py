"""What `FakeX` knows: users and Posts, with X's ids, mentions, t.co links and reply rules.

Posts are kept as X API v2 Post objects (https://docs.x.com/x-api/fundamentals/data-dictionary)
plus a few private keys starting with "_" that never leave the fake.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twitter_text import extract_urls_with_indices  # type: ignore[import-untyped]

__all__ = ["TWITTER_EPOCH_MS", "Json", "UserRef", "XWorld", "iso", "snowflake_time"]

Json = dict[str, Any]
UserRef = Json | str

TWITTER_EPOCH_MS = 1288834974657  # https://docs.x.com/fundamentals/x-ids
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
_TCO_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def snowflake_time(post_id: str | int) -> float:
    """The moment (epoch seconds) an id was made."""
    return ((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000


def iso(moment: float) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass
class XWorld:
    """Users and Posts; callers hold `lock` (FakeX's) around every change and read."""

    brand_username: str = "acme"
    brand_name: str = "ACME"
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, Json] = field(default_factory=dict)
    tweets: dict[str, Json] = field(default_factory=dict)
    raw_mentions: list[Json] = field(default_factory=list)  # payloads served as they are
    _sequence: int = 0
    _last_ms: int = 0
    _next_user: int = 2244994945

    def __post_init__(self) -> None:
        self.brand = self.add_user(self.brand_username, self.brand_name)

    # --- users ---------------------------------------------------------------------------

    def add_user(self, username: str, name: str | None = None) -> Json:
        with self.lock:
            user_id = str(self._next_user)
            self._next_user += 7919
            user: Json = {
                "id": user_id,
                "username": username,
                "name": name if name is not None else username,
                "created_at": iso(time.time()),
                "protected": False,
                "verified": False,
                "description": "",
            }
            self.users[user_id] = user
            return user

    def user(self, ref: UserRef) -> Json:
        with self.lock:
            if isinstance(ref, dict):
                ref = str(ref["id"])
            for user in self.users.values():
                if ref in (user["id"], user["username"], "@" + user["username"]):
                    return user
        raise ValueError(f"unknown X user {ref!r}: add_user() first")

    # --- Posts ---------------------------------------------------------------------------

    def create(
        self,
        author: Json,
        text: str,
        *,
        in_reply_to: str | None = None,
        quote: str | None = None,
        summons: bool | None = None,
        at: float | None = None,
        note: str | None = None,
    ) -> Json:
        """A new Post as X stores it: t.co links, mention entities, conversation and refs."""
        with self.lock:
            post_id = self._snowflake(at)
            parent = self.tweets.get(in_reply_to) if in_reply_to else None
            if in_reply_to and parent is None:
                raise ValueError(f"no Post {in_reply_to} to reply to")
            stored, urls = _wrap_links(text)
            tweet: Json = {
                "id": post_id,
                "text": stored,
                "author_id": author["id"],
                "created_at": iso(snowflake_time(post_id)),
                "conversation_id": parent["conversation_id"] if parent else post_id,
                "edit_history_tweet_ids": [post_id],
                "lang": "en",
                "reply_settings": "everyone",
                "entities": {"mentions": self._mentions_in(stored), "urls": urls},
            }
            if not tweet["entities"]["urls"]:
                del tweet["entities"]["urls"]
            references: list[Json] = []
            if parent is not None:
                tweet["in_reply_to_user_id"] = parent["author_id"]
                references.append({"type": "replied_to", "id": parent["id"]})
            if quote is not None:
                if quote not in self.tweets:
                    raise ValueError(f"no Post {quote} to quote")
                references.append({"type": "quoted", "id": quote})
            if references:
                tweet["referenced_tweets"] = references
            if note is not None:
                tweet["note_tweet"] = {"text": note}
            quoted = self.tweets.get(quote or "")
            tweet["_summons"] = (
                summons
                if summons is not None
                else self.mentions_user(tweet, self.brand)
                or (quoted is not None and quoted["author_id"] == self.brand["id"])
            )
            self.tweets[post_id] = tweet
            return tweet

    def mentions_user(self, tweet: Json, user: Json) -> bool:
        names = {m["username"].lower() for m in tweet.get("entities", {}).get("mentions", [])}
        return str(user["username"]).lower() in names

    def public(self, tweet: Json) -> Json:
        """A copy without the fake's private keys, text as stored (not HTML-escaped)."""
        copied: Json = json.loads(json.dumps({k: v for k, v in tweet.items() if k[0] != "_"}))
        return copied

    def rendered(self, tweet: Json, fields: set[str]) -> Json:
        """The Post as the API returns it: id, text (with &, <, > escaped as X does),
        edit_history_tweet_ids, and the `tweet.fields` asked for."""
        out: Json = {
            "id": tweet["id"],
            "text": html.escape(tweet["text"], quote=False),
            "edit_history_tweet_ids": list(tweet["edit_history_tweet_ids"]),
        }
        for name in sorted(fields):
            if name in tweet and name[0] != "_" and name not in out:
                out[name] = json.loads(json.dumps(tweet[name]))
        return out

    def _mentions_in(self, text: str) -> list[Json]:
        found: list[Json] = []
        for match in _MENTION.finditer(text):
            entity: Json = {"start": match.start(), "end": match.end(), "username": match[1]}
            for user in self.users.values():
                if user["username"].lower() == match[1].lower():
                    entity["id"] = user["id"]
            found.append(entity)
        return found

    def _snowflake(self, at: float | None) -> str:
        """Ids shaped like X's: milliseconds since the Twitter epoch << 22, plus a sequence;
        Posts made now get ever-growing ids, Posts `at` a past moment get that moment's."""
        self._sequence = (self._sequence + 1) % 4096
        if at is not None:
            return str(((int(at * 1000) - TWITTER_EPOCH_MS) << 22) | self._sequence)
        ms = max(int(time.time() * 1000), self._last_ms)
        if ms == self._last_ms and self._sequence == 0:
            ms += 1
        self._last_ms = ms
        return str(((ms - TWITTER_EPOCH_MS) << 22) | self._sequence)


def _wrap_links(text: str) -> tuple[str, list[Json]]:
    """Every link becomes a t.co link in the stored text, as X does; entities keep the way
    back (`expanded_url`)."""
    urls: list[dict[str, Any]] = extract_urls_with_indices(text)
    pieces: list[str] = []
    entities: list[Json] = []
    position = 0
    length = 0
    for found in sorted(urls, key=lambda u: int(u["indices"][0])):
        start, end = (int(i) for i in found["indices"])
        before = text[position:start]
        pieces.append(before)
        length += len(before)
        short = "https://t.co/" + "".join(secrets.choice(_TCO_ALPHABET) for _ in range(10))
        expanded = str(found["url"])
        if "://" not in expanded:
            expanded = "http://" + expanded
        entities.append(
            {
                "start": length,
                "end": length + len(short),
                "url": short,
                "expanded_url": expanded,
                "display_url": expanded.split("://", 1)[1][:26],
            }
        )
        pieces.append(short)
        length += len(short)
        position = end
    pieces.append(text[position:])
    return "".join(pieces), entities
