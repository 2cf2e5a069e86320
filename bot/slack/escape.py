"""Make text from the internet safe to place in Slack messages.

Slack parses `&`, `<` and `>` in mrkdwn: `<!channel>` pings a whole channel, `<@U123>` pings a
person and `<https://evil.example|bank>` shows a link under a false name. Every string a
stranger wrote goes through `escape_mrkdwn` or `slack_link` before it reaches a mrkdwn field.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import regex

__all__ = [
    "HEADER_TEXT_LIMIT",
    "SECTION_TEXT_LIMIT",
    "escape_mrkdwn",
    "escape_plain_text",
    "slack_link",
    "truncate_for_block",
]

SECTION_TEXT_LIMIT = 3000
"""Most characters a section block's text may hold."""

HEADER_TEXT_LIMIT = 150
"""Most characters a header block's plain_text may hold."""

ELLIPSIS = "…"

_NEWLINES = re.compile(r"\r\n?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_GRAPHEME = regex.compile(r"\X")
# What a cut may leave dangling at the end of escaped mrkdwn: half an entity or an open token.
_PARTIAL_ENTITY = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?$")
_LINK_BREAKERS = {"<": "%3C", ">": "%3E", "|": "%7C"}


def _strip_controls(text: str) -> str:
    """Drop C0 controls (and DEL) but keep line structure: CR and CRLF become LF first."""
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


def _utf16_units(text: str) -> int:
    """Length as JavaScript counts it; never less than Python's, so limits hold either way."""
    return len(text.encode("utf-16-le")) // 2


def _repair_mrkdwn_cut(text: str) -> str:
    """Drop a half entity (`&am`) or an unclosed `<...` token that a cut left at the end."""
    text = _PARTIAL_ENTITY.sub("", text)
    opened = text.rfind("<")
    if opened > text.rfind(">"):
        text = text[:opened]
    return text


def truncate_for_block(text: str, limit: int, *, mrkdwn: bool = True) -> str:
    """Fit `text` into a field of `limit` characters, ending in "…" when something was cut.

    Cuts fall between grapheme clusters, so a flag or a family emoji is never split into
    mojibake. Length is measured in UTF-16 units, which is at least the code-point count,
    so the result fits whichever of the two Slack counts. With `mrkdwn` (the default, for
    escaped text) a cut never leaves half an `&amp;` or an open `<url|label>` behind.
    """
    if _utf16_units(text) <= limit:
        return text
    budget = limit - _utf16_units(ELLIPSIS)
    if budget < 0:
        return ""
    kept: list[str] = []
    used = 0
    for cluster in _GRAPHEME.findall(text):
        size = _utf16_units(cluster)
        if used + size > budget:
            break
        kept.append(cluster)
        used += size
    head = "".join(kept)
    if mrkdwn:
        head = _repair_mrkdwn_cut(head)
    return head.rstrip() + ELLIPSIS
