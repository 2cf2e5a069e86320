"""Every message fits Block Kit's limits: the cut never breaks an entity, a token or a
grapheme, and fit_message holds every limit on every block type the bot sends."""

from __future__ import annotations

import json

import regex
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.slack_blockkit import block_errors
from bot.slack.blocks import (
    BUTTON_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    cut,
    fit_message,
)
from bot.slack.escape import escape_mrkdwn


def test_short_text_is_not_truncated() -> None:
    assert cut("hello", 5) == "hello"


def test_long_text_is_cut_with_an_ellipsis_within_the_limit() -> None:
    result = cut("abcdefghij", 5)
    assert result == "abcd…"


def test_cut_never_splits_a_flag() -> None:
    assert cut("🇩🇪🇩🇪🇩🇪", 5) == "🇩🇪…"


def test_cut_never_splits_a_family_emoji() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert cut(f"ab{family}cd", 6) == "ab…"


def test_cut_never_leaves_half_an_entity() -> None:
    assert cut("ab&amp;cdef", 6) == "ab…"


def test_cut_never_leaves_an_open_link() -> None:
    assert cut("see <https://example.com|here> now", 12) == "see…"


def test_plain_text_cut_keeps_a_literal_angle_bracket() -> None:
    assert cut("a < b and more", 7, mrkdwn=False) == "a < b…"


def test_the_limits_are_the_ones_the_fake_slack_enforces() -> None:
    """The fake checks Slack's documented limits on its own (bot/sandbox/slack_blockkit.py):
    a text at our limit passes it, one character more is refused."""

    def section(text: str) -> list[dict[str, object]]:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]

    def header(text: str) -> list[dict[str, object]]:
        return [{"type": "header", "text": {"type": "plain_text", "text": text}}]

    assert block_errors(section("s" * SECTION_TEXT_LIMIT)) == []
    assert block_errors(section("s" * (SECTION_TEXT_LIMIT + 1)))
    assert block_errors(header("h" * HEADER_TEXT_LIMIT)) == []
    assert block_errors(header("h" * (HEADER_TEXT_LIMIT + 1)))


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_truncated_text_fits_the_limit(text: str, limit: int) -> None:
    assert len(cut(text, limit)) <= limit


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_truncated_text_is_a_grapheme_prefix_of_the_original(text: str, limit: int) -> None:
    result = cut(text, limit, mrkdwn=False)
    if result != text:
        kept = result.removesuffix("…")
        assert text.startswith(kept)
        boundaries = [0] + [match.end() for match in regex.finditer(r"\X", text)]
        # The kept part may have lost trailing whitespace, but it ends on a cluster boundary.
        assert any(end >= len(kept) and not text[len(kept) : end].strip() for end in boundaries)


ENTITY_START = regex.compile(r"&(?!amp;|lt;|gt;)")


def _no_broken_entity(text: str) -> bool:
    return ENTITY_START.search(text) is None


def test_a_cut_of_escaped_angle_brackets_ends_on_a_whole_entity() -> None:
    escaped = escape_mrkdwn("<&>" * 2000)
    for limit in range(2990, 3001):
        result = cut(escaped, limit)
        assert len(result) <= limit
        assert _no_broken_entity(result)
        assert result.endswith(("&lt;…", "&amp;…", "&gt;…"))


@given(st.text(alphabet=st.sampled_from(["<", ">", "&", "a", "é", "😀"])), st.integers(1, 300))
def test_a_cut_of_escaped_text_never_splits_an_entity(text: str, limit: int) -> None:
    result = cut(escape_mrkdwn(text), limit)
    assert len(result.encode("utf-16-le")) // 2 <= limit
    assert _no_broken_entity(result)


def test_a_cut_of_a_long_text_counts_utf16_units_so_it_fits_either_count() -> None:
    result = cut("😀" * 3000, SECTION_TEXT_LIMIT)
    assert len(result.encode("utf-16-le")) // 2 <= SECTION_TEXT_LIMIT


def _text(text: str, kind: str = "mrkdwn") -> dict[str, object]:
    return {"type": kind, "text": text}


def _oversized() -> list[dict[str, object]]:
    """One of each block the bot sends, every field over its limit."""
    long_url = "https://example.com/" + "a" * 3000
    divider: dict[str, object] = {"type": "divider"}
    return [
        {"type": "header", "text": _text("H" * 500, "plain_text")},
        {"type": "section", "text": _text(escape_mrkdwn("<&>" * 2000))},
        {"type": "section", "fields": [_text("f" * 2500) for _ in range(12)]},
        {"type": "context", "elements": [_text("c" * 3500) for _ in range(12)]},
        {
            "type": "actions",
            "block_id": "b" * 300,
            "elements": [
                {"type": "button", "action_id": "claim", "text": _text("B" * 100, "plain_text")},
                {
                    "type": "button",
                    "action_id": "open_post",
                    "text": _text("Open", "plain_text"),
                    "url": long_url,
                },
            ],
        },
        {"type": "image", "image_url": long_url, "alt_text": "x"},
        *[divider for _ in range(60)],
    ]


def test_the_fitted_oversized_message_is_one_slack_takes() -> None:
    blocks = _oversized()
    assert block_errors(blocks)  # the fake refuses the message as it was built
    text, fitted = fit_message(escape_mrkdwn("<&>" * 20_000), blocks)
    assert fitted is not None
    assert block_errors(fitted) == []
    assert len(text) <= MESSAGE_TEXT_LIMIT and _no_broken_entity(text)


def test_fit_message_keeps_the_first_fifty_blocks() -> None:
    _, fitted = fit_message("t", [{"type": "divider"}] * 70)
    assert fitted is not None and len(fitted) == MAX_BLOCKS


def test_fit_message_cuts_header_and_button_text_to_their_limits() -> None:
    _, fitted = fit_message("t", _oversized()[:5])
    assert fitted is not None
    header, _, fields, context, actions = fitted
    assert len(header["text"]["text"]) == HEADER_TEXT_LIMIT
    assert len(fields["fields"]) == 10
    assert all(len(field["text"]) <= 2000 for field in fields["fields"])
    assert len(context["elements"]) == 10
    assert all(len(element["text"]) <= SECTION_TEXT_LIMIT for element in context["elements"])
    assert len(actions["block_id"]) == 255
    # The link button to a URL over 3,000 characters is gone: a cut URL opens another page.
    [claim] = actions["elements"]
    assert len(claim["text"]["text"]) == BUTTON_TEXT_LIMIT


def test_an_image_whose_url_is_too_long_is_left_out() -> None:
    _, fitted = fit_message("t", [_oversized()[5], {"type": "divider"}])
    assert fitted == [{"type": "divider"}]


def test_fit_message_leaves_its_input_alone() -> None:
    blocks = _oversized()
    before = json.dumps(blocks)
    fit_message("t", blocks)
    assert json.dumps(blocks) == before


def test_a_message_within_the_limits_is_unchanged() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi", "verbatim": True}}]
    assert fit_message("hi", blocks) == ("hi", blocks)
    assert fit_message("hi", None) == ("hi", None)
