"""Where X sees URLs and emoji in a text, found in linear time.

twitter-text (the port of X's own library) finds URLs with a regex that backtracks over
every split of a dotted run and tries ~1,600 top-level domains one by one at each split:
`"a." * 500` takes seconds. The patterns here are built from twitter-text's own pieces (its
character classes, its TLD lists, its emoji list) and find what it finds in real text
(tests/test_x_text.py compares the two); these changes bound the work on hostile text:

- the TLD alternation becomes a trie (one branch per letter instead of one per TLD);
- a label is at most 63 characters and a domain at most `MAX_SUBDOMAINS` + 2 labels
  (DNS allows 63; twitter-text drops a longer label anyway, as IDNA refuses it);
- a dot too far from any TLD to be in a domain is read as a comma (`_without_hopeless_dots`);
- an attempt that starts inside a label whose start was already tried is skipped: it
  meets the same labels and the same TLDs, so it fails or matches the same way;
- the path is matched in one pass (see `_PATH`).

The emoji scan is the longest-prefix look-up twitter-text's sorted alternation amounts to.
https://github.com/twitter/twitter-text/tree/master/js/src/regexp
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import regex
from twitter_text.extract_urls import is_valid_url  # type: ignore[import-untyped]
from twitter_text.regexp import emoji as _emoji  # type: ignore[import-untyped]
from twitter_text.regexp.invalid_url_without_protocol_preceding_chars import (  # type: ignore[import-untyped]
    invalid_url_without_protocol_preceding_chars,
)
from twitter_text.regexp.latin_accent_chars import (  # type: ignore[import-untyped]
    latin_accent_chars,
)
from twitter_text.regexp.valid_cctld import valid_cctld  # type: ignore[import-untyped]
from twitter_text.regexp.valid_domain_chars import (  # type: ignore[import-untyped]
    valid_domain_chars,
)
from twitter_text.regexp.valid_general_url_path_chars import (  # type: ignore[import-untyped]
    valid_general_url_path_chars,
)
from twitter_text.regexp.valid_gtld import valid_gtld  # type: ignore[import-untyped]
from twitter_text.regexp.valid_punycode import valid_punycode  # type: ignore[import-untyped]
from twitter_text.regexp.valid_tco_url import valid_tco_url  # type: ignore[import-untyped]
from twitter_text.regexp.valid_url_balanced_parens import (  # type: ignore[import-untyped]
    valid_url_balanced_parens,
)
from twitter_text.regexp.valid_url_path_ending_chars import (  # type: ignore[import-untyped]
    valid_url_path_ending_chars,
)
from twitter_text.regexp.valid_url_preceding_chars import (  # type: ignore[import-untyped]
    valid_url_preceding_chars,
)
from twitter_text.regexp.valid_url_query_chars import (  # type: ignore[import-untyped]
    valid_url_query_chars,
)
from twitter_text.regexp.valid_url_query_ending_chars import (  # type: ignore[import-untyped]
    valid_url_query_ending_chars,
)

__all__ = ["MAX_SUBDOMAINS", "Span", "emoji_spans", "url_spans"]

MAX_SUBDOMAINS = 10
"""Labels before the registrable name; real links have a handful, this bounds the work."""

_TLD_END = "(?=[^0-9a-zA-Z@+-]|$)"
_MAX_TCO_SLUG = 40  # twitter-text's max_tco_slug_length
_DEFAULT_PROTOCOL = "https://"


@dataclass(frozen=True, slots=True)
class Span:
    """`text[start:start + length]` is one entity; `length` is what X skips over."""

    start: int
    length: int


def _tld_list(compiled: Any) -> list[str]:
    pattern = str(compiled.pattern)
    head, tail = "(?:(?:", ")" + _TLD_END + ")"
    if not (pattern.startswith(head) and pattern.endswith(tail)):
        raise RuntimeError("twitter-text changed its TLD pattern; review bot/sources/x_entities")
    return pattern[len(head) : -len(tail)].split("|")


def _trie(words: Iterable[str]) -> str:
    """One alternation per letter, longer words first, as twitter-text's sorted list tries."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [regex.escape(c) + render(child) for c, child in sorted(node.items()) if c]
        if "" in node:
            branches.append("")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return render(root)


_DC = valid_domain_chars.pattern
_TLDS = _trie(_tld_list(valid_gtld) + _tld_list(valid_cctld))
_TLD = rf"(?:{_TLDS}{_TLD_END}|{valid_punycode.pattern})"
# A label ends at the first dot, so matching it atomically changes nothing but the work.
_SUBDOMAIN = rf"(?>(?:{_DC}(?:[_-]|{_DC}){{0,61}})?{_DC}\.)"
_DOMAIN_NAME = rf"(?>(?:{_DC}(?:-|{_DC}){{0,61}})?{_DC}\.)"
# twitter-text's path is `(?:A|P|@general+/)*` with A = `general* (P general*)* ending`, P
# balanced parentheses (its ending-chars pattern ends in "|P", which splits the group). Each
# round retries A over the whole rest, quadratic on "(a)" * n. Rounds after the first A
# only ever match P, and `@general+/` only where A would: so A once, then any Ps.
_PARENS = valid_url_balanced_parens.pattern
_GENERAL = valid_general_url_path_chars.pattern
_ENDING_CHARS, _, _ = valid_url_path_ending_chars.pattern.partition(f"|(?:{_PARENS})")
_PATH = rf"(?:{_GENERAL}*(?:{_PARENS}{_GENERAL}*)*{_ENDING_CHARS})?(?:{_PARENS})*"
# valid_url_preceding_chars is `(?:[^EXCLUDED]|[DIRECTIONAL]|^)`.
_BEFORE_EXCLUDED, _, _BEFORE_OTHERS = valid_url_preceding_chars.pattern.removeprefix(
    "(?:[^"
).partition("]|")
if not _BEFORE_OTHERS.endswith("]|^)"):
    raise RuntimeError("twitter-text changed valid_url_preceding_chars; review this module")
