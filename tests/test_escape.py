"""Text from the internet stays text in Slack: no pings, no disguised links, no broken blocks."""

from __future__ import annotations

import regex
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.escape import (
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    escape_mrkdwn,
    escape_plain_text,
    slack_link,
    truncate_for_block,
)

INJECTIONS = ["<!channel>", "<!here>", "<@U123>", "<https://evil.example|bank>"]


def test_channel_broadcast_from_a_post_is_inert() -> None:
    assert escape_mrkdwn("hey <!channel>") == "hey &lt;!channel&gt;"


def test_here_broadcast_from_a_post_is_inert() -> None:
    assert escape_mrkdwn("<!here> look") == "&lt;!here&gt; look"


def test_user_mention_from_a_post_is_inert() -> None:
    assert escape_mrkdwn("ping <@U123>") == "ping &lt;@U123&gt;"


def test_disguised_link_from_a_post_is_inert() -> None:
    assert escape_mrkdwn("<https://evil.example|bank>") == "&lt;https://evil.example|bank&gt;"


def test_ampersand_is_escaped_first_so_existing_entities_show_literally() -> None:
    assert escape_mrkdwn("&lt; & &amp;") == "&amp;lt; &amp; &amp;amp;"


def test_other_characters_are_left_alone() -> None:
    text = 'Größe: 5\'9" *bold* _it_ ~s~ `c` 🎉 "quoted"'
    assert escape_mrkdwn(text) == text


def test_nul_and_other_control_characters_are_dropped() -> None:
    assert escape_mrkdwn("a\x00b\x07c\x1bd\x7fe") == "abcde"


def test_newlines_and_tabs_survive_escaping() -> None:
    assert escape_mrkdwn("a\n\tb") == "a\n\tb"


def test_carriage_returns_become_newlines() -> None:
    assert escape_mrkdwn("a\r\nb\rc") == "a\nb\nc"


@given(st.text())
def test_escaped_text_never_contains_angle_brackets(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped
    assert ">" not in escaped


@given(st.text())
def test_escaped_text_has_no_bare_ampersand(text: str) -> None:
    assert regex.search(r"&(?!amp;|lt;|gt;)", escape_mrkdwn(text)) is None


@given(st.text())
def test_escaped_text_has_no_control_characters_but_newline_and_tab(text: str) -> None:
    assert not any(ord(char) < 32 and char not in "\n\t" for char in escape_mrkdwn(text))


def test_plain_text_keeps_markup_characters() -> None:
    assert escape_plain_text("<!channel> & co") == "<!channel> & co"


def test_plain_text_drops_control_characters() -> None:
    assert escape_plain_text("a\x00b\x1fc\r\nd") == "abc\nd"


def test_link_shows_its_label() -> None:
    assert slack_link("https://example.com/a", "Example") == "<https://example.com/a|Example>"


def test_link_label_cannot_close_the_link() -> None:
    assert slack_link("https://example.com", "a>b") == "<https://example.com|a&gt;b>"


def test_link_label_cannot_start_another_token() -> None:
    assert slack_link("https://example.com", "<!channel>") == (
        "<https://example.com|&lt;!channel&gt;>"
    )


def test_link_label_pipe_cannot_split_the_link() -> None:
    assert slack_link("https://example.com", "a|b") == "<https://example.com|a¦b>"


def test_link_url_cannot_smuggle_a_label_or_close_the_link() -> None:
    assert slack_link("https://evil.example/x|bank>y<z", "ok") == (
        "<https://evil.example/x%7Cbank%3Ey%3Cz|ok>"
    )


def test_link_url_ampersand_is_escaped() -> None:
    assert slack_link("https://example.com/?a=1&b=2", "q") == (
        "<https://example.com/?a=1&amp;b=2|q>"
    )


def test_link_url_spaces_are_percent_encoded() -> None:
    assert slack_link("https://example.com/a b", "q") == "<https://example.com/a%20b|q>"


def test_javascript_url_gives_only_the_escaped_label() -> None:
    assert slack_link("javascript:alert(1)", "<b>click</b>") == "&lt;b&gt;click&lt;/b&gt;"


def test_slack_scheme_url_gives_only_the_label() -> None:
    assert slack_link("slack://channel?id=C1", "open") == "open"


def test_url_without_host_gives_only_the_label() -> None:
    assert slack_link("https:///nohost", "x") == "x"


def test_empty_label_shows_the_url() -> None:
    assert slack_link("http://example.com", "") == "<http://example.com>"


def test_label_newlines_become_spaces() -> None:
    assert slack_link("https://example.com", "two\nlines") == "<https://example.com|two lines>"


@given(url=st.text(), label=st.text())
def test_link_is_one_token_or_none(url: str, label: str) -> None:
    link = slack_link(url, label)
    if link.startswith("<"):
        assert link.endswith(">")
        assert link.count("<") == 1
        assert link.count(">") == 1
        assert link[1:].lower().startswith(("http://", "https://"))
    else:
        assert "<" not in link
        assert ">" not in link


@given(url=st.sampled_from(INJECTIONS), label=st.sampled_from(INJECTIONS))
def test_injection_strings_never_form_a_second_token(url: str, label: str) -> None:
    link = slack_link(url, label)
    assert "<!" not in link
    assert "<@" not in link


def test_short_text_is_not_truncated() -> None:
    assert truncate_for_block("hello", 5) == "hello"


def test_long_text_is_cut_with_an_ellipsis_within_the_limit() -> None:
    result = truncate_for_block("abcdefghij", 5)
    assert result == "abcd…"


def test_cut_never_splits_a_flag() -> None:
    assert truncate_for_block("🇩🇪🇩🇪🇩🇪", 5) == "🇩🇪…"


def test_cut_never_splits_a_family_emoji() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert truncate_for_block(f"ab{family}cd", 6) == "ab…"


def test_cut_never_leaves_half_an_entity() -> None:
    assert truncate_for_block("ab&amp;cdef", 6) == "ab…"


def test_cut_never_leaves_an_open_link() -> None:
    assert truncate_for_block("see <https://example.com|here> now", 12) == "see…"


def test_plain_text_cut_keeps_a_literal_angle_bracket() -> None:
    assert truncate_for_block("a < b and more", 7, mrkdwn=False) == "a < b…"


def test_section_and_header_limits_are_slacks() -> None:
    assert (SECTION_TEXT_LIMIT, HEADER_TEXT_LIMIT) == (3000, 150)


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_truncated_text_fits_the_limit(text: str, limit: int) -> None:
    assert len(truncate_for_block(text, limit)) <= limit


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_truncated_text_is_a_grapheme_prefix_of_the_original(text: str, limit: int) -> None:
    result = truncate_for_block(text, limit, mrkdwn=False)
    if result != text:
        kept = result.removesuffix("…")
        assert text.startswith(kept)
        boundaries = [0] + [match.end() for match in regex.finditer(r"\X", text)]
        # The kept part may have lost trailing whitespace, but it ends on a cluster boundary.
        assert any(end >= len(kept) and not text[len(kept) : end].strip() for end in boundaries)
