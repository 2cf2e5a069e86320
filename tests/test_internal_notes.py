"""Internal notes fail closed: the prefix counts however Slack formatting dresses it up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.slack.prefixes import LEADING_BUDGET, is_internal, prefix_key, strip_public_prefix

PREFIXES = ("note:", ";;")


def internal(text: str, *, public_prefix: str = "") -> bool:
    return is_internal(text, internal_prefixes=PREFIXES, public_prefix=public_prefix)


@pytest.mark.parametrize(
    "text",
    [
        "note: ask the warehouse",
        "*note:* secret",
        "_note:_ secret",
        "~note:~ secret",
        "`note:` secret",
        "```note: secret```",
        "> note: secret",
        "&gt; note: secret",
        "&gt;&gt; *note:* secret",
        "note : secret",
        "NOTE: secret",
        "Note : secret",
        ":memo: note: secret",
        ":memo::skin-tone-2: note: secret",
        "📝 note: secret",
        "<@U123> note: secret",
        "<@U123|ada> :memo: note: secret",
        "<!here> note: secret",
        "\u00a0note: secret",
        "\u200bnote: secret",
        "\u200c\u200d\u2060\ufeffnote: secret",
        "\u00a0\u200b note: secret",
        "n\u200bote: secret",
        "ｎｏｔｅ： secret",
        "• note: secret",
        ";; secret",
        "; ; secret",
        "*;;* secret",
    ],
)
def test_a_dressed_up_internal_prefix_stays_internal(text: str) -> None:
    assert internal(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sorry to hear that, we will send a new one.",
        "notes: we ship on Monday",
        "a note: this is public",
        ":tada: thanks for waiting",
        "<@U123> will call you back",
        "<https://acme.example/notes|note:> see the link",
        "note",
        "",
    ],
)
def test_an_ordinary_reply_is_not_internal(text: str) -> None:
    assert not internal(text)


def test_leading_noise_longer_than_the_budget_stays_internal() -> None:
    assert internal(" " * LEADING_BUDGET + "Thanks!")
    assert internal(":tada:" * 100 + " Thanks!")


def test_a_prefix_beyond_a_long_run_of_invisible_characters_stays_internal() -> None:
    assert internal("note" + "\u200b" * 500 + ": secret")


def test_a_hundred_kilobyte_reply_is_read_only_at_its_start() -> None:
    assert not internal("Thanks! " + "x" * 100_000)
    assert internal("*note:* " + "x" * 100_000)


def test_an_emoji_prefix_is_not_skipped_as_noise() -> None:
    assert is_internal(":lock: secret", internal_prefixes=(":lock:",))
    assert is_internal("🔒 secret", internal_prefixes=("🔒",))


def test_with_a_public_prefix_only_messages_starting_with_it_go_public() -> None:
    assert not internal("!hello", public_prefix="!")
    assert not internal("*!* hello", public_prefix="!")
    assert internal("hello", public_prefix="!")
    assert internal("hello !", public_prefix="!")
    assert internal("", public_prefix="!")


def test_an_internal_prefix_after_the_public_one_still_stays_internal() -> None:
    assert internal("!note: secret", public_prefix="!")
    assert internal("note: !secret", public_prefix="!")


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("!hello", "hello"),
        ("  ! hello", "   hello"),
        ("*!hello*", "*hello*"),
        ("*!* hello", " hello"),
        ("_*!*_ hello", " hello"),
        (":memo: !hi", ":memo: hi"),
        ("hello", "hello"),
    ],
)
def test_the_public_prefix_is_removed_from_what_is_sent(text: str, sent: str) -> None:
    assert strip_public_prefix(text, "!") == sent


def test_a_prefix_is_compared_without_case_spaces_or_emphasis() -> None:
    assert prefix_key(" *Note* :") == "note:"
    assert prefix_key("\u200b*_") == ""


GOOD = """
[slack]
{slack}

[[accounts]]
name = "acme-mastodon"
network = "mastodon"
server = "https://mastodon.example"
token_env = "T"
channel = "C0123456789"
"""


def _settings_error(tmp_path: Path, slack: str) -> str:
    path = tmp_path / "socialbridge.toml"
    path.write_text(GOOD.format(slack=slack))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"T": "t"})
    return str(caught.value)


def test_public_prefix_is_read_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "socialbridge.toml"
    path.write_text(GOOD.format(slack='public_prefix = "!"'))
    assert load_settings(path, environ={"T": "t"}).slack.public_prefix == "!"
    path.write_text(GOOD.format(slack=""))
    assert load_settings(path, environ={"T": "t"}).slack.public_prefix == ""


def test_a_prefix_without_a_visible_character_is_a_config_error(tmp_path: Path) -> None:
    message = _settings_error(tmp_path, 'internal_prefixes = ["note:", " * "]')
    assert "[slack] internal_prefixes" in message and "' * '" in message
    message = _settings_error(tmp_path, 'public_prefix = "\\u200b"')
    assert "[slack] public_prefix" in message
    message = _settings_error(tmp_path, 'public_prefix = "' + "ﬃ" * 20 + '"')
    assert "[slack] public_prefix" in message and "at most 40 characters" in message
