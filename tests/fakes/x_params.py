"""Query parameters and errors the way X API v2 spells them, for `FakeX`.

Unknown fields and out-of-range values are refused with X's 400 "Invalid Request" problem,
so a client that forgets to ask for a field, or asks wrongly, fails in tests as it would live.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from bot.sandbox.http import Request
from tests.fakes.x_world import Json

INVALID_REQUEST = "https://api.x.com/2/problems/invalid-request"


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# https://docs.x.com/x-api/fundamentals/fields
TWEET_FIELDS = _names(
    "attachments author_id context_annotations conversation_id created_at edit_controls "
    "edit_history_tweet_ids entities geo id in_reply_to_user_id lang note_tweet "
    "possibly_sensitive public_metrics referenced_tweets reply_settings source text "
    "withheld"
)
USER_FIELDS = _names(
    "created_at description entities id location name pinned_tweet_id profile_image_url "
    "protected public_metrics url username verified withheld"
)
EXPANSIONS = _names(
    "author_id referenced_tweets.id in_reply_to_user_id entities.mentions.username "
    "attachments.media_keys"
)


class XError(Exception):
    """An error answer: status and X's JSON body."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(body.get("detail") or body.get("error"))
        self.status = status
        self.body = body


def problem(status: int, title: str, detail: str, type_: str = "about:blank") -> XError:
    """X's problem object: https://docs.x.com/x-api/fundamentals/response-codes-and-errors"""
    return XError(status, {"title": title, "detail": detail, "type": type_, "status": status})


def invalid_parameter(name: str, value: str, message: str) -> XError:
    body: Json = {
        "errors": [{"parameters": {name: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": INVALID_REQUEST,
    }
    return XError(400, body)


def field_list(req: Request, name: str, known: frozenset[str]) -> set[str]:
    """A comma-separated list parameter (tweet.fields, user.fields, expansions)."""
    chosen = {f for f in str(req.get(name) or "").split(",") if f}
    for unknown in sorted(chosen - known):
        message = f"The `{name}` query parameter value [{unknown}] is not one of the known"
        raise invalid_parameter(name, unknown, message)
    return chosen


def int_param(req: Request, name: str, *, default: int, low: int, high: int) -> int:
    value = req.get(name)
    if value in (None, ""):
        return default
    if not str(value).isdigit() or not low <= int(value) <= high:
        message = f"The `{name}` query parameter value [{value}] is not between {low} and {high}"
        raise invalid_parameter(name, str(value), message)
    return int(value)


def id_param(req: Request, name: str) -> int | None:
    value = req.get(name)
    if value in (None, ""):
        return None
    if not str(value).isdigit() or int(value) < 1 or len(str(value)) > 19:
        message = f"The `{name}` query parameter value [{value}] is not valid"
        raise invalid_parameter(name, str(value), message)
    return int(value)


def time_param(req: Request, name: str) -> float | None:
    value = req.get(name)
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        message = f"The `{name}` query parameter value [{value}] is not a valid RFC 3339 time"
        raise invalid_parameter(name, str(value), message) from None


def encode_token(before_id: int) -> str:
    return base64.b32encode(str(before_id).encode()).decode().rstrip("=").lower()


def token_param(req: Request) -> int | None:
    value = req.get("pagination_token")
    if value in (None, ""):
        return None
    text = str(value).upper()
    try:
        return int(base64.b32decode(text + "=" * (-len(text) % 8)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        message = f"The `pagination_token` query parameter value [{value}] is not valid"
        raise invalid_parameter("pagination_token", str(value), message) from None


def basic_auth(req: Request) -> tuple[str, str] | None:
    scheme, _, value = (req.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
