"""Our linear count of a post agrees with twitter-text's, the library X publishes.

twitter-text itself is the oracle here: on real-looking text, where its quadratic URL regex
is still quick, every count must be the same.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls_with_indices, parse_tweet  # type: ignore[import-untyped]
from twitter_text.extract_emojis import extract_emojis_with_indices  # type: ignore[import-untyped]

from bot.sources.x.entities import MAX_SUBDOMAINS, emoji_spans, url_spans
from bot.sources.x.text import comparable_text, x_weighted_length

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


def twitter_text_length(text: str) -> int:
    return int(cast(Any, parse_tweet(text)).weightedLength)


LABELS = st.sampled_from(["a", "mail", "www", "my-shop", "x1", "über", "日本", "b_c", "xn--p1ai"])
TLDS = st.sampled_from(["com", "de", "co.uk", "io", "jp", "中国", "world", "txt", "zz", "c"])
PATHS = st.sampled_from(
    ["", "/", "/a/b", "/wiki/Rust_(language)", "/p.html", "/x?y=1&z=2", "?q=ok", "/a.", "/@bob/",
     "/a(b(c)d)e", "/(x)(y)", "/a((b)", "/a(b", "/a)b", "/–~|&", "/путь", "/a!", "/@x/y"]
)  # fmt: skip
DOMAINS = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(LABELS, min_size=1, max_size=4), TLDS
)
LINKS = st.builds(
    lambda scheme, domain, port, path: f"{scheme}{domain}{port}{path}",
    st.sampled_from(["", "http://", "https://", "HTTPS://", "ftp://"]),
    DOMAINS,
    st.sampled_from(["", ":8080"]),
    PATHS,
)
WORDS = st.sampled_from(
    ["hello", "Grüße", "日本語", "😀", FAMILY, "🇩🇪", "#️⃣", "1️⃣", "e.g.", "@acme", "#tag", "$5",
     "bob@example.com", "t.co/abc", "http://t.co/abcdefghij", "cafe\u0301", "(", ")", ",", ".",
     "…", "\u200f", "\uFEFF", "-", "/"]
)  # fmt: skip
SEPARATORS = st.sampled_from([" ", "", "\n", "\r\n", "\t", ".", ",", "/", "日", "é", "\u3000"])
POSTS = st.lists(st.tuples(st.one_of(WORDS, LINKS), SEPARATORS), max_size=12).map(
    lambda parts: "".join(word + separator for word, separator in parts)
)


@settings(max_examples=400)
@given(POSTS)
def test_a_post_of_words_links_and_emoji_counts_as_twitter_text_counts_it(text: str) -> None:
    assert x_weighted_length(text) == twitter_text_length(text)


@settings(max_examples=400)
@given(st.text(max_size=20))
def test_any_short_text_counts_as_twitter_text_counts_it(text: str) -> None:
    assert x_weighted_length(text) == twitter_text_length(text)


@settings(max_examples=400)
@given(st.text(alphabet="ab.-_/:?=()@#日é😀 \u0301", max_size=22))
def test_text_of_url_punctuation_counts_as_twitter_text_counts_it(text: str) -> None:
    assert x_weighted_length(text) == twitter_text_length(text)


@given(POSTS)
def test_the_urls_found_are_twitter_text_s(text: str) -> None:
    expected = [(u["indices"][0], len(u["url"])) for u in extract_urls_with_indices(text)]
    assert [(span.start, span.length) for span in url_spans(text)] == expected


EDGES = [
    "éxample.com",  # the accent before the domain counts apart: the URL starts after it
    "日本語example.com/x ok",  # only the ASCII domain is a link
    "https://x.com/путь日a.com",  # a link right after a link
    "a.嘉里大酒店 b.嘉里 c.भारतम् d.भारत",  # of two TLDs, the longer that fits
    "x.com,y.org.z",
    "http://t.co/" + "a" * 41,  # a t.co slug over 40 is no link
    "https://a.com/" + "(a)" * 100 + "!",
]


@pytest.mark.parametrize("text", EDGES)
def test_edge_cases_count_as_twitter_text_counts_them(text: str) -> None:
    assert x_weighted_length(text) == twitter_text_length(text)


def test_a_domain_of_more_labels_than_any_real_one_is_not_counted_as_one_link() -> None:
    # A deliberate difference: twitter-text counts any number of labels (23 here), we stop
    # at MAX_SUBDOMAINS + 2 and count the first label as text, "a." (2) + the rest (23).
    assert x_weighted_length("a." * (MAX_SUBDOMAINS + 2) + "com") == 2 + 23


def test_a_long_domain_and_its_path_count_as_one_link() -> None:
    text = "see www.shop.example.co.uk/a/b?c=d ok"
    assert x_weighted_length(text) == twitter_text_length(text) == 4 + 23 + 3


def test_a_keycap_and_a_family_each_count_as_one_emoji() -> None:
    assert [(s.start, s.length) for s in emoji_spans(f"#️⃣{FAMILY}")] == [(0, 3), (3, 7)]


def test_a_comparable_text_blanks_the_links_and_the_leading_names() -> None:
    assert comparable_text("@kim  see https://t.co/abc &amp; example.com") == "see \u0000 & \u0000"


EMOJI_PARTS = st.sampled_from(
    ["😀", FAMILY[:3], FAMILY, "\u200d", "🏽", "#", "\ufe0f", "\u20e3", "🇩", "🇪", "a", "1"]
)


@given(st.lists(EMOJI_PARTS, max_size=20).map("".join))
def test_emoji_are_found_where_twitter_text_finds_them(text: str) -> None:
    expected = [(e["indices"][0], len(e["emoji"])) for e in extract_emojis_with_indices(text)]
    assert [(span.start, span.length) for span in emoji_spans(text)] == expected
