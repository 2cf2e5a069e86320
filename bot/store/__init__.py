"""Persistence: tables, the outbox queries, migrations."""

from bot.store.db import Store
from bot.store.models import AccountState, Conversation, Job, Message, ResponseClock, utcnow

__all__ = [
    "AccountState",
    "Conversation",
    "Job",
    "Message",
    "ResponseClock",
    "Store",
    "utcnow",
]
