"""The blocks `/social` answers with: headers, sections packed under Slack's limits, dates
each reader sees in their own time zone."""

from __future__ import annotations

from typing import Any

from bot.catalog import say
from bot.commands.requests import LIST_LIMIT
from bot.slack.blocks import HEADER_TEXT_LIMIT, SECTION_TEXT_LIMIT, cut
from bot.slack.render import Blocks


def capped(lines: list[str]) -> list[str]:
    if len(lines) <= LIST_LIMIT:
        return lines
    return [*lines[:LIST_LIMIT], say("list.more", n=len(lines) - LIST_LIMIT)]


def header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": cut(text, HEADER_TEXT_LIMIT, mrkdwn=False),
        },
    }


def section(text: str) -> dict[str, Any]:
    return {
        "type": "section",
        # verbatim: names and errors from the networks stay as written, no auto-links
        # (https://api.slack.com/reference/block-kit/composition-objects#text)
        "text": {"type": "mrkdwn", "text": cut(text, SECTION_TEXT_LIMIT), "verbatim": True},
    }


def sections(lines: list[str]) -> Blocks:
    """Lines packed into as few section blocks as Slack's 3,000-character limit allows."""
    blocks: Blocks = []
    chunk = ""
    for line in lines:
        candidate = f"{chunk}\n{line}" if chunk else line
        if chunk and len(candidate) > SECTION_TEXT_LIMIT:
            blocks.append(section(chunk))
            chunk = line
        else:
            chunk = candidate
    if chunk:
        blocks.append(section(chunk))
    return blocks
