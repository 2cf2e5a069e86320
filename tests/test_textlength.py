"""Our count of a reply agrees with the network's, so Slack refuses exactly what it would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.textlength import DEFAULT_MASTODON_URL_WEIGHT, grapheme_count, mastodon_length

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


def length(text: str) -> int:
    return mastodon_length(text, url_weight=DEFAULT_MASTODON_URL_WEIGHT)


def test_ascii_counts_one_per_character() -> None:
    assert grapheme_count("hello") == 5


def test_family_emoji_counts_as_one() -> None:
    assert grapheme_count(FAMILY) == 1


def test_flag_counts_as_one() -> None:
    assert grapheme_count("🇩🇪") == 1


def test_combining_accent_counts_with_its_letter() -> None:
    assert grapheme_count("e\u0301") == 1


def test_crlf_counts_as_one() -> None:
    assert grapheme_count("a\r\nb") == 3


def test_mastodon_counts_grapheme_clusters_not_code_points() -> None:
    assert length(f"hi {FAMILY}") == 4


def test_a_url_counts_as_the_instance_url_weight() -> None:
    assert length("see https://example.com/a/very/long/path?with=query here") == 4 + 23 + 5


def test_url_weight_comes_from_the_instance() -> None:
    assert mastodon_length("https://example.com/long/path", url_weight=10) == 10


def test_a_short_url_also_counts_the_full_weight() -> None:
    assert length("https://t.co") == 23


def test_several_urls_each_count_the_weight() -> None:
    assert length("https://a.example https://b.example/x") == 23 + 1 + 23


def test_trailing_sentence_punctuation_is_not_part_of_the_url() -> None:
    assert length("Visit https://example.com/page.") == 6 + 23 + 1


def test_closing_parenthesis_around_a_url_is_not_part_of_it() -> None:
    assert length("(https://example.com/x)") == 1 + 23 + 1


def test_balanced_parentheses_inside_a_url_are_part_of_it() -> None:
    assert length("https://en.wikipedia.org/wiki/Rust_(language) ok") == 23 + 3


def test_url_without_scheme_counts_its_characters() -> None:
    assert length("example.com") == 11


def test_host_without_a_dot_is_not_a_url() -> None:
    assert length("http://localhost/x") == len("http://localhost/x")


def test_scheme_glued_to_a_word_is_not_a_url() -> None:
    assert length("xhttps://example.com") == len("xhttps://example.com")


def test_international_domain_url_counts_the_weight() -> None:
    assert length("besøk https://grå.org/ idag") == 6 + 23 + 5


def test_remote_mention_counts_as_the_username_only() -> None:
    assert length("hi @bob@example.com") == len("hi @bob")


def test_local_mention_counts_in_full() -> None:
    assert length("hi @bob") == 7


def test_remote_mention_on_an_international_domain_counts_as_the_username() -> None:
    assert length("hi @arnt@grå.org") == len("hi @arnt")


def test_email_address_is_not_a_mention() -> None:
    assert length("mail bob@example.com") == len("mail bob@example.com")


def test_mention_inside_a_url_counts_with_the_url() -> None:
    assert length("https://example.com/@bob@other.example") == 23


def test_mention_followed_by_scheme_separator_is_not_shortened() -> None:
    assert length("@bob@example://") == len("@bob@example://")


def test_url_and_mention_together() -> None:
    assert length("@bob@example.com look https://example.com") == len("@bob look ") + 23


def test_blank_text_counts_zero() -> None:
    assert length(" \n\t ") == 0


def test_content_warning_counts_too() -> None:
    assert mastodon_length("body", url_weight=23, spoiler_text="cw") == 6


def test_text_glued_to_a_url_path_counts_as_part_of_the_url() -> None:
    assert length("a" * 476 + " https://example.com/" + "b" * 40) == 500


def test_hostile_input_is_counted_quickly() -> None:
    assert length("https://" + "a." * 40000 + "!") == len("https://" + "a." * 40000 + "!")


WORDS = st.text(
    alphabet=st.characters(
        blacklist_characters=":@", blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")
    ),
    min_size=1,
)
LINKS = st.text(alphabet="abcxyz0123", min_size=1, max_size=30).map(
    lambda path: f"https://example.com/{path}"
)


@given(st.lists(st.one_of(WORDS, LINKS), min_size=1, max_size=8))
def test_words_and_links_count_their_graphemes_and_the_url_weight_each(
    parts: list[str],
) -> None:
    # Each link is a fixed run of 23; the words count as the graphemes they make, joined.
    as_counted = " ".join("x" * 23 if part.startswith("https://") else part for part in parts)
    assert length(" ".join(parts)) == grapheme_count(as_counted)


@given(st.text(alphabet=st.characters(blacklist_characters=":@")))
def test_text_without_urls_or_mentions_counts_its_graphemes(text: str) -> None:
    expected = grapheme_count(text) if text.strip() else 0
    assert length(text) == expected


@given(st.text())
def test_shortening_urls_and_mentions_never_adds_length(text: str) -> None:
    assert mastodon_length(text, url_weight=0) <= grapheme_count(text)
