"""The slash command (`/social` by default): acknowledge at once, then answer.

Slack shows an error when a command is not acknowledged within 3 seconds
(https://api.slack.com/interactivity/slash-commands#responding_basic_receipt), and stats over
a large database may take longer, so the ack carries nothing and the answer follows through
the command's response_url (`respond`), which stays valid for 30 minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.catalog import say
from bot.commands import CommandAnswer
from bot.slack.blocks import fit_message

logger = logging.getLogger(__name__)

Answer = Callable[[str, str, str], CommandAnswer]  # (text, user id, channel id)


def register(app: App, *, command_name: str, answer: Answer) -> None:
    # The app runs listeners before it answers Slack (so a stored reply is never lost to a
    # crash after the ack); the command is the exception: it acks at once and computes its
    # answer in a lazy listener (https://slack.dev/bolt-python/concepts/lazy-listeners).
    def acknowledge(ack: Ack) -> None:
        ack()

    def answer_later(command: dict[str, Any], respond: Respond) -> None:
        handle_command(
            command, ack=lambda: None, respond=respond, answer=answer, command_name=command_name
        )

    app.command(command_name)(ack=acknowledge, lazy=[answer_later])


def handle_command(
    command: Mapping[str, Any],
    *,
    ack: Callable[[], object],
    respond: Callable[..., object],
    answer: Answer,
    command_name: str,
) -> None:
    ack()
    text = str(command.get("text") or "")
    try:
        reply = answer(
            text, str(command.get("user_id") or ""), str(command.get("channel_id") or "")
        )
    except Exception as exc:
        # The person must hear that it failed (never a silent failure); the log keeps why.
        logger.exception("%s %r failed", command_name, text)
        respond(
            text=say("command.failed", command=command_name, reason=type(exc).__name__),
            response_type="ephemeral",
        )
        return
    # The answer goes through the response_url, not bot/slack/api.py: fit it here, the one
    # other way out of the bot.
    text, blocks = fit_message(reply.text, reply.blocks)
    respond(
        text=text,
        blocks=blocks,
        response_type="in_channel" if reply.public else "ephemeral",
    )
