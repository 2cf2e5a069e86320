"""Mastodon status HTML as the plain text a person reads on screen.

Mastodon delivers a status's `content` as HTML: paragraphs, line breaks, mention and hashtag
links, and web links whose visible text is shortened with hidden spans. Remote servers
(Pleroma, Misskey, GoToSocial ...) add lists, quotes and code. The Slack card needs the words
and the full links, never markup, and never the contents of a script.
"""

from __future__ import annotations

import html as html_entities
import re

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, Tag

__all__ = ["mastodon_html_to_text"]

_SKIPPED = frozenset({"script", "style", "template", "head", "title"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "dd", "details", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "nav",
        "p", "section", "summary", "table",
    }
)  # fmt: skip
_LINES = frozenset({"caption", "li", "tr"})
# Deeper markup than this is flattened to its text: a hostile post must not exhaust the stack.
_MAX_DEPTH = 64
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_LINE_GAPS = re.compile(r"\n{2,}")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# What html.parser takes for a processing instruction: `<?` up to the first `>`.
_PROCESSING_INSTRUCTION = re.compile(r"<\?[^>]*>")


def _is_text(node: PageElement) -> bool:
    """Whether `node` is document text, not a comment, doctype or script/style/template body."""
    return type(node) is NavigableString


def _flat_text(node: Tag) -> str:
    """The text of a subtree without recursion; `<br>` still breaks the line."""
    pieces: list[str] = []
    for element in node.descendants:
        if _is_text(element):
            pieces.append(str(element))
        elif isinstance(element, Tag) and element.name == "br":
            pieces.append("\n")
    return "".join(pieces)


def _attribute_words(tag: Tag, name: str) -> list[str]:
    """A space-separated attribute such as `class` or `rel`, as lower-case words."""
    value = tag.get(name)
    if value is None:
        return []
    words = value.split() if isinstance(value, str) else list(value)
    return [word.lower() for word in words]


def _href(tag: Tag) -> str | None:
    """The link's target when it is a web address worth showing in full."""
    value = tag.get("href")
    if not isinstance(value, str):
        return None
    href = value.strip()
    return href if href.lower().startswith(("http://", "https://")) else None


def _bare(url: str) -> str:
    """A url or its display text compared the way people read it: no scheme, no last slash."""
    return _SCHEME.sub("", url).rstrip("/")


def _label_is_url(label: str, href: str) -> bool:
    """Whether the visible text only repeats the url, shortened or not."""
    if not label or _bare(label) == _bare(href):
        return True
    return label.endswith("…") and _bare(href).startswith(_bare(label[:-1]))


class _Builder:
    """Collects text the way a browser lays it out: spaces collapse, blocks stand apart."""

    def __init__(self, depth: int) -> None:
        self.parts: list[str] = []
        self.depth = depth

    def _at_line_start(self) -> bool:
        for part in reversed(self.parts):
            if part:
                return part.endswith("\n")
        return True

    def _trim_trailing_spaces(self) -> None:
        while self.parts and not self.parts[-1].strip(" "):
            if "\n" in self.parts[-1]:
                return
            self.parts.pop()
        if self.parts:
            self.parts[-1] = self.parts[-1].rstrip(" ")

    def text(self, raw: str) -> None:
        """Flowing text: whitespace runs become one space, none at the start of a line."""
        collapsed = _HTML_SPACE.sub(" ", raw)
        if collapsed.startswith(" ") and (
            self._at_line_start() or "".join(self.parts[-1:]).endswith(" ")
        ):
            collapsed = collapsed[1:]
        if collapsed:
            self.parts.append(collapsed)

    def verbatim(self, raw: str) -> None:
        """Text whose spacing matters (code)."""
        self.parts.append(raw)

    def line_break(self) -> None:
        self._trim_trailing_spaces()
        self.parts.append("\n")

    def block_break(self) -> None:
        self._trim_trailing_spaces()
        if any(self.parts):
            self.parts.append("\n\n")

    def block(self, content: str) -> None:
        if content:
            self.block_break()
            self.parts.append(content)
            self.block_break()

    def result(self) -> str:
        return _BLANK_LINES.sub("\n\n", "".join(self.parts)).strip()

    def render_children(self, tag: Tag) -> None:
        for child in tag.children:
            self.render(child)

    def render(self, node: PageElement) -> None:
        """Lay out one node; markup we do not know is reduced to its text."""
        if _is_text(node):
            self.text(str(node))
            return
        if not isinstance(node, Tag):
            return
        name = (node.name or "").lower()
        if name in _SKIPPED:
            return
        if self.depth > _MAX_DEPTH:
            self.text(_flat_text(node))
        elif name == "br":
            self.line_break()
        elif name == "hr":
            self.block_break()
        elif name == "pre":
            self.block(_flat_text(node).strip("\n"))
        elif name == "code":
            self.verbatim(_flat_text(node))
        elif name == "img":
            alt = node.get("alt")
            self.text(alt if isinstance(alt, str) else "")
        elif name == "a":
            self.text(_anchor(node, self.depth + 1))
        elif name in ("ul", "ol"):
            self.block(_list(node, self.depth + 1, ordered=name == "ol"))
        elif name == "blockquote":
            self.block(_quote(node, self.depth + 1))
        elif name in _BLOCKS:
            self.block_break()
            self._nested(node)
            self.block_break()
        elif name in _LINES:
            self.line_break()
            self._nested(node)
            self.line_break()
        else:
            self._nested(node)

    def _nested(self, tag: Tag) -> None:
        self.depth += 1
        self.render_children(tag)
        self.depth -= 1


