"""Who has a conversation and whether it is done: the status changes, as pure functions.

Reactions and buttons end up here through Bridge.change_status; each function returns
False when nothing changes, so a repeated reaction or a redelivered event is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.store import Conversation


class Change(StrEnum):
    CLAIM = "claim"
    UNCLAIM = "unclaim"
    CLOSE = "close"
    REOPEN = "reopen"


def apply(
    change: Change,
    conversation: Conversation,
    *,
    user: str,
    now: datetime,
    only_own_claim: bool = False,
) -> bool:
    """Apply a change by `user`; `only_own_claim`: an unclaim counts only from the assignee
    (removing one's own claim reaction must not unassign someone else)."""
    if change is Change.CLAIM:
        return _claim(conversation, user, now)
    if change is Change.UNCLAIM:
        if only_own_claim and conversation.assignee != user:
            return False
        return _unclaim(conversation)
    if change is Change.CLOSE:
        return _close(conversation, user, now)
    return reopen(conversation, now=now)


def _claim(conversation: Conversation, user: str, now: datetime) -> bool:
    if conversation.assignee == user:
        return False
    conversation.assignee = user
    conversation.claimed_at = now
    if conversation.status == "open":
        conversation.status = "claimed"
    return True


def _unclaim(conversation: Conversation) -> bool:
    if conversation.assignee is None:
        return False
    conversation.assignee = None
    conversation.claimed_at = None
    if conversation.status == "claimed":
        conversation.status = "open"
    return True


def _close(conversation: Conversation, user: str, now: datetime) -> bool:
    if conversation.status == "closed":
        return False
    conversation.status = "closed"
    conversation.closed_by = user
    conversation.closed_at = now
    conversation.close_seconds = max(0, int((now - conversation.opened_at).total_seconds()))
    return True


def reopen(conversation: Conversation, *, now: datetime, by_message: bool = False) -> bool:
    """Back to open (or claimed, the assignee is kept), and the response clock runs again
    from `now`; `by_message`: the customer wrote again, which the card says."""
    if conversation.status != "closed":
        return False
    conversation.status = "claimed" if conversation.assignee else "open"
    conversation.closed_at = None
    conversation.closed_by = None
    conversation.close_seconds = None
    conversation.reopened = by_message
    conversation.reopened_at = now
    return True
