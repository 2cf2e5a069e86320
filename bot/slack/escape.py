"""Make text from the internet safe to place in Slack messages.

Slack parses `&`, `<` and `>` in mrkdwn: `<!channel>` pings a whole channel, `<@U123>` pings a
person and `<https://evil.example|bank>` shows a link under a false name. Every string a
stranger wrote goes through `escape_mrkdwn` or `slack_link` before it reaches a mrkdwn field.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["escape_mrkdwn", "escape_plain_text", "slack_link"]

_NEWLINES = re.compile(r"\r\n?")
# C0 controls and DEL, and the bidi embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069): one of those in a name turns the rest of the card's line around
# ("Trojan Source", https://trojansource.codes/). The marks LRM and RLM (U+200E/F) stay:
# they only nudge neutral characters and right-to-left names need them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_LINK_BREAKERS = {"<": "%3C", ">": "%3E", "|": "%7C"}


def _strip_controls(text: str) -> str:
    """Drop C0 controls, DEL and bidi controls but keep line structure: CR and CRLF become
    LF first."""
    return _CONTROL.sub("", _NEWLINES.sub("\n", text))


def escape_mrkdwn(text: str) -> str:
    """Make `text` inert in a mrkdwn field, so a stranger's post cannot ping or disguise links.

    Only `&`, `<` and `>` are replaced, as Slack asks; encoding more would show up literally.
    """
    # https://api.slack.com/reference/surfaces/formatting#escaping
    cleaned = _strip_controls(text)
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_plain_text(text: str) -> str:
    """Clean text for a Block Kit `plain_text` object, which Slack never parses as markup."""
    return _strip_controls(text)


def _safe_url(url: str) -> str | None:
    """The url ready to sit inside `<...|...>`, or None when it is not a plain web link."""
    candidate = _strip_controls(url).strip()
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    encoded = "".join(
        _LINK_BREAKERS.get(char, "%20" if char.isspace() else char) for char in candidate
    )
    return encoded.replace("&", "&amp;")


def slack_link(url: str, label: str) -> str:
    """A `<url|label>` link that shows `label` and cannot be bent into a ping or another link.

    Only http(s) urls become links (a `javascript:` or `slack:` url from a post must not be
    clickable); anything else gives the escaped label alone. `|` in the label becomes `¦`
    because Slack's parser has no escape for it.
    """
    text = escape_mrkdwn(label).replace("|", "¦").replace("\n", " ").replace("\t", " ").strip()
    safe = _safe_url(url)
    if safe is None:
        return text
    if not text:
        return f"<{safe}>"
    return f"<{safe}|{text}>"