def _fragment(tag: Tag, depth: int) -> str:
    """The laid-out text of `tag`'s children, on their own."""
    builder = _Builder(depth)
    builder.render_children(tag)
    return builder.result()


def _anchor(tag: Tag, depth: int) -> str:
    """A link as its full url; mentions and hashtags as the `@user` / `#tag` people see.

    Mastodon shows long links shortened, with the rest in `<span class="invisible">`; the
    href is the whole link. A remote server's link with its own words keeps them:
    `words (url)`.
    """
    label = _HTML_SPACE.sub(" ", _fragment(tag, depth)).strip()
    href = _href(tag)
    classes = _attribute_words(tag, "class")
    is_tag_link = "mention" in classes or "hashtag" in classes
    if href is None or is_tag_link or "tag" in _attribute_words(tag, "rel"):
        return label or (href or "")
    if _label_is_url(label, href):
        return href
    return f"{label} ({href})"


def _list(tag: Tag, depth: int, *, ordered: bool) -> str:
    """`<ul>`/`<ol>` as `- ` or `1. ` lines; an item's further lines are indented under it."""
    start = tag.get("start")
    number = int(start) if isinstance(start, str) and start.strip().isdigit() else 1
    lines: list[str] = []
    for child in tag.children:
        if isinstance(child, Tag) and (child.name or "").lower() == "li":
            marker = f"{number}. " if ordered else "- "
            number += 1
            item = _LINE_GAPS.sub("\n", _fragment(child, depth))
            first, *rest = item.split("\n")
            lines.append((marker + first).rstrip())
            lines.extend(" " * len(marker) + line if line else "" for line in rest)
        elif isinstance(child, Tag) or (_is_text(child) and str(child).strip()):
            builder = _Builder(depth)
            builder.render(child)
            if text := builder.result():
                lines.append(text)
    return "\n".join(lines)


def _quote(tag: Tag, depth: int) -> str:
    """`<blockquote>` as lines starting with `> `, as e-mail and Markdown quote."""
    content = _fragment(tag, depth)
    return "\n".join(f"> {line}" if line else ">" for line in content.split("\n"))


def mastodon_html_to_text(html: str) -> str:
    """Plain text of a status's HTML `content`: words, full links, paragraphs and lines.

    Entities are decoded, so the result is raw text: escape it before it goes into mrkdwn.
    """
    builder = _Builder(0)
    # Processing instructions are never shown. Removing them before parsing, like skipping
    # the parser for text without a tag, also keeps Beautiful Soup's warnings ("looks like
    # XML", "looks like a URL") about a stranger's post out of our logs.
    markup = _PROCESSING_INSTRUCTION.sub("", html)
    if "<" in markup:
        builder.render_children(BeautifulSoup(markup, "html.parser"))
    else:
        builder.text(html_entities.unescape(markup))
    return builder.result()
