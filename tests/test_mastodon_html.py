"""Mastodon status HTML reaches Slack as the words and full links a reader sees."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from bot.sources.mastodon.html import mastodon_html_to_text

# Shapes as Mastodon's TextFormatter and the API documentation's Status example emit them.
MENTION = (
    '<span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" '
    'class="u-url mention">@<span>Gargron</span></a></span>'
)
REMOTE_MENTION = (
    '<span class="h-card" translate="no"><a href="https://hachyderm.io/@nova" '
    'class="u-url mention">@<span>nova</span></a></span>'
)
HASHTAG = (
    '<a href="https://mastodon.social/tags/mastodev" class="mention hashtag" '
    'rel="tag">#<span>mastodev</span></a>'
)
LONG_LINK = (
    '<a href="https://www.theguardian.com/money/2019/dec/07/i-lost-my-193000-inheritance-'
    'with-one-wrong-digit-on-my-sort-code" rel="nofollow noopener noreferrer" '
    'target="_blank" translate="no"><span class="invisible">https://www.</span>'
    '<span class="ellipsis">theguardian.com/money/2019/dec</span><span class="invisible">'
    "/07/i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code</span></a>"
)
LONG_URL = (
    "https://www.theguardian.com/money/2019/dec/07/"
    "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
)


def test_paragraphs_are_separated_by_a_blank_line() -> None:
    assert mastodon_html_to_text("<p>one</p><p>two</p>") == "one\n\ntwo"


def test_line_breaks_become_newlines() -> None:
    assert mastodon_html_to_text("<p>one<br />two<br>three</p>") == "one\ntwo\nthree"


def test_mention_keeps_the_visible_handle() -> None:
    assert mastodon_html_to_text(f"<p>{MENTION} hello</p>") == "@Gargron hello"


def test_remote_mention_keeps_the_visible_handle_not_the_profile_url() -> None:
    assert mastodon_html_to_text(f"<p>{REMOTE_MENTION} hi</p>") == "@nova hi"


def test_hashtag_keeps_the_visible_tag() -> None:
    assert mastodon_html_to_text(f"<p>new release {HASHTAG}</p>") == "new release #mastodev"


def test_hashtag_marked_only_by_rel_tag_keeps_the_visible_tag() -> None:
    tag = '<a href="https://misskey.io/tags/art" rel="tag">#art</a>'
    assert mastodon_html_to_text(f"<p>{tag}</p>") == "#art"


def test_shortened_link_becomes_its_full_href() -> None:
    status = f"<p>&quot;I lost my inheritance&quot;</p><p>{LONG_LINK}</p>"
    assert mastodon_html_to_text(status) == f'"I lost my inheritance"\n\n{LONG_URL}'


def test_short_link_becomes_its_href() -> None:
    link = (
        '<a href="https://example.com/" target="_blank" rel="nofollow noopener noreferrer">'
        '<span class="invisible">https://</span><span class="">example.com/</span>'
        '<span class="invisible"></span></a>'
    )
    assert mastodon_html_to_text(f"<p>see {link}</p>") == "see https://example.com/"


def test_link_with_its_own_words_keeps_them_before_the_url() -> None:
    link = '<a href="https://docs.example/guide">the guide</a>'
    assert mastodon_html_to_text(f"<p>read {link}</p>") == (
        "read the guide (https://docs.example/guide)"
    )


def test_link_to_a_non_web_scheme_shows_only_its_words() -> None:
    link = '<a href="javascript:alert(1)">click</a>'
    assert mastodon_html_to_text(f"<p>{link}</p>") == "click"


def test_entities_are_decoded() -> None:
    assert mastodon_html_to_text("<p>Tom &amp; Jerry &lt;3 &#39;x&#39; &#x1F600;</p>") == (
        "Tom & Jerry <3 'x' 😀"
    )


def test_decoded_markup_characters_are_text_not_tags() -> None:
    assert mastodon_html_to_text("<p>&lt;!channel&gt; &lt;@U123&gt;</p>") == ("<!channel> <@U123>")


def test_emoji_and_custom_emoji_shortcodes_survive() -> None:
    assert mastodon_html_to_text("<p>🎉👨‍👩‍👧 :blobcat:</p>") == "🎉👨‍👩‍👧 :blobcat:"


def test_custom_emoji_image_becomes_its_alt_text() -> None:
    image = '<img src="https://x.example/e.png" alt=":blobcat:" class="emoji">'
    assert mastodon_html_to_text(f"<p>hi {image}</p>") == "hi :blobcat:"


def test_script_content_is_dropped() -> None:
    assert mastodon_html_to_text("<p>a<script>alert('x')</script>b</p>") == "ab"


def test_style_content_is_dropped() -> None:
    assert mastodon_html_to_text("<style>p { color: red }</style><p>shown</p>") == "shown"


def test_comments_are_dropped() -> None:
    assert mastodon_html_to_text("<p>a<!-- hidden -->b</p>") == "ab"


def test_unknown_nested_markup_is_reduced_to_its_text() -> None:
    status = "<p><strong>bold <em>and <marquee>odd</marquee></em></strong> end</p>"
    assert mastodon_html_to_text(status) == "bold and odd end"


def test_source_whitespace_collapses_like_a_browser() -> None:
    assert mastodon_html_to_text("<p>a\n   b\t c</p>\n<p>\n d </p>") == "a b c\n\nd"


def test_unordered_list_items_become_dash_lines() -> None:
    assert mastodon_html_to_text("<ul><li>one</li><li>two</li></ul>") == "- one\n- two"


def test_ordered_list_items_become_numbered_lines() -> None:
    assert mastodon_html_to_text("<ol><li>one</li><li>two</li></ol>") == "1. one\n2. two"


def test_ordered_list_honours_its_start() -> None:
    assert mastodon_html_to_text('<ol start="3"><li>c</li><li>d</li></ol>') == "3. c\n4. d"


def test_nested_list_is_indented_under_its_item() -> None:
    status = "<ul><li>one<ul><li>a</li><li>b</li></ul></li><li>two</li></ul>"
    assert mastodon_html_to_text(status) == "- one\n  - a\n  - b\n- two"


def test_list_stands_apart_from_paragraphs() -> None:
    status = "<p>before</p><ul><li>x</li></ul><p>after</p>"
    assert mastodon_html_to_text(status) == "before\n\n- x\n\nafter"


def test_blockquote_lines_are_prefixed() -> None:
    status = "<blockquote><p>quoted</p><p>more<br>lines</p></blockquote><p>reply</p>"
    assert mastodon_html_to_text(status) == "> quoted\n>\n> more\n> lines\n\nreply"


def test_preformatted_code_is_kept_verbatim() -> None:
    status = "<p>code:</p><pre><code>def f():\n    return  1 &lt; 2</code></pre>"
    assert mastodon_html_to_text(status) == "code:\n\ndef f():\n    return  1 < 2"


def test_inline_code_keeps_its_spacing() -> None:
    assert mastodon_html_to_text("<p>run <code>a  b</code> now</p>") == "run a  b now"


def test_three_or_more_newlines_collapse_to_two() -> None:
    assert mastodon_html_to_text("<p>a<br><br><br><br>b</p>") == "a\n\nb"


def test_empty_paragraphs_do_not_add_blank_lines() -> None:
    assert mastodon_html_to_text("<p>a</p><p></p><p> </p><p>b</p>") == "a\n\nb"


def test_result_is_stripped() -> None:
    assert mastodon_html_to_text("<p> <br> hi <br> </p>") == "hi"


def test_plain_text_passes_through() -> None:
    assert mastodon_html_to_text("just words") == "just words"


def test_content_that_is_only_a_url_comes_back_as_the_url() -> None:
    assert mastodon_html_to_text("https://example.com/a?b=1&amp;c=2") == (
        "https://example.com/a?b=1&c=2"
    )


def test_xml_declaration_before_markup_is_ignored() -> None:
    assert mastodon_html_to_text('<?xml version="1.0"?><p>x</p>') == "x"


def test_empty_content_gives_empty_text() -> None:
    assert mastodon_html_to_text("") == ""


def test_very_deep_nesting_is_flattened_not_fatal() -> None:
    deep = "<span>" * 5000 + "deep" + "</span>" * 5000
    assert mastodon_html_to_text(f"<p>{deep}</p>") == "deep"


def test_a_real_reply_status_reads_naturally() -> None:
    status = (
        f"<p>{MENTION} {REMOTE_MENTION} Thanks for the fix &amp; the docs!<br />"
        f"Details: {LONG_LINK}</p><p>{HASHTAG} 🚀</p>"
    )
    assert mastodon_html_to_text(status) == (
        f"@Gargron @nova Thanks for the fix & the docs!\nDetails: {LONG_URL}\n\n#mastodev 🚀"
    )


@given(st.text())
def test_arbitrary_input_never_raises(text: str) -> None:
    mastodon_html_to_text(text)


@given(st.text(alphabet=st.characters(categories=("L", "N", "P", "S")) | st.just(" ")))
def test_escaped_text_in_a_paragraph_comes_back_unchanged(text: str) -> None:
    expected = re.sub(" +", " ", text).strip()
    assert mastodon_html_to_text(f"<p>{html.escape(text)}</p>") == expected


SECRET = "SECRETPAYLOAD"
_words = st.text(alphabet="abc xyz&<>\"'", max_size=12).map(html.escape)
_hidden = st.sampled_from(
    [
        f"<script>var s = '{SECRET}'; document.write('<p>x</p>');</script>",
        f"<script type='text/javascript'>{SECRET}</script>",
        f"<style>p::after {{ content: '{SECRET}' }}</style>",
        f"<template><p>{SECRET}</p></template>",
        f"<!-- {SECRET} -->",
    ]
)
_open_close = st.sampled_from(
    [
        ("<p>", "</p>"),
        ("<span class='h-card'>", "</span>"),
        ("<a href='https://example.com/x'>", "</a>"),
        ("<a class='u-url mention' href='https://m.example/@a'>", "</a>"),
        ("<ul><li>", "</li></ul>"),
        ("<ol><li>", "</li></ol>"),
        ("<blockquote>", "</blockquote>"),
        ("<pre><code>", "</code></pre>"),
        ("<b>", "</b>"),
        ("<div>", "</div>"),
        ("<marquee>", "</marquee>"),
    ]
)
_markup = st.recursive(
    _words | _hidden | st.just("<br />"),
    lambda inner: st.one_of(
        st.tuples(_open_close, st.lists(inner, max_size=4)).map(
            lambda pair: pair[0][0] + "".join(pair[1]) + pair[0][1]
        ),
        st.lists(inner, max_size=4).map("".join),
    ),
    max_leaves=20,
)


@given(_markup)
def test_script_style_template_and_comment_content_never_reaches_the_text(status: str) -> None:
    assert SECRET not in mastodon_html_to_text(status)


@given(_markup)
def test_output_never_has_three_newlines_in_a_row_or_outer_whitespace(status: str) -> None:
    text = mastodon_html_to_text(status)
    assert "\n\n\n" not in text
    assert text == text.strip()
