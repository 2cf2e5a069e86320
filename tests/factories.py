"""Rows for in-process tests, with the fields every such test would otherwise spell out."""

from __future__ import annotations

from datetime import datetime

from bot.store import Conversation


def new_conversation(opened_at: datetime) -> Conversation:
    """An open conversation of account "acme" on Mastodon, channel C1, root "1"."""
    return Conversation(
        account="acme",
        network="mastodon",
        remote_root="1",
        slack_channel="C1",
        opened_at=opened_at,
        last_inbound_at=opened_at,
    )
