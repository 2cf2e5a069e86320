"""Slack's Block Kit limits, in one place, and the cut that makes every message fit them.

`fit_message` runs on the way out (bot/slack/api.py, and the /social answer in
bot/handlers/commands.py): whatever a renderer built, the message that leaves fits every
documented limit, so a 10 kB display name or a 100 kB post still becomes a card.
Renderers cut their own fields where a shorter cut reads better (a name in a list line);
they never need to get the hard limits right themselves.

Limits: https://api.slack.com/reference/block-kit/blocks,
https://api.slack.com/reference/block-kit/block-elements#button,
https://api.slack.com/reference/block-kit/composition-objects#text and
https://api.slack.com/methods/chat.postMessage#arg_text.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.textlength import GRAPHEME

__all__ = [
    "BUTTON_TEXT_LIMIT",
    "HEADER_TEXT_LIMIT",
    "MAX_BLOCKS",
    "MESSAGE_TEXT_LIMIT",
    "SECTION_TEXT_LIMIT",
    "cut",
    "fit_blocks",
    "fit_message",
]

MESSAGE_TEXT_LIMIT = 40_000  # `text` of chat.postMessage; Slack truncates beyond it
MAX_BLOCKS = 50  # blocks in one message
SECTION_TEXT_LIMIT = 3000  # section text, and any text object without a smaller limit
SECTION_FIELD_LIMIT = 2000  # each of a section's fields
MAX_SECTION_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
HEADER_TEXT_LIMIT = 150  # header text (plain_text)
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
URL_LIMIT = 3000  # a button's url, an image's image_url
ALT_TEXT_LIMIT = 2000  # an image's alt_text and title
ID_LIMIT = 255  # block_id, action_id

ELLIPSIS = "…"

# What a cut may leave dangling at the end of escaped mrkdwn: half an entity or an open token.
_PARTIAL_ENTITY = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?$")

Block = dict[str, Any]


def _units(text: str) -> int:
    """Length as JavaScript counts it (UTF-16 units). Slack documents its limits in
    "characters" without saying which; this count is never less than the code-point count,
    so a text that fits here fits whichever of the two Slack uses."""
    return len(text.encode("utf-16-le")) // 2


def _repair_mrkdwn_cut(text: str) -> str:
    """Drop a half entity (`&am`) or an unclosed `<...` token that a cut left at the end."""
    text = _PARTIAL_ENTITY.sub("", text)
    opened = text.rfind("<")
    if opened > text.rfind(">"):
        text = text[:opened]
    return text


def cut(text: str, limit: int, *, mrkdwn: bool = True) -> str:
    """Fit `text` into a field of `limit` characters, ending in "…" when something was cut.

    Cuts fall between grapheme clusters, so a flag or a family emoji is never split into
    mojibake. With `mrkdwn` (the default, for escaped text) a cut never leaves half an
    `&amp;` or an open `<url|label>` behind. The scan stops at the limit, so a 100 kB
    text costs no more than a 3 kB one.
    """
    if len(text) <= limit // 2 or _units(text) <= limit:
        return text
    budget = limit - _units(ELLIPSIS)
    if budget < 0:
        return ""
    used = 0
    end = 0
    for cluster in GRAPHEME.finditer(text):
        size = _units(cluster.group())
        if used + size > budget:
            break
        used += size
        end = cluster.end()
    head = text[:end]
    if mrkdwn:
        head = _repair_mrkdwn_cut(head)
    return head.rstrip() + ELLIPSIS


def fit_message(
    text: str, blocks: Sequence[Mapping[str, Any]] | None
) -> tuple[str, list[Block] | None]:
    """`text` and `blocks` cut to every limit Slack documents; the inputs are not changed.

    `text` is mrkdwn (escaped by the renderer), so its cut never splits an entity.
    """
    return cut(text, MESSAGE_TEXT_LIMIT), None if blocks is None else fit_blocks(blocks)


def fit_blocks(blocks: Sequence[Mapping[str, Any]]) -> list[Block]:
    fitted: list[Block] = []
    for block in blocks[:MAX_BLOCKS]:
        fitted_block = _fit_block(copy.deepcopy(dict(block)))
        if fitted_block is not None:
            fitted.append(fitted_block)
    return fitted


def _fit_block(block: Block) -> Block | None:
    """One block within its limits, or None when nothing of it can be shown (an image
    whose URL is too long: a cut URL points somewhere else)."""
    _fit_id(block, "block_id")
    kind = block.get("type")
    if kind == "section":
        _fit_text(block, "text", SECTION_TEXT_LIMIT)
        fields = block.get("fields")
        if isinstance(fields, list):
            block["fields"] = [
                _fitted_text(field, SECTION_FIELD_LIMIT) for field in fields[:MAX_SECTION_FIELDS]
            ]
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            fitted = _fit_element(accessory)
            if fitted is None:
                del block["accessory"]
            else:
                block["accessory"] = fitted
    elif kind == "context":
        block["elements"] = _fit_elements(block.get("elements"), MAX_CONTEXT_ELEMENTS)
        if not block["elements"]:
            return None
    elif kind == "actions":
        block["elements"] = _fit_elements(block.get("elements"), MAX_ACTIONS_ELEMENTS)
        if not block["elements"]:
            return None
    elif kind == "header":
        _fit_text(block, "text", HEADER_TEXT_LIMIT)
    elif kind == "image":
        if not _fit_image(block):
            return None
        _fit_text(block, "title", ALT_TEXT_LIMIT)
    return block


def _fit_elements(elements: Any, most: int) -> list[Block]:
    if not isinstance(elements, list):
        return []
    fitted: list[Block] = []
    for element in elements:
        if len(fitted) == most:
            break
        if isinstance(element, dict):
            one = _fit_element(copy.deepcopy(element))
            if one is not None:
                fitted.append(one)
    return fitted


def _fit_element(element: Block) -> Block | None:
    """An element of a context or actions block (or a section's accessory)."""
    kind = element.get("type")
    if kind in ("mrkdwn", "plain_text"):
        text: Block = _fitted_text(element, SECTION_TEXT_LIMIT)
        return text
    _fit_id(element, "action_id")
    if kind == "button":
        _fit_text(element, "text", BUTTON_TEXT_LIMIT)
        url = element.get("url")
        if isinstance(url, str) and _units(url) > URL_LIMIT:
            return None  # a link button to a cut URL would open the wrong page
        value = element.get("value")
        if isinstance(value, str):
            element["value"] = cut(value, BUTTON_VALUE_LIMIT, mrkdwn=False)
    elif kind == "image" and not _fit_image(element):
        return None
    return element


def _fit_image(image: Block) -> bool:
    url = image.get("image_url")
    if isinstance(url, str) and _units(url) > URL_LIMIT:
        return False
    alt = image.get("alt_text")
    if isinstance(alt, str):
        image["alt_text"] = cut(alt, ALT_TEXT_LIMIT, mrkdwn=False)
    return True


def _fit_text(holder: Block, key: str, limit: int) -> None:
    value = holder.get(key)
    if isinstance(value, dict):
        holder[key] = _fitted_text(value, limit)


def _fitted_text(obj: Any, limit: int) -> Any:
    """A text object (`{"type": "mrkdwn"|"plain_text", "text": ...}`) within `limit`."""
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return obj
    fitted = dict(obj)
    fitted["text"] = cut(obj["text"], limit, mrkdwn=obj.get("type") == "mrkdwn") or " "
    return fitted


def _fit_id(holder: Block, key: str) -> None:
    value = holder.get(key)
    if isinstance(value, str) and len(value) > ID_LIMIT:
        holder[key] = value[:ID_LIMIT]