# An attempt whose preceding character is itself a domain character that could have started
# the URL one place earlier: that earlier attempt saw the same labels (\G: unless the
# previous match took the character before).
_INSIDE_A_LABEL = rf"(?<=[^{_BEFORE_EXCLUDED}]){_DC}(?!https?://)"
_URL = regex.compile(
    rf"(?P<before>(?:\G|(?!{_INSIDE_A_LABEL}))[^{_BEFORE_EXCLUDED}]|{_BEFORE_OTHERS}"
    r"(?P<url>(?P<protocol>https?://)?"
    rf"(?P<domain>{_SUBDOMAIN}{{0,{MAX_SUBDOMAINS}}}{_DOMAIN_NAME}{_TLD})"
    r"(?::[0-9]+)?"
    rf"(?P<path>/{_PATH})?"
    rf"(?:\?{valid_url_query_chars.pattern}*{valid_url_query_ending_chars.pattern})?)",
    regex.IGNORECASE,
)
_ASCII_LABEL_CHAR = rf"[\-a-z0-9{latin_accent_chars.pattern}]"
# twitter-text's valid_ascii_domain; an attempt inside a label meets the same labels as the
# attempt at the label's start, and finditer already made that one.
_ASCII_DOMAIN = regex.compile(
    rf"(?<!{_ASCII_LABEL_CHAR})(?>{_ASCII_LABEL_CHAR}+\.)+{_TLD}", regex.IGNORECASE
)


_DOT_BEFORE_TLD = regex.compile(rf"\.(?={_TLD})", regex.IGNORECASE)


def _without_hopeless_dots(text: str) -> str:
    """`text` with every dot no domain can pass through turned into a comma.

    A domain ends in a TLD at most MAX_SUBDOMAINS + 1 dots further on; a dot with no TLD
    that close is in no domain and, for the same reason, precedes no URL without a scheme.
    Everywhere else (a path, a query, before a scheme) a comma acts exactly as a dot does,
    and weighs the same, so the matches keep their places; only the hopeless attempts go.
    """
    dots = [index for index, char in enumerate(text) if char == "."]
    before_tld = {match.start() for match in _DOT_BEFORE_TLD.finditer(text)}
    chars = list(text)
    since_tld = MAX_SUBDOMAINS + 1
    for index in reversed(dots):
        since_tld = 0 if index in before_tld else since_tld + 1
        if since_tld > MAX_SUBDOMAINS:
            chars[index] = ","
    return "".join(chars)


def url_spans(text: str) -> list[Span]:
    """What twitter-text's extract_urls_with_indices finds, with protocol or without."""
    if "." not in text:
        return []
    spans: list[Span] = []
    for match in _URL.finditer(_without_hopeless_dots(text)):
        before, url, protocol, domain, path = match.group(
            "before", "url", "protocol", "domain", "path"
        )
        start = match.end() - len(url)
        if not is_valid_url(url, protocol or _DEFAULT_PROTOCOL, domain):
            continue
        if protocol is None:
            spans.extend(_without_protocol(before, url, domain, path, start))
            continue
        tco = valid_tco_url.search(url)
        if tco:
            if tco.group(1) and len(tco.group(1)) > _MAX_TCO_SLUG:
                continue
            url = tco.group(0)
        spans.append(Span(start, len(url)))
    return spans


def _without_protocol(
    before: str, url: str, domain: str, path: str | None, start: int
) -> Iterator[Span]:
    """Only the ASCII domains inside, the last one with the path (twitter-text's rule)."""
    if invalid_url_without_protocol_preceding_chars.match(before):
        return
    found = [(m.start(), m.group(0)) for m in _ASCII_DOMAIN.finditer(domain)]
    for index, (offset, ascii_domain) in enumerate(found):
        if path and index == len(found) - 1:
            yield Span(start + offset, len(url.replace(domain, ascii_domain)))
        else:
            yield Span(start + offset, len(ascii_domain))


def _emoji_tables() -> tuple[frozenset[str], tuple[int, ...], frozenset[str], frozenset[str]]:
    sequences = frozenset(
        "".join(chr(int(code, 16)) for code in entry.codepoint.split())
        for entry in _emoji.emoji_list
        if len(entry.codepoint.split()) > 1
    )
    lengths = tuple(sorted({len(s) for s in sequences}, reverse=True))
    singles = frozenset(
        chr(code)
        for low, high in _emoji.single_codepoint_emoji_ranges
        for code in range(low, high + 1)
    )
    return sequences, lengths, frozenset(s[0] for s in sequences), singles


_SEQUENCES, _SEQUENCE_LENGTHS, _SEQUENCE_STARTS, _SINGLES = _emoji_tables()


def emoji_spans(text: str) -> list[Span]:
    """What twitter-text's emoji regex finds: the longest listed sequence, else one emoji."""
    spans: list[Span] = []
    position = 0
    while position < len(text):
        length = _emoji_at(text, position)
        if length:
            spans.append(Span(position, length))
            position += length
        else:
            position += 1
    return spans


def _emoji_at(text: str, position: int) -> int:
    if text[position] in _SEQUENCE_STARTS:
        for length in _SEQUENCE_LENGTHS:
            if position + length <= len(text) and text[position : position + length] in _SEQUENCES:
                return length
    return 1 if text[position] in _SINGLES else 0
