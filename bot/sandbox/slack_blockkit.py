"""The fake Slack's own check of Block Kit, so a test cannot pass on blocks Slack refuses.

Written from Slack's reference, independently of the bot's bot/slack/blocks.py (the numbers
are typed again on purpose: a shared constant would let one bug hide in both):
https://api.slack.com/reference/block-kit/blocks,
https://api.slack.com/reference/block-kit/block-elements and
https://api.slack.com/reference/block-kit/composition-objects#text.

`block_errors` answers what Slack puts in `errors` of an `invalid_blocks` answer: one line
per broken rule, ending in a JSON pointer to the field, e.g.
`must be less than 3001 characters [json-pointer:/blocks/0/text/text]`, after a
`failed to match all allowed schemas [json-pointer:/blocks/0/text]` for the text object that
holds it. Lengths are counted in characters (code points), as Slack counts them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["block_errors"]

_TEXT_TYPES = ("plain_text", "mrkdwn")


def block_errors(blocks: list[Any]) -> list[str]:
    """Every rule `blocks` (a message's `blocks` array) breaks; empty when Slack takes it."""
    errors: list[str] = []
    if len(blocks) > 50:
        errors.append("no more than 50 items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        _block(block, f"/blocks/{index}", errors)
    return errors


def _block(block: Any, at: str, errors: list[str]) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        errors.append(f"missing required field: type [json-pointer:{at}]")
        return
    _length(block.get("block_id"), 255, f"{at}/block_id", errors)
    kind = block["type"]
    if kind == "section":
        _section(block, at, errors)
    elif kind == "context":
        elements = _list(block, "elements", at, errors, most=10)
        for i, element in enumerate(elements):
            _context_element(element, f"{at}/elements/{i}", errors)
    elif kind == "actions":
        elements = _list(block, "elements", at, errors, most=25)
        for i, element in enumerate(elements):
            _element(element, f"{at}/elements/{i}", errors)
    elif kind == "header":
        _text(block.get("text"), f"{at}/text", errors, most=150, plain_only=True)
    elif kind == "image":
        _image(block, at, errors)
        if "title" in block:
            _text(block["title"], f"{at}/title", errors, most=2000, plain_only=True)
    elif kind not in ("divider", "rich_text"):
        errors.append(f"unsupported type: {kind} [json-pointer:{at}/type]")


def _section(block: dict[str, Any], at: str, errors: list[str]) -> None:
    if "text" not in block and "fields" not in block:
        errors.append(f"must provide either text or fields [json-pointer:{at}]")
    if "text" in block:
        _text(block["text"], f"{at}/text", errors, most=3000)
    if "fields" in block:
        fields = _list(block, "fields", at, errors, most=10)
        for i, field in enumerate(fields):
            _text(field, f"{at}/fields/{i}", errors, most=2000)
    if "accessory" in block:
        _element(block["accessory"], f"{at}/accessory", errors)


def _context_element(element: Any, at: str, errors: list[str]) -> None:
    if isinstance(element, dict) and element.get("type") == "image":
        _image(element, at, errors)
    else:
        _text(element, at, errors, most=3000)


def _element(element: Any, at: str, errors: list[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        errors.append(f"missing required field: type [json-pointer:{at}]")
        return
    _length(element.get("action_id"), 255, f"{at}/action_id", errors)
    if element["type"] == "button":
        _text(element.get("text"), f"{at}/text", errors, most=75, plain_only=True)
        _length(element.get("url"), 3000, f"{at}/url", errors)
        _length(element.get("value"), 2000, f"{at}/value", errors)
    elif element["type"] == "image":
        _image(element, at, errors)


def _image(image: dict[str, Any], at: str, errors: list[str]) -> None:
    url = image.get("image_url")
    if not isinstance(url, str) or not url:
        errors.append(f"missing required field: image_url [json-pointer:{at}]")
    _length(url, 3000, f"{at}/image_url", errors)
    alt = image.get("alt_text")
    if not isinstance(alt, str) or not alt:
        errors.append(f"missing required field: alt_text [json-pointer:{at}]")
    _length(alt, 2000, f"{at}/alt_text", errors)


def _text(obj: Any, at: str, errors: list[str], *, most: int, plain_only: bool = False) -> None:
    """A text object: its type, its text's length (1 to `most`), a boolean verbatim/emoji."""
    own: list[str] = []
    allowed = ("plain_text",) if plain_only else _TEXT_TYPES
    if not isinstance(obj, dict):
        own.append(f"must be an object [json-pointer:{at}]")
    else:
        if obj.get("type") not in allowed:
            own.append(f"must be one of {', '.join(allowed)} [json-pointer:{at}/type]")
        text = obj.get("text")
        if not isinstance(text, str):
            own.append(f"missing required field: text [json-pointer:{at}]")
        elif not text:
            own.append(f"must be more than 0 characters [json-pointer:{at}/text]")
        elif len(text) > most:
            own.append(f"must be less than {most + 1} characters [json-pointer:{at}/text]")
        for flag in ("verbatim", "emoji"):
            if flag in obj and not isinstance(obj[flag], bool):
                own.append(f"must be a boolean [json-pointer:{at}/{flag}]")
        if "verbatim" in obj and obj.get("type") != "mrkdwn":
            own.append(f"verbatim is only allowed on mrkdwn [json-pointer:{at}/verbatim]")
    if own:
        errors.append(f"failed to match all allowed schemas [json-pointer:{at}]")
        errors.extend(own)


def _list(holder: dict[str, Any], key: str, at: str, errors: list[str], *, most: int) -> list[Any]:
    value = holder.get(key)
    if not isinstance(value, list) or not value:
        errors.append(f"must provide at least 1 item [json-pointer:{at}/{key}]")
        return []
    if len(value) > most:
        errors.append(f"no more than {most} items allowed [json-pointer:{at}/{key}]")
    return value


def _length(value: Any, most: int, at: str, errors: list[str]) -> None:
    if isinstance(value, str) and len(value) > most:
        errors.append(f"must be less than {most + 1} characters [json-pointer:{at}]")
