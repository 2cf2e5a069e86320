"""Storing a fetched page (bot/core/ingest.py), on SQLite and PostgreSQL: new threads are
written in bulk, posts that join a thread one by one, in the page's order, each with its
card job; nothing is stored twice."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from bot.core.ingest import PRIORITY_FOLLOW_UP, PRIORITY_NEW_CARD, store_posts
from bot.domain import Author, Post, Visibility
from bot.jobkinds import POST_INBOUND, slack_key
from bot.store import Conversation, Job, Message, Store

CUSTOMER = Author("1", "cust@remote.example", "Customer", "https://remote.example/@cust")
STRANGER = Author("2", "eve@remote.example", "Eve", "https://remote.example/@eve")


def _post(remote_id: str, *, author: Author = CUSTOMER, **fields: object) -> Post:
    return Post(
        remote_id=remote_id,
        url=f"https://remote.example/@cust/{remote_id}",
        author=author,
        text=f"post {remote_id}",
        created_at=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


def _store(store: Store, posts: list[Post]) -> int:
    with store.session() as session:
        return store_posts(session, account="acme", network="mastodon", channel="C1", posts=posts)


def _threads(store: Store) -> dict[str, list[str]]:
    """Each conversation's root and its posts' remote ids, in id order."""
    with store.read() as session:
        rows = session.exec(
            select(Conversation.remote_root, Message.remote_id)
            .join(Message, col(Message.conversation_id) == Conversation.id)
            .order_by(col(Message.id))
        ).all()
    threads: dict[str, list[str]] = {}
    for root, remote_id in rows:
        threads.setdefault(root, []).append(str(remote_id))
    return threads


def _card_jobs(store: Store) -> list[tuple[str, int, int]]:
    """(ordering key, message id, priority) of every card job, in id order."""
    with store.read() as session:
        jobs = session.exec(select(Job).where(col(Job.kind) == POST_INBOUND).order_by(col(Job.id)))
        return [(job.ordering_key, job.message_id or 0, job.priority) for job in jobs]


def test_a_page_of_new_mentions_gives_one_conversation_message_and_card_job_each(
    store: Store,
) -> None:
    assert _store(store, [_post(str(n)) for n in range(1, 6)]) == 5
    assert _threads(store) == {str(n): [str(n)] for n in range(1, 6)}
    with store.read() as session:
        messages = session.exec(select(Message).order_by(col(Message.id))).all()
    expected = [(slack_key(m.conversation_id), m.id, PRIORITY_NEW_CARD) for m in messages]
    assert _card_jobs(store) == expected
    assert [m.state for m in messages] == ["pending"] * 5
    assert [m.author_handle for m in messages] == [CUSTOMER.handle] * 5


def test_a_page_fetched_again_stores_nothing_twice(store: Store) -> None:
    page = [_post("1"), _post("2", in_reply_to="1"), _post("3")]
    assert _store(store, page) == 3
    assert _store(store, page) == 0
    assert _store(store, [*page, _post("3"), _post("4")]) == 1
    assert _threads(store) == {"1": ["1", "2"], "3": ["3"], "4": ["4"]}
    assert len(_card_jobs(store)) == 4


def test_an_answer_in_the_same_page_joins_the_thread_written_just_before_it(
    store: Store,
) -> None:
    page = [
        _post("1"),
        _post("2"),
        _post("3", in_reply_to="1"),
        _post("4"),
        _post("5", in_reply_to="3"),
    ]
    assert _store(store, page) == 5
    assert _threads(store) == {"1": ["1", "3", "5"], "2": ["2"], "4": ["4"]}
    priorities = [priority for _, _, priority in _card_jobs(store)]
    new, follow = PRIORITY_NEW_CARD, PRIORITY_FOLLOW_UP
    assert priorities == [new, new, follow, new, follow]


def test_a_root_that_arrives_after_its_answer_joins_the_answer_s_conversation(
    store: Store,
) -> None:
    assert _store(store, [_post("2", thread_root="1")]) == 1
    assert _store(store, [_post("1"), _post("9")]) == 2
    assert _threads(store) == {"1": ["2", "1"], "9": ["9"]}


def test_a_stranger_s_private_answer_opens_its_own_private_conversation(store: Store) -> None:
    page = [
        _post("1"),
        _post("2", author=STRANGER, in_reply_to="1", visibility=Visibility.DIRECT),
    ]
    assert _store(store, page) == 2
    with store.read() as session:
        conversations = session.exec(select(Conversation).order_by(col(Conversation.id))).all()
    assert len(conversations) == 2
    public, private = conversations
    assert (public.remote_root, public.private) == ("1", False)
    assert private.private and private.remote_root.startswith("direct:")
    assert _threads(store) == {"1": ["1"], private.remote_root: ["2"]}
