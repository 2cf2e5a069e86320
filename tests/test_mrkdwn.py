"""A Slack reply reaches the network as the words people saw in Slack, not Slack's markup."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.escape import escape_mrkdwn, escape_plain_text
from bot.slack.mrkdwn import MAX_USER_LOOKUPS, slack_to_plain

NAMES = {"U123": "Ada Lovelace", "U777": "&amp; <odd>", "UEVIL": "bob@evil.example"}


def plain(text: str) -> str:
    return slack_to_plain(text, user_name=NAMES.get)


def test_user_mention_becomes_the_display_name_without_an_at_sign() -> None:
    assert plain("thanks <@U123>!") == "thanks Ada Lovelace!"


def test_user_mention_with_label_prefers_the_directory_name() -> None:
    assert plain("<@U123|ada>") == "Ada Lovelace"


def test_unknown_user_falls_back_to_the_label() -> None:
    assert plain("<@U999|grace>") == "grace"


def test_unknown_user_without_label_falls_back_to_the_id() -> None:
    assert plain("<@U999>") == "U999"


def test_display_names_are_used_as_given_not_unescaped() -> None:
    assert plain("<@U777>") == "&amp; <odd>"


def test_a_display_name_with_an_address_loses_its_at_sign() -> None:
    assert plain("ask <@UEVIL> about it") == "ask bobevil.example about it"


def test_a_label_with_at_signs_of_every_kind_loses_them() -> None:
    assert plain("<@U999|@mallory＠evil.example﹫x>") == "malloryevil.examplex"


def test_at_signs_the_person_typed_stay() -> None:
    assert (
        plain("write to help@acme.example or <@U123>")
        == "write to help@acme.example or Ada Lovelace"
    )


def test_a_message_mentioning_hundreds_of_people_looks_up_a_bounded_number() -> None:
    looked_up: list[str] = []

    def directory(user_id: str) -> str:
        looked_up.append(user_id)
        return "Name"

    text = " ".join(f"<@U{i}>" for i in range(200)) + " <@U0>"
    words = slack_to_plain(text, user_name=directory).split(" ")
    assert looked_up == [f"U{i}" for i in range(MAX_USER_LOOKUPS)]
    assert (
        words[MAX_USER_LOOKUPS - 1] == "Name" and words[MAX_USER_LOOKUPS] == f"U{MAX_USER_LOOKUPS}"
    )
    assert words[-1] == "Name"


def test_channel_mention_becomes_hash_name() -> None:
    assert plain("see <#C123|general>") == "see #general"


def test_channel_mention_with_empty_label_falls_back_to_the_id() -> None:
    assert plain("<#C123|>") == "#C123"


def test_here_becomes_the_word_here() -> None:
    assert plain("<!here> hi") == "here hi"


def test_channel_broadcast_becomes_the_word_channel() -> None:
    assert plain("<!channel>") == "channel"


def test_everyone_becomes_the_word_everyone() -> None:
    assert plain("<!everyone|everyone>") == "everyone"


def test_labelled_broadcast_becomes_the_plain_word() -> None:
    assert plain("<!here|@here>") == "here"


def test_user_group_becomes_its_handle_without_an_at_sign() -> None:
    assert plain("<!subteam^S123|@support>") == "support"


def test_user_group_without_label_becomes_its_id() -> None:
    assert plain("<!subteam^S123>") == "S123"


def test_channel_label_never_carries_an_at_sign() -> None:
    assert plain("<#C123|@general>") == "#general"


def test_unknown_command_label_loses_its_at_signs() -> None:
    assert plain("<!foo^bar|@ops>") == "ops"


def test_date_becomes_its_fallback_text() -> None:
    assert plain("on <!date^1392734382^{date_pretty}|Feb 18, 2014>") == "on Feb 18, 2014"


def test_date_without_fallback_becomes_utc_time() -> None:
    assert plain("<!date^1392734382^{date}>") == "2014-02-18 14:39 UTC"


def test_labelled_link_becomes_label_and_url() -> None:
    assert plain("<https://x.y/docs|the docs>") == "the docs (https://x.y/docs)"


def test_link_labelled_with_its_own_url_becomes_the_url() -> None:
    assert plain("<https://x.y/a|https://x.y/a>") == "https://x.y/a"


def test_auto_linked_domain_becomes_the_url() -> None:
    assert plain("go to <http://example.com|example.com>") == "go to http://example.com"


def test_auto_linked_domain_with_trailing_slash_becomes_the_url() -> None:
    assert plain("<https://example.com/|example.com>") == "https://example.com/"


def test_bare_link_becomes_the_url() -> None:
    assert plain("<https://x.y>") == "https://x.y"


def test_mail_link_becomes_the_address() -> None:
    assert plain("write <mailto:a@b.c|a@b.c>") == "write a@b.c"


def test_labelled_mail_link_becomes_label_and_address() -> None:
    assert plain("<mailto:a@b.c|support>") == "support (a@b.c)"


def test_link_url_is_unescaped() -> None:
    assert plain("<https://x.y/?a=1&amp;b=2>") == "https://x.y/?a=1&b=2"


def test_link_label_is_unescaped() -> None:
    assert plain("<https://x.y|Q&amp;A>") == "Q&A (https://x.y)"


def test_escaped_angle_brackets_become_characters() -> None:
    assert plain("1 &lt; 2 &gt; 0") == "1 < 2 > 0"


def test_escaped_ampersand_becomes_a_character() -> None:
    assert plain("Tom &amp; Jerry") == "Tom & Jerry"


def test_unescaping_is_a_single_pass() -> None:
    assert plain("&amp;lt;") == "&lt;"


def test_other_entities_are_left_alone() -> None:
    assert plain("&quot;hi&quot; &#60;") == "&quot;hi&quot; &#60;"


def test_typed_injection_strings_come_back_as_typed() -> None:
    typed = "<!channel> <!here> <@U123> <https://evil.example|bank>"
    assert plain(escape_mrkdwn(typed)) == typed


def test_emphasis_markers_stay_as_typed() -> None:
    assert plain("*bold* _italic_ ~strike~ `code`") == "*bold* _italic_ ~strike~ `code`"


def test_surrounding_whitespace_is_stripped() -> None:
    assert plain("  \n hi \n ") == "hi"


def test_unknown_command_becomes_its_label() -> None:
    assert plain("<!foo^bar|shown>") == "shown"


@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    slack_to_plain(text, user_name=lambda _user_id: None)


@given(st.text(alphabet=st.characters(blacklist_characters="<>&")))
def test_text_without_markup_is_only_stripped(text: str) -> None:
    assert plain(text) == text.strip()


@given(st.text())
def test_escaping_then_converting_gives_back_the_text(text: str) -> None:
    assert plain(escape_mrkdwn(text)) == escape_plain_text(text).strip()
