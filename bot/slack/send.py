"""Posting with a way out: when Slack refuses a message's blocks, send it as text alone.

The bot fits every block to the documented limits (bot/slack/blocks.py), but Slack has
limits it does not document (a total size of all blocks, `msg_blocks_too_long`) and may
tighten the documented ones. A mention must never end as a line in a log (invariant 1), so
a refusal of the blocks is answered by the same message without them: same channel, same
thread, same metadata key (a retry after an unknown outcome still finds it), with a plain
text that carries the post's link. The caller records it like any card, so the thread,
reactions and replies work on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain import DeliveryError
from bot.ports import SlackPort

logger = logging.getLogger(__name__)

# https://api.slack.com/methods/chat.postMessage#errors and chat.update#errors: what Slack
# answers when the blocks (or the message as a whole) break one of its rules. Only these
# are worth a second, simpler try; anything else would fail the text alone just the same.
BLOCKS_REFUSED = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "msg_too_long",
        "msg_blocks_too_long",
    }
)


def blocks_refused(exc: DeliveryError) -> bool:
    return exc.reason in BLOCKS_REFUSED


def post_or_plain(
    slack: SlackPort,
    *,
    channel: str,
    text: str,
    blocks: Sequence[Mapping[str, Any]],
    plain: str,
    thread_ts: str | None = None,
    metadata_key: str | None = None,
) -> str:
    """Post `text` with `blocks`; if Slack refuses the blocks, post `plain` without any.
    Returns the ts of whichever landed."""
    try:
        return slack.post(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            metadata_key=metadata_key,
        )
    except DeliveryError as exc:
        if not blocks_refused(exc):
            raise
        logger.warning(
            "Slack refused the blocks of a message to %s (%s); posting it as text",
            channel,
            exc.reason,
        )
    return slack.post(
        channel=channel, text=plain, blocks=None, thread_ts=thread_ts, metadata_key=metadata_key
    )


def update_or_plain(
    slack: SlackPort,
    *,
    channel: str,
    ts: str,
    text: str,
    blocks: Sequence[Mapping[str, Any]],
    plain: str,
) -> None:
    """chat.update with `blocks`; if Slack refuses them, the message becomes `plain` with no
    blocks (an empty list removes the old ones: https://api.slack.com/methods/chat.update)."""
    try:
        slack.update(channel=channel, ts=ts, text=text, blocks=blocks)
        return
    except DeliveryError as exc:
        if not blocks_refused(exc):
            raise
        logger.warning(
            "Slack refused the blocks of an update of %s/%s (%s); updating it as text",
            channel,
            ts,
            exc.reason,
        )
    slack.update(channel=channel, ts=ts, text=plain, blocks=[])
