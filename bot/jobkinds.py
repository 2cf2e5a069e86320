"""Names of the outbox jobs and of the ordering keys that keep them in order."""

from __future__ import annotations

POST_INBOUND = "post_inbound"  # a network post -> the Slack card or a thread reply
SEND_REPLY = "send_reply"  # a Slack reply -> the network
UPDATE_CARD = "update_card"  # chat.update of the card's status line
NOTICE = "notice"  # a sentence from the catalog into the thread
REACT = "react"  # mark a Slack reply as sent
HELD_EVENT = "held_event"  # a Slack event about a card not recorded yet, replayed when it is
REWRITE_ERASED = "rewrite_erased"  # chat.update of a card or follow-up whose post was erased


def slack_key(conversation_id: int | None) -> str:
    """Everything a conversation posts to Slack runs in order: the card before its thread."""
    return f"slack:{conversation_id}"


def net_key(conversation_id: int | None) -> str:
    """Replies of one conversation go to the network one after another, in order."""
    return f"net:{conversation_id}"


def card_key(conversation_id: int | None) -> str:
    """Card updates have their own key: a delayed (coalescing) update must not hold up the
    conversation's thread posts."""
    return f"card:{conversation_id}"


def held_key(channel: str, ts: str) -> str:
    """Held events about one card replay one after another, in the order they came."""
    return f"held:{channel}:{ts}"


def inbound_metadata_key(account: str, remote_id: str) -> str:
    """The message metadata that lets the bot find its own post of an inbound message."""
    return f"in:{account}:{remote_id}"


def parse_inbound_metadata_key(key: str) -> tuple[str, str] | None:
    """(account, remote id) of a key made by inbound_metadata_key, or None."""
    kind, _, rest = key.partition(":")
    account, _, remote_id = rest.partition(":")
    return (account, remote_id) if kind == "in" and account and remote_id else None


SLA_TIMER = "sla_timer"  # the response clock's reminder or breach notice (bot/sla/timers.py)


def sla_key(conversation_id: int | None, phase: str, due_epoch: int) -> str:
    """One timer per conversation, phase (remind | breach) and due time: a second request
    for the same timer finds the first by this key, and a moved due time is a new timer."""
    return f"sla:{conversation_id}:{phase}:{due_epoch}"
