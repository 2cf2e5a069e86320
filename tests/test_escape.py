"""Text from the internet stays text in Slack: no pings, no disguised links, no broken blocks."""

from __future__ import annotations

import regex
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.escape import escape_mrkdwn, escape_plain_text, slack_link

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


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidi_overrides_and_isolates_are_dropped_from_mrkdwn() -> None:
    # "\u202e" would show "gnp.exe" as "exe.png" and turn the rest of the line around.
    assert escape_mrkdwn(f"Bob{BIDI_CONTROLS} invoice\u202egnp.exe") == "Bob invoicegnp.exe"


def test_bidi_controls_are_dropped_from_plain_text_and_links() -> None:
    assert escape_plain_text("a\u202eb\u2066c") == "abc"
    assert slack_link("https://example.com/\u202e", "x\u2067y") == "<https://example.com/|xy>"


def test_left_to_right_and_right_to_left_marks_are_kept() -> None:
    assert escape_mrkdwn("\u200fשלום\u200e ok") == "\u200fשלום\u200e ok"


@given(st.text(alphabet=st.sampled_from([*BIDI_CONTROLS, "a", "\u200e", "&"])))
def test_escaped_text_never_holds_a_bidi_control(text: str) -> None:
    assert not set(escape_mrkdwn(text)) & set(BIDI_CONTROLS)
