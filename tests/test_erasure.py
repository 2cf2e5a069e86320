"""Erasure in the store: retention and `forget` blank texts and names, keep the figures."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.config import AccountSettings
from bot.erasure import HandleQuery, erase_expired, forget, is_erased, parse_handle
from bot.jobkinds import REWRITE_ERASED
from bot.stats import Stats, compute_stats
from bot.store import Conversation, Job, Message, Store
from tests.test_stats import NOW, SEEDS, days, seed

ACCOUNTS = (
    AccountSettings("brand-mastodon", "mastodon", "https://mastodon.example", "C1", 20),
    AccountSettings("brand-x", "x", "https://api.x.com", "C1", 60),
    AccountSettings("brand-bluesky", "bluesky", "https://bsky.social", "C1", 20),
)


def _all_stats(store: Store) -> list[Stats]:
    return [
        compute_stats(store, since=since, until=NOW, account=account, network=None)
        for since in (days(1), days(7), days(30), None)
        for account in (None, "acme-mastodon", "acme-bluesky")
    ]


def _conversation_keys_with_text(store: Store) -> set[str]:
    with store.read() as session:
        rows = session.exec(
            select(Conversation.remote_root, Message.text)
            .join(Message, col(Message.conversation_id) == col(Conversation.id))
            .where(col(Message.text) != "")
        ).all()
    return {root.removesuffix("-root") for root, _ in rows}


def _authors(store: Store) -> dict[str, str]:
    with store.read() as session:
        rows = session.exec(select(Conversation.remote_root, Conversation.author_handle)).all()
    return {root.removesuffix("-root"): handle for root, handle in rows}


def test_retention_erases_closed_conversations_and_leaves_every_figure(store: Store) -> None:
    seed(store)
    before = _all_stats(store)
    erased = erase_expired(store, retention_days=1, now=NOW)
    # Closed more than a day before NOW: m1 m2 m3 b1 (first post and reply each) and m7
    # (first post, reply, and the follow-up 200 h ago).
    assert (erased.messages, erased.conversations) == (11, 5)
    assert _all_stats(store) == before
    closed = {s.key for s in SEEDS if s.status == "closed"}
    assert _conversation_keys_with_text(store) == {s.key for s in SEEDS} - closed
    authors = _authors(store)
    assert all(authors[key] == "" for key in closed)
    assert authors["m4"] == "m4@example.social"
    with store.read() as session:
        erased_rows = session.exec(select(Message).where(col(Message.text) == "")).all()
    assert len(erased_rows) == 11 and all(is_erased(m) for m in erased_rows)
    assert all(m.slack_user for m in erased_rows if m.direction == "out")  # stats by person


def test_retention_keeps_what_closed_more_recently_and_is_idempotent(store: Store) -> None:
    seed(store)
    before = _all_stats(store)
    # Three days: m7 (closed 48 h ago) and b1 (closed about 69.7 h ago) stay.
    assert erase_expired(store, retention_days=3, now=NOW).messages == 6
    assert {"m7", "b1"} <= _conversation_keys_with_text(store)
    again = erase_expired(store, retention_days=3, now=NOW)
    assert (again.messages, again.conversations) == (0, 0)
    assert _all_stats(store) == before


def test_retention_leaves_a_reply_still_on_its_way_for_the_next_run(store: Store) -> None:
    seed(store)
    with store.session() as session:
        m1 = session.exec(select(Conversation).where(Conversation.remote_root == "m1-root")).one()
        session.add(
            Message(
                conversation_id=m1.id or 0,
                account=m1.account,
                direction="out",
                slack_channel="C1",
                slack_ts="77.1",
                text="on its way",
                state="queued",
            )
        )
    erase_expired(store, retention_days=1, now=NOW)
    with store.read() as session:
        queued = session.exec(select(Message).where(Message.slack_ts == "77.1")).one()
    assert queued.text == "on its way"


def _post(
    store: Store,
    *,
    account: str,
    handle: str,
    remote_id: str,
    slack_ts: str | None,
    conversation: int | None = None,
    state: str = "posted",
) -> int:
    """One inbound post; a new conversation (opened by `handle`) unless one is given."""
    with store.session() as session:
        if conversation is None:
            opened = Conversation(
                account=account,
                network=account.removeprefix("brand-"),
                remote_root=remote_id,
                slack_channel="C1",
                slack_ts=slack_ts,
                author_handle=handle,
                author_name=f"Name of {handle}",
            )
            session.add(opened)
            session.flush()
            conversation = opened.id or 0
        session.add(
            Message(
                conversation_id=conversation,
                account=account,
                direction="in",
                remote_id=remote_id,
                remote_url=f"https://{account}.example/{remote_id}",
                slack_channel="C1",
                slack_ts=slack_ts,
                author_remote_id=f"id-{handle}",
                author_handle=handle,
                author_name=f"Name of {handle}",
                author_url=f"https://{account}.example/@{handle}",
                text=f"text {remote_id} by {handle}",
                state=state,
            )
        )
        return conversation


def _texts(store: Store) -> set[str]:
    with store.read() as session:
        return {m.text for m in session.exec(select(Message)) if m.text}


def _rewrite_jobs(store: Store) -> list[Job]:
    with store.read() as session:
        return list(session.exec(select(Job).where(col(Job.kind) == REWRITE_ERASED)))


def _q(handle: str) -> HandleQuery:
    return parse_handle(handle, ACCOUNTS)


@pytest.fixture
def people(store: Store) -> Store:
    remote = _post(
        store,
        account="brand-mastodon",
        handle="Alice@Remote.example",
        remote_id="1",
        slack_ts="1.1",
    )
    _post(
        store,
        account="brand-mastodon",
        handle="alice@remote.example",
        remote_id="2",
        slack_ts="1.2",
        conversation=remote,
    )
    _post(store, account="brand-mastodon", handle="alice", remote_id="3", slack_ts="3.1")
    _post(store, account="brand-x", handle="alice", remote_id="4", slack_ts="4.1")
    _post(
        store,
        account="brand-bluesky",
        handle="alice.bsky.social",
        remote_id="5",
        slack_ts=None,
        state="pending",  # still on its way to Slack
    )
    # Bob answers in Alice's thread; his post is his, not hers.
    _post(
        store,
        account="brand-mastodon",
        handle="bob@remote.example",
        remote_id="6",
        slack_ts="1.3",
        conversation=remote,
    )
    return store


def test_forget_erases_a_remote_person_everywhere_and_queues_each_slack_rewrite(
    people: Store,
) -> None:
    erased = forget(people, _q("@alice@remote.example"))
    assert (erased.messages, erased.conversations, erased.slack_messages) == (2, 1, 2)
    assert _texts(people) == {
        "text 3 by alice",
        "text 4 by alice",
        "text 5 by alice.bsky.social",
        "text 6 by bob@remote.example",
    }
    assert sorted(job.message_id or 0 for job in _rewrite_jobs(people)) == [1, 2]
    with people.read() as session:
        message = session.get_one(Message, 1)
    assert (message.author_name, message.author_handle, message.author_url) == ("", "", "")
    assert (message.author_remote_id, message.remote_url, message.remote_id) == ("", None, "1")
    again = forget(people, _q("@alice@remote.example"))
    assert (again.messages, again.conversations, again.slack_messages) == (0, 0, 0)


def test_a_bare_handle_is_an_x_user_or_a_local_mastodon_user_never_a_remote_one(
    people: Store,
) -> None:
    erased = forget(people, _q("alice"))
    assert (erased.messages, erased.conversations) == (2, 2)
    assert "text 3 by alice" not in _texts(people) and "text 4 by alice" not in _texts(people)
    assert "text 1 by Alice@Remote.example" in _texts(people)
    assert "text 5 by alice.bsky.social" in _texts(people)


def test_a_full_handle_on_the_brands_own_server_finds_its_local_user_there_only(
    people: Store,
) -> None:
    assert forget(people, _q("@alice@mastodon.example")).messages == 1
    assert "text 3 by alice" not in _texts(people)
    assert "text 4 by alice" in _texts(people)  # the X user of that name is someone else


def test_account_limits_forget_to_one_account(people: Store) -> None:
    assert forget(people, _q("alice"), account="brand-x").messages == 1
    assert "text 3 by alice" in _texts(people)


def test_a_post_not_yet_in_slack_is_rewritten_once_it_is_and_a_failed_one_not_at_all(
    people: Store,
) -> None:
    _post(
        people,
        account="brand-bluesky",
        handle="alice.bsky.social",
        remote_id="7",
        slack_ts=None,
        state="failed",
    )
    erased = forget(people, _q("alice.bsky.social"))
    assert (erased.messages, erased.slack_messages) == (2, 1)


@pytest.mark.parametrize("text", ["", "@", "  @ ", "alice smith", "@a@b@c", "alice@", "@@alice"])
def test_what_is_not_a_handle_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a handle"):
        parse_handle(text, ACCOUNTS)
