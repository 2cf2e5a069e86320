"""`[store] retention_days`: the running bot erases old closed conversations at start."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.store import Conversation, Message, Store, utcnow
from tests.e2e.harness import eventually, scene


def _closed_conversation(store: Store, key: str, *, days_ago: int) -> None:
    closed = utcnow() - timedelta(days=days_ago)
    with store.session() as session:
        conversation = Conversation(
            account="acme-mastodon",
            network="mastodon",
            remote_root=key,
            slack_channel="C0",
            slack_ts=f"{days_ago}.000100",
            status="closed",
            author_handle=f"{key}@remote.example",
            author_name=f"Name {key}",
            opened_at=closed - timedelta(hours=1),
            closed_at=closed,
            close_seconds=3600,
        )
        session.add(conversation)
        session.flush()
        session.add(
            Message(
                conversation_id=conversation.id or 0,
                account="acme-mastodon",
                direction="in",
                remote_id=key,
                remote_url=f"https://remote.example/{key}",
                slack_channel="C0",
                slack_ts=f"{days_ago}.000100",
                author_handle=f"{key}@remote.example",
                text=f"the text of {key}",
                state="posted",
            )
        )


def _texts(store: Store) -> dict[str, tuple[str, str]]:
    with store.read() as session:
        rows = session.exec(select(Conversation, Message).join(Message)).all()
    return {c.remote_root: (m.text, c.author_handle) for c, m in rows}


def test_the_bot_erases_conversations_closed_longer_ago_than_retention_days_at_start(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = Store(database_url)
    store.upgrade()
    _closed_conversation(store, "old", days_ago=40)
    _closed_conversation(store, "recent", days_ago=10)
    with scene(
        tmp_path, database_url=database_url, extra_accounts="\n[store]\nretention_days = 30\n"
    ):
        eventually(lambda: _texts(store)["old"] == ("", ""), what="the old conversation erased")
        assert _texts(store) == {
            "old": ("", ""),
            "recent": ("the text of recent", "recent@remote.example"),
        }
    store.dispose()
