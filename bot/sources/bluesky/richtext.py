"""Bluesky rich text: facets out (links, @mentions), plain text in.

A post's text is plain; links and mentions are facets that point at byte ranges of its UTF-8
encoding (https://docs.bsky.app/docs/advanced-guides/post-richtext). The detection follows
the reference client's (`detectFacets` in @atproto/api's rich-text/detection.ts): a link
starts with http(s):// after a space, an opening parenthesis or the start of a line; a
mention is @handle in the same places. Bare domains are not linked: Slack already turns
them into full URLs before a reply reaches us.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Facet", "facets_for", "find_links", "find_mentions", "plain_text_of"]

_LINK = re.compile(r"(?<![^\s(])(https?://\S+)", re.IGNORECASE)
_MENTION = re.compile(r"(?<![^\s(])@([a-zA-Z0-9.-]+)\b")
# https://atproto.com/specs/handle#handle-identifier-syntax
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_LINK_TYPE = "app.bsky.richtext.facet#link"
_MENTION_TYPE = "app.bsky.richtext.facet#mention"


@dataclass(frozen=True, slots=True)
class Facet:
    """A found link or mention: its UTF-8 byte range and what it points at."""

    byte_start: int
    byte_end: int
    kind: str  # "link" or "mention"
    value: str  # the URI, or the handle (without "@")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def find_links(text: str) -> list[Facet]:
    found: list[Facet] = []
    for match in _LINK.finditer(text):
        uri = match.group(1)
        # As the reference client does: a sentence's final punctuation is not part of the
        # link, nor is a closing parenthesis the link did not open.
        if uri[-1] in ".,;:!?":
            uri = uri[:-1]
        if uri.endswith(")") and "(" not in uri:
            uri = uri[:-1]
        start = match.start(1)
        found.append(
            Facet(_byte_offset(text, start), _byte_offset(text, start + len(uri)), "link", uri)
        )
    return found


def find_mentions(text: str) -> list[Facet]:
    found: list[Facet] = []
    for match in _MENTION.finditer(text):
        handle = match.group(1)
        if len(handle) > 253 or not _HANDLE.match(handle):
            continue  # "@dana" from Slack, an e-mail-like fragment: not a handle
        start = match.start(1) - 1  # the "@" belongs to the facet
        end = match.end(1)
        found.append(
            Facet(_byte_offset(text, start), _byte_offset(text, end), "mention", handle.lower())
        )
    return found


def facets_for(text: str, *, resolve: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The `facets` of a post with this text. `resolve` turns a handle into a DID, or None
    when no account has it: an unknown handle stays plain text."""
    links = find_links(text)
    facets: list[dict[str, Any]] = [_facet(f, {"uri": f.value}) for f in links]
    for mention in find_mentions(text):
        if any(_overlaps(mention, link) for link in links):
            continue
        did = resolve(mention.value)
        if did:
            facets.append(_facet(mention, {"did": did}))
    facets.sort(key=lambda facet: int(facet["index"]["byteStart"]))
    return facets


def _overlaps(a: Facet, b: Facet) -> bool:
    return a.byte_start < b.byte_end and b.byte_start < a.byte_end


def _facet(found: Facet, feature: dict[str, str]) -> dict[str, Any]:
    kind = _LINK_TYPE if found.kind == "link" else _MENTION_TYPE
    return {
        "index": {"byteStart": found.byte_start, "byteEnd": found.byte_end},
        "features": [{"$type": kind, **feature}],
    }


def plain_text_of(text: str, facets: Sequence[Any] | None) -> str:
    """A received post's text for Slack: links the app shortened ("example.com/very-lo...")
    or labelled with other words are written out in full, so readers see where they go."""
    data = text.encode("utf-8")
    replacements: list[tuple[int, int, str]] = []
    for facet in facets or ():
        uri = _link_uri(facet)
        if uri is None:
            continue
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data)):
            continue
        shown = data[start:end].decode("utf-8", errors="replace")
        if shown == uri:
            continue
        bare = re.sub(r"^https?://", "", uri, flags=re.IGNORECASE)
        shortened = shown.rstrip(".…")
        if shortened and bare.startswith(shortened):
            replacements.append((start, end, uri))
        else:
            replacements.append((start, end, f"{shown} ({uri})"))
    pieces: list[str] = []
    position = 0
    for start, end, new in sorted(replacements):
        if start < position:
            continue  # overlapping facets: keep the first
        pieces.append(data[position:start].decode("utf-8", errors="replace"))
        pieces.append(new)
        position = end
    pieces.append(data[position:].decode("utf-8", errors="replace"))
    return "".join(pieces)


def _link_uri(facet: Any) -> str | None:
    if not isinstance(facet, Mapping) or not isinstance(facet.get("index"), Mapping):
        return None
    for feature in facet.get("features") or ():
        if isinstance(feature, Mapping) and feature.get("$type") == _LINK_TYPE:
            uri = feature.get("uri")
            return uri if isinstance(uri, str) else None
    return None
