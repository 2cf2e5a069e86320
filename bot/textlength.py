"""Count a reply's length the way each network will, before we try to post it.

A reply over the limit must be refused in Slack with the limit and the count (invariant 5);
for that our count has to agree with the server's, or the network rejects what we accepted.
People count what they see, so the unit is the grapheme cluster: a flag or a family emoji
is one character, not four code points.
"""

from __future__ import annotations

import regex

from bot.domain import LengthVerdict

__all__ = [
    "DEFAULT_MASTODON_URL_WEIGHT",
    "UNCOUNTED_FACTOR",
    "grapheme_count",
    "mastodon_length",
    "refusal_key",
    "too_long_to_count",
]

DEFAULT_MASTODON_URL_WEIGHT = 23
"""Mastodon's `characters_reserved_per_url` unless the instance says otherwise."""

UNCOUNTED_FACTOR = 10
"""A text longer than this many times the limit is refused without counting it."""

# One grapheme cluster (what a person sees as one character): the pattern every length
# limit and every cut in the bot uses.
GRAPHEME = regex.compile(r"\X")

# Mastodon's server finds URLs with twitter-text's extractor, loosened in
# https://github.com/mastodon/mastodon/blob/main/config/initializers/twitter_regex.rb and
# called with extract_url_without_protocol: false, so only URLs with a scheme count as one.
# Two simplifications: any run of two or more letters is accepted as a top-level domain
# (twitter-text checks a list), and t.co's special case is left out.
_PROTOCOL = r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
_DOMAIN_CHAR = (
    r"[^!-/:-@\[-`{-~\s\p{Cc}\u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000\ufffe\ufeff\uffff]"
)
# Labels are capped at DNS's 63 characters and 127 levels, which IDNA would refuse anyway;
# the caps keep the regex module's backtracking from going quadratic on hostile input.
_SUBDOMAIN = rf"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR}){{0,61}})?{_DOMAIN_CHAR}\.)"
_DOMAIN_NAME = rf"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR}){{0,61}})?{_DOMAIN_CHAR}\.)"
_TLD = r"(?:xn--[0-9a-z-]{1,59}|[^\W\d_]{2,63})(?=[^a-z0-9@+-]|$)"
_PATH_CHAR = r"[^\p{White_Space}<>()?]"
_PARENS = rf"\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*)\)"
_PATH_END = rf"(?:[^\p{{White_Space}}()?!*\"'「」<>;:=,.$%\[\]~&|@]|{_PARENS})"
_PATH = rf"(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END}|{_PATH_CHAR}+/)"
_UCHARS = (
    r"\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    r"\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    r"\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    r"\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_QUERY = rf"\?[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]*[a-z0-9_&=#/\-{_UCHARS}]"
_URL = regex.compile(
    r"(?<![a-z0-9@＠$#＃\ufffe\ufeff\uffff])"
    rf"{_PROTOCOL}(?P<domain>{_SUBDOMAIN}{{0,125}}{_DOMAIN_NAME}{_TLD})(?::[0-9]+)?"
    # Possessive: nothing after the path can fail, and it keeps hostile input linear.
    rf"(?:/(?:{_PATH})*+)?(?:{_QUERY})?",
    regex.IGNORECASE,
)
_MAX_URL_LENGTH = 4096

# Account::MENTION_RE and Extractor.extract_mentions_or_lists_with_indices in
# https://github.com/mastodon/mastodon/blob/main/app/models/account.rb and app/lib/extractor.rb
_MENTION = regex.compile(
    r"(?<![=/\w])@(?P<name>[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*(?:@\w+(?:[.-]+\w+)*)?)",
    regex.IGNORECASE,
)
# twitter-text's end_mention_match: an @, a Latin accent or :// right after spoils a mention.
_MENTION_SPOILER = regex.compile(
    r"[@＠\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257"
    r"\u0259\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff]|://"
)

_Entity = tuple[int, int, str]


def too_long_to_count(text: str, *, limit: int) -> LengthVerdict | None:
    """The refusal for a text over UNCOUNTED_FACTOR times `limit` code points, else None.

    Every network's count is at most the number of code points (a grapheme, a weighted
    character, a UTF-8 byte is at least one), except that a long URL counts as one fixed
    weight: a reply that is mostly one link of thousands of characters is refused too.
    That is the price of never running a count over a pasted book inside a Slack request.
    """
    bound = UNCOUNTED_FACTOR * limit
    if len(text) <= bound:
        return None
    return LengthVerdict(count=bound, limit=limit, counted=False)


def refusal_key(verdict: LengthVerdict) -> str:
    """The catalog sentence that refuses a reply over the limit, with its limit and count."""
    return "reply.too_long" if verdict.counted else "reply.far_too_long"


def grapheme_count(text: str) -> int:
    """Characters as a reader counts them: extended grapheme clusters (Unicode `\\X`)."""
    return len(GRAPHEME.findall(text))


def _domain_is_valid(url: str, domain: str) -> bool:
    """twitter-text's is_valid_domain: the domain converts to ASCII and the url stays short."""
    try:
        ascii_length = len(domain.encode("idna"))
    except UnicodeError:
        return False
    return len(url) + max(0, ascii_length - len(domain)) <= _MAX_URL_LENGTH


def _urls(text: str, placeholder: str) -> list[_Entity]:
    return [
        (match.start(), match.end(), placeholder)
        for match in _URL.finditer(text)
        if _domain_is_valid(match.group(), match.group("domain"))
    ]


def _mentions(text: str) -> list[_Entity]:
    return [
        (match.start(), match.end(), "@" + match.group("name").split("@")[0])
        for match in _MENTION.finditer(text)
        if not _MENTION_SPOILER.match(text, match.end())
    ]


def _without_overlaps(entities: list[_Entity]) -> list[_Entity]:
    """twitter-text's remove_overlapping_entities: the earlier entity wins."""
    kept: list[_Entity] = []
    for entity in sorted(entities, key=lambda item: item[0]):
        if not kept or kept[-1][1] <= entity[0]:
            kept.append(entity)
    return kept


def _countable_text(text: str, url_weight: int) -> str:
    """The text as Mastodon measures it: each URL a fixed run, each `@user@domain` `@user`."""
    if not text.strip():
        return ""
    pieces: list[str] = []
    position = 0
    entities = _urls(text, "x" * url_weight) + _mentions(text)
    for start, end, replacement in _without_overlaps(entities):
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def mastodon_length(text: str, *, url_weight: int, spoiler_text: str = "") -> int:
    """Length of a status as Mastodon's server checks it against `max_characters`.

    `url_weight` is the instance's `configuration.statuses.characters_reserved_per_url`
    (23 on stock Mastodon). A content warning, if any, counts too.
    """
    # The server, not the web composer, has the last word. StatusLengthValidator counts
    # grapheme clusters (`each_grapheme_cluster.size`, formerly `mb_chars.grapheme_length`)
    # of spoiler_text + countable_text(text):
    # https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb
    # The web composer's counter (stringz `length`, roughly code points) can differ by a few.
    return grapheme_count(spoiler_text + _countable_text(text, url_weight))
