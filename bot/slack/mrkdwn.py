"""Turn the text of a Slack message into plain text fit to post on a social network.

Slack sends message text with its own markup: `<@U123>` for a person, `<#C123|general>` for a
channel, `<https://x.y|label>` for a link, and `&amp;`, `&lt;`, `&gt;` for the three characters
it reserves. A reply must reach Mastodon or Bluesky as the words the employee saw in Slack,
not as Slack's wire format.

Mentions become plain words: on the network `@name` is a mention (on Mastodon `@here` is the
local user "here"), so a colleague's name, `<!channel>` or a user group must never turn into
one. Every at sign of a converted mention is dropped, also inside a display name
(`bob@evil.example` becomes `bobevil.example`); at signs the person typed stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["slack_to_plain"]

# https://api.slack.com/reference/surfaces/formatting#escaping
_TOKEN_OR_ENTITY = re.compile(r"<([^<>]*)>|&(amp|lt|gt);")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?://)?", re.IGNORECASE)
_BROADCASTS = frozenset({"here", "channel", "everyone"})
# What Mastodon, Bluesky and X read as a mention sign; X also takes the fullwidth one
# (twitter-text's at_signs), U+FE6B is removed as a look-alike.
_AT_SIGNS = str.maketrans("", "", "@＠﹫")

# Distinct people looked up per message (each may be a users.info call inside the Slack
# request); further mentions fall back to the token's label or the id.
MAX_USER_LOOKUPS = 50

UserName = Callable[[str], str | None]


def _unescape(text: str) -> str:
    """Undo Slack's three entities in one pass, so `&amp;lt;` stays the text `&lt;`."""
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)


def _no_mention(name: str) -> str:
    """`name` with no at sign left that a network could read as a mention."""
    return name.translate(_AT_SIGNS)


def _user(user_id: str, label: str | None, user_name: UserName) -> str:
    """A person mention as their display name, from the workspace directory when it knows
    them, without any at sign."""
    return _no_mention(user_name(user_id) or label or user_id)


def _channel(channel_id: str, label: str | None) -> str:
    """A channel mention as `#name`; Slack sometimes sends an empty label, then the id."""
    return "#" + _no_mention(label or channel_id)


def _date_fallback(parts: list[str], label: str | None) -> str:
    """A `<!date^...>` as its fallback text, or the timestamp in UTC if Slack sent none."""
    if label:
        return label
    try:
        moment = datetime.fromtimestamp(int(parts[1]), tz=UTC)
    except (IndexError, ValueError, OverflowError, OSError):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _command(body: str, label: str | None) -> str:
    """A `<!...>` special mention as a plain word: `here`, `channel`, `everyone`, a user
    group's handle, a date, or its label."""
    parts = body.split("^")
    name = parts[0]
    if name in _BROADCASTS:
        return name
    if name == "subteam":
        return _no_mention(label or (parts[1] if len(parts) > 1 else name))
    if name == "date":
        return _no_mention(_date_fallback(parts, label))
    return _no_mention(label or "")


def _without_scheme(url: str) -> str:
    """The url as people type it: no scheme, no trailing slash."""
    return _SCHEME.sub("", url).rstrip("/")


def _link(url: str, label: str | None) -> str:
    """A link as its url, or `label (url)` when the label says something the url does not."""
    if url.lower().startswith("mailto:"):
        address = url[len("mailto:") :]
        if not label or label in (url, address):
            return address
        return f"{label} ({address})"
    if not label or label == url or label.rstrip("/") == _without_scheme(url):
        return url
    return f"{label} ({url})"


def _token(body: str, user_name: UserName) -> str:
    """Plain text for one `<...>` token; every part is unescaped on its own."""
    target, bar, raw_label = body.partition("|")
    label = _unescape(raw_label) if bar else None
    if target.startswith("@"):
        return _user(target[1:], label, user_name)
    if target.startswith("#"):
        return _channel(target[1:], label)
    if target.startswith("!"):
        return _command(target[1:], label)
    return _link(_unescape(target), label)


def slack_to_plain(text: str, *, user_name: Callable[[str], str | None]) -> str:
    """The words a Slack message shows, as plain text a social network can take.

    `user_name` maps a Slack user id to the display name Slack shows for it, or None when
    unknown; the token's label or the id stands in then, and also for the people after the
    first MAX_USER_LOOKUPS of a message. Names it returns are used as they are (they are not
    Slack-escaped), less their at signs. Emphasis markers (`*bold*`, `_italic_`) stay as
    typed: on a network that has no markup they still read as emphasis.
    """
    names: dict[str, str | None] = {}
    converted: dict[str, str] = {}  # token body -> text; hostile text repeats one token

    def bounded_name(user_id: str) -> str | None:
        if user_id not in names:
            if len(names) >= MAX_USER_LOOKUPS:
                return None
            names[user_id] = user_name(user_id)
        return names[user_id]

    def replace(match: re.Match[str]) -> str:
        entity, body = match.group(2), match.group(1)
        if entity:
            return _ENTITIES[entity]
        if body not in converted:
            converted[body] = _token(body, bounded_name)
        return converted[body]

    # One pass over tokens and entities: a token's output is never unescaped again.
    return _TOKEN_OR_ENTITY.sub(replace, text).strip()
