"""Text on X: the weighted length X checks against 280, and texts made comparable.

The count follows twitter-text (the Python port of X's own library, tested against its
conformance suite), not a hand count: X weighs most of Latin and punctuation 1 and
everything else 2 (CJK, emoji, a whole emoji ZWJ sequence counts 2), every URL 23 whatever
its length, text normalized to NFC first. twitter-text's weights and its loop are used as
they are; where it finds URLs and emoji comes from bot.sources.x.entities, which finds the
same in linear time (twitter-text's own URL regex takes seconds on `"a." * 500`).
https://docs.x.com/fundamentals/counting-characters
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from twitter_text.config import config as _twitter_text_config  # type: ignore[import-untyped]

from bot.sources.x.entities import Span, emoji_spans, url_spans

__all__ = ["MAX_WEIGHTED_LENGTH", "comparable_text", "x_weighted_length"]

MAX_WEIGHTED_LENGTH = 280

# A reply's text starts with the @names it answers; X adds them itself (Post.text includes
# them, the display range starts after them).
_LEADING_MENTIONS = re.compile(r"^(?:@\w{1,15}\s+)+")
_WHITESPACE = re.compile(r"\s+")
_URL_MARK = "\u0000"
_LINE_ENDING = re.compile(r"\r\n|\r|\n")
_WEIGHTS: dict[str, Any] = _twitter_text_config["defaults"]
_LIGHT = tuple((int(r["start"]), int(r["end"]), int(r["weight"])) for r in _WEIGHTS["ranges"])


def x_weighted_length(text: str) -> int:
    """The length X gives `text` (what must stay at or under 280): twitter-text's
    parse_tweet(text).weightedLength, in time linear in the length of `text`."""
    normalized = _LINE_ENDING.sub("\n", unicodedata.normalize("NFC", text))
    urls = _by_start(url_spans(normalized))
    emoji = _by_start(emoji_spans(normalized))
    url_weight = int(_WEIGHTS["transformed_url_length"]) * int(_WEIGHTS["scale"])
    emoji_weight = int(_WEIGHTS["default_weight"])
    weighted = 0
    position = 0
    while position < len(normalized):  # twitter-text's loop: a URL wins over an emoji
        if position in urls:
            weighted += url_weight
            position += max(1, urls[position])
        elif position in emoji:
            weighted += emoji_weight
            position += max(1, emoji[position])
        else:
            weighted += _char_weight(normalized[position])
            position += 1
    return weighted // int(_WEIGHTS["scale"])


def _by_start(spans: list[Span]) -> dict[int, int]:
    return {span.start: span.length for span in spans}


def _char_weight(char: str) -> int:
    code = ord(char)
    for start, end, weight in _LIGHT:
        if start <= code <= end:
            return weight
    return int(_WEIGHTS["default_weight"])


def comparable_text(text: str) -> str:
    """`text` as it would read after X published it, for spotting our own reply again.

    X escapes &, < and > in the text it returns, wraps every link as a t.co link and puts
    the @names of the people answered in front; all three are undone or blanked here.
    """
    plain = unicodedata.normalize("NFC", html.unescape(text)).strip()
    plain = _LEADING_MENTIONS.sub("", plain)
    pieces: list[str] = []
    position = 0
    for url in sorted(url_spans(plain), key=lambda found: found.start):
        if url.start < position:
            continue
        pieces.append(plain[position : url.start])
        pieces.append(_URL_MARK)
        position = url.start + url.length
    pieces.append(plain[position:])
    return _WHITESPACE.sub(" ", "".join(pieces)).strip()
