"""Plain text to status HTML as Mastodon renders it, and Mastodon's character count.

Rendering follows Mastodon's TextFormatter: text HTML-escaped, links shortened into
invisible/ellipsis spans (the cut-off is CSS; the full URL is the spans' text joined),
mentions as h-card links, hashtags as tag links, paragraphs in `<p>` and single newlines as
`<br />`. Counting follows StatusLengthValidator: a URL counts as 23 characters, a remote
mention only as its `@username`, and characters are grapheme clusters (approximated here
with the standard library).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

URL_RESERVED = 23
LINK_DISPLAY = 30

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![=/\w])@(\w+(?:[\w.-]+\w+)?)(?:@((?:[\w-]+\.)*[\w-]+(?::\d+)?))?")
_HASHTAG = re.compile(r"(?<![=/\w&])#(\w*[^\W\d_]\w*)")
_TRAILING = ".,;:!?)]}'\""
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}

Account = dict[str, Any]
Resolver = Callable[[str, "str | None"], "Account | None"]


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    mentions: list[Account]
    tags: list[str]


def escape(text: str) -> str:
    """Rails' html_escape: & < > " ' (the apostrophe as &#39;)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def render(text: str, resolve: Resolver, tag_url: Callable[[str], str]) -> Rendered:
    """`resolve(username, domain)` finds a mentioned account; unresolved mentions stay text."""
    text = text.replace("\r\n", "\n")
    pieces: list[str] = []
    mentions: list[Account] = []
    tags: list[str] = []
    pos = 0
    for kind, start, end, match in _entities(text):
        pieces.append(escape(text[pos:start]))
        pos = end
        if kind == "url":
            pieces.append(link_html(text[start:end]))
        elif kind == "mention":
            account = resolve(match.group(1), match.group(2))
            if account is None:
                pieces.append(escape(text[start:end]))
                continue
            if all(m["id"] != account["id"] for m in mentions):
                mentions.append(account)
            pieces.append(mention_html(account))
        else:
            tag = match.group(1)
            if tag.lower() not in (t.lower() for t in tags):
                tags.append(tag)
            pieces.append(
                f'<a href="{escape(tag_url(tag))}" class="mention hashtag" rel="tag">'
                f"#<span>{escape(tag)}</span></a>"
            )
    pieces.append(escape(text[pos:]))
    return Rendered(html=paragraphs("".join(pieces)), mentions=mentions, tags=tags)


def link_html(url: str) -> str:
    prefix_match = re.match(r"https?://(?:www\.)?", url, re.IGNORECASE)
    prefix = prefix_match.group(0) if prefix_match else ""
    rest = url[len(prefix) :]
    display, suffix = rest[:LINK_DISPLAY], rest[LINK_DISPLAY:]
    css = "ellipsis" if suffix else ""
    return (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>'
        f'<span class="{css}">{escape(display)}</span>'
        f'<span class="invisible">{escape(suffix)}</span></a>'
    )


def mention_html(account: Account) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{escape(account["url"])}" '
        f'class="u-url mention">@<span>{escape(account["username"])}</span></a></span>'
    )


def paragraphs(html: str) -> str:
    """Rails' simple_format: blank lines split `<p>`s, single newlines become `<br />`."""
    blocks = [b for b in re.split(r"\n\s*\n", html.strip("\n")) if b.strip()]
    if not blocks:
        return ""
    return "".join("<p>" + b.strip("\n").replace("\n", "<br />") + "</p>" for b in blocks)


def countable_length(text: str, spoiler_text: str = "") -> int:
    """Characters as Mastodon's StatusLengthValidator counts them."""
    countable = _URL.sub(_url_placeholder, text)
    countable = _MENTION.sub(lambda m: f"@{m.group(1)}", countable)
    return grapheme_count(countable) + grapheme_count(spoiler_text)


def grapheme_count(text: str) -> int:
    """Extended grapheme clusters, approximately: combining marks, variation selectors,
    skin tones, ZWJ sequences, tag sequences and regional-indicator pairs join the
    character before them; CRLF is one."""
    count = 0
    joined = False
    regional_open = False
    previous = ""
    for ch in text:
        code = ord(ch)
        if joined:
            joined = False
            previous = ch
            continue
        if code == 0x200D:
            joined = True
            continue
        if (
            unicodedata.category(ch) in ("Mn", "Me", "Mc")
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F
            or 0xE0100 <= code <= 0xE01EF
        ):
            continue
        if 0x1F1E6 <= code <= 0x1F1FF:
            if regional_open:
                regional_open = False
                continue
            regional_open = True
            count += 1
            continue
        regional_open = False
        if not (ch == "\n" and previous == "\r"):
            count += 1
        previous = ch
    return count


def _url_placeholder(match: re.Match[str]) -> str:
    raw = match.group(0)
    url = _clean_url(raw)
    return "x" * URL_RESERVED + raw[len(url) :] if url else raw


def _clean_url(raw: str) -> str:
    url = raw.rstrip(_TRAILING)
    if raw.endswith(")") and url.count("(") > url.count(")"):
        url += ")"
    return url if re.match(r"https?://[^/\s]+\.[^/\s]|https?://[^/\s]+:\d", url) else ""


def _entities(text: str) -> list[tuple[str, int, int, re.Match[str]]]:
    """URLs, then mentions and hashtags outside them, in text order."""
    found: list[tuple[str, int, int, re.Match[str]]] = []
    taken: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        url = _clean_url(match.group(0))
        if url:
            found.append(("url", match.start(), match.start() + len(url), match))
            taken.append((match.start(), match.start() + len(url)))
    for kind, pattern in (("mention", _MENTION), ("tag", _HASHTAG)):
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                continue
            found.append((kind, start, end, match))
            taken.append((start, end))
    return sorted(found, key=lambda item: item[1])
