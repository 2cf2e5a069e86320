"""Which thread messages stay in Slack: prefix checks on how a message visibly begins.

People write internal notes the way they write anything in Slack: `*note:*` in bold, as a
quote, after an emoji or a colleague's mention, with a space before the colon or with a
zero-width character pasted in. A check on the raw wire text lets all of those go public.
Here the start of a message is read as a reader sees it, and the check fails closed: text
it cannot read within its bounded budget stays internal.

Matching ignores case, Unicode compatibility forms (fullwidth letters, NBSP), whitespace,
invisible format characters and Slack's emphasis markers anywhere in the compared part, so
`n o t e :` also counts as `note:`. A prefix may follow any number of leading emoji,
mentions, quote markers and list bullets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["MAX_PREFIX_LENGTH", "is_internal", "prefix_key", "strip_public_prefix"]

# Budgets in characters of the raw text: hostile text is never read further than this.
LEADING_BUDGET = 200  # leading noise (emoji, mentions, quotes, spaces) looked through
CONTENT_BUDGET = 200  # characters read after it to find the prefix's visible characters
MAX_PREFIX_LENGTH = 40  # so that a prefix's visible characters fit in CONTENT_BUDGET

# https://api.slack.com/reference/surfaces/formatting#basic-formatting
_EMPHASIS = frozenset("*_~`")
_BULLETS = frozenset("•◦▪‣⁃")  # how list items appear in a message's `text`
_EMOJI_EXTRAS = frozenset("\ufe0e\ufe0f\u20e3")  # variation selectors, keycap
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
# One leading token: a mention of a person, channel or group (<@U1>, <@U1|ada>, <#C1|x>,
# <!here>, <!subteam^S1|@team>), an emoji shortcode (:memo:, :+1:, ::skin-tone-2:), or a
# quote marker. Every repeat is bounded and the classes exclude the closing delimiter, so a
# match costs at most its bounded length whatever follows.
_LEADING_TOKEN = re.compile(
    r"<[@#!][^<>|]{0,80}(?:\|[^<>]{0,160})?>|:[a-z0-9_+'-]{1,100}:|&gt;|>", re.IGNORECASE
)


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """One character as it is compared: compatibility-decomposed and case-folded, and empty
    for what a reader does not see as part of a word (spaces, format characters, emphasis)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    return "".join(c for c in folded if not _invisible(c))


def _invisible(char: str) -> bool:
    # Cf covers ZWSP, ZWNJ, ZWJ, WORD JOINER, BOM, soft hyphen and the bidi controls.
    return char.isspace() or char in _EMPHASIS or unicodedata.category(char) == "Cf"


def _emoji(char: str) -> bool:
    return char in _EMOJI_EXTRAS or char in _BULLETS or unicodedata.category(char) in ("So", "Sk")


def prefix_key(prefix: str) -> str:
    """A configured prefix in the folded form it is compared in; empty when it has no
    visible character (such a prefix would match every message)."""
    return "".join(_fold(char) for char in _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], prefix))


@dataclass(frozen=True, slots=True)
class _Start:
    folded: str  # the visible characters read, folded
    raw_spans: tuple[tuple[int, int], ...]  # per folded character: its span in the raw text
    starts: tuple[int, ...]  # folded positions a prefix may begin at: 0 and after each token
    complete: bool  # False when a budget ran out before the start could be read

    def match(self, key: str) -> tuple[int, int] | None:
        """The raw span of `key` where the message may begin, or None."""
        for start in self.starts:
            if self.folded.startswith(key, start):
                end = start + len(key) - 1
                return self.raw_spans[start][0], self.raw_spans[end][1]
        return None


def _read_start(text: str, need: int) -> _Start:
    """Fold the leading tokens and then `need` visible characters, within the budgets."""
    folded: list[str] = []
    spans: list[tuple[int, int]] = []
    starts = [0]
    position, content_end = 0, 0  # content_end stays 0 while leading tokens are read

    def read(end: int, chars: str) -> None:
        nonlocal position
        for char in chars:
            folded.append(char)
            spans.append((position, end))
        position = end

    while position < len(text):
        leading = content_end == 0
        if leading and position >= LEADING_BUDGET:
            return _Start("".join(folded), tuple(spans), tuple(starts), complete=False)
        if not leading and (len(folded) >= starts[-1] + need or position >= content_end):
            break
        char = text[position]
        if _invisible(char):
            position += 1
            continue
        token = _LEADING_TOKEN.match(text, position) if leading else None
        if token or (leading and _emoji(char)):
            end = token.end() if token else position + 1
            read(end, prefix_key(text[position:end]))
            starts.append(len(folded))
            continue
        if leading:
            content_end = position + CONTENT_BUDGET
        entity = _ENTITY.match(text, position)
        if entity:
            read(entity.end(), _fold(_ENTITIES[entity.group(0)]))
        else:
            read(position + 1, _fold(char))
    # Complete when the text ended, or when enough of it was read to compare every prefix.
    complete = position >= len(text) or len(folded) >= starts[-1] + need
    return _Start("".join(folded), tuple(spans), tuple(starts), complete)


def _keys(prefixes: Iterable[str]) -> list[str]:
    return [key for key in (prefix_key(prefix) for prefix in prefixes) if key]


def is_internal(text: str, *, internal_prefixes: Iterable[str], public_prefix: str = "") -> bool:
    """True when a thread message must stay in Slack: it begins with an internal prefix, or
    a public prefix is configured and it does not begin with that (or with it and then an
    internal prefix: `!note:` stays internal), or it cannot be read within the budgets."""
    internal_prefixes = tuple(internal_prefixes)
    internal = _keys(internal_prefixes)
    public = _keys([public_prefix])
    if not internal and not public:
        return False
    start = _read_start(text, max(len(key) for key in internal + public))
    if not start.complete or any(start.match(key) for key in internal):
        return True
    if not public:
        return False
    if start.match(public[0]) is None:
        return True
    return is_internal(
        strip_public_prefix(text, public_prefix), internal_prefixes=internal_prefixes
    )


def strip_public_prefix(text: str, public_prefix: str) -> str:
    """The message without its public prefix (what goes out), or unchanged without one;
    anything before the prefix (an emoji, emphasis) stays."""
    key = prefix_key(public_prefix)
    if not key:
        return text
    span = _read_start(text, len(key)).match(key)
    if span is None:
        return text
    start, end = span
    # `*!*`: emphasis around the prefix alone would go out as a stray `**`.
    while start > 0 and end < len(text) and text[end] in _EMPHASIS:
        if text[start - 1] != text[end]:
            break
        start, end = start - 1, end + 1
    return text[:start] + text[end:]
