"""Text on X: the weighted length X checks against 280, and texts made comparable.

The count comes from twitter-text (the Python port of X's own library, tested against its
conformance suite), not a hand count: X weighs most of Latin and punctuation 1 and
everything else 2 (CJK, emoji, a whole emoji ZWJ sequence counts 2), every URL 23 whatever
its length, text normalized to NFC first.
https://docs.x.com/fundamentals/counting-characters
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any, cast

from twitter_text import (  # type: ignore[import-untyped]
    extract_urls_with_indices,
    parse_tweet,
)

__all__ = ["MAX_WEIGHTED_LENGTH", "comparable_text", "x_weighted_length"]

MAX_WEIGHTED_LENGTH = 280

# A reply's text starts with the @names it answers; X adds them itself (Post.text includes
# them, the display range starts after them).
_LEADING_MENTIONS = re.compile(r"^(?:@\w{1,15}\s+)+")
_WHITESPACE = re.compile(r"\s+")
_URL_MARK = "\u0000"


def x_weighted_length(text: str) -> int:
    """The length X gives `text` (what must stay at or under 280)."""
    return int(cast(Any, parse_tweet(text)).weightedLength)


def comparable_text(text: str) -> str:
    """`text` as it would read after X published it, for spotting our own reply again.

    X escapes &, < and > in the text it returns, wraps every link as a t.co link and puts
    the @names of the people answered in front; all three are undone or blanked here.
    """
    plain = unicodedata.normalize("NFC", html.unescape(text)).strip()
    plain = _LEADING_MENTIONS.sub("", plain)
    urls = cast(list[dict[str, Any]], extract_urls_with_indices(plain))
    pieces: list[str] = []
    position = 0
    for url in sorted(urls, key=lambda found: int(found["indices"][0])):
        start, end = (int(i) for i in url["indices"])
        pieces.append(plain[position:start])
        pieces.append(_URL_MARK)
        position = end
    pieces.append(plain[position:])
    return _WHITESPACE.sub(" ", "".join(pieces)).strip()
