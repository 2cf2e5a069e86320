"""Watched threads: which conversations are watched, which are read per poll, and which
posts of a thread are taken (bot/core/watch.py, bot/sources/bluesky/threads.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_settings
from bot.core.watch import FETCHES_PER_POLL, ThreadRotation, watch_hours, watched
from bot.domain import Post, WatchedThread
from bot.settings import AccountSettings
from bot.sources.bluesky.posts import post_of
from bot.sources.bluesky.threads import MAX_POSTS_PER_THREAD, NOT_FOUND, THREAD_VIEW, _Walk
from bot.store import Conversation, Message, Store

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BRAND, CUSTOMER, FRIEND = "did:plc:brand", "did:plc:customer", "did:plc:friend"
ROOT = f"at://{CUSTOMER}/app.bsky.feed.post/root"
ACCOUNT = AccountSettings(
    name="acme-bluesky", network="bluesky", server="https://bsky.example", channel="C1",
    poll_seconds=20,
)  # fmt: skip


def thread(n: int) -> WatchedThread:
    return WatchedThread(root=f"at://did:plc:c{n}/app.bsky.feed.post/{n}", author="c", since=NOW)


# ---- the rotation ----------------------------------------------------------------------


def test_fifty_threads_are_read_twenty_per_poll_and_all_within_three_polls() -> None:
    rotation = ThreadRotation()
    threads = {n: thread(n) for n in range(50)}
    rounds = [rotation.pick("a", threads) for _ in range(3)]
    assert [len(r) for r in rounds] == [FETCHES_PER_POLL] * 3
    assert {t.root for r in rounds for t in r} == {t.root for t in threads.values()}


def test_the_least_recently_read_thread_comes_first() -> None:
    rotation = ThreadRotation(budget=2)
    threads = {n: thread(n) for n in range(3)}
    assert rotation.pick("a", threads) == [threads[0], threads[1]]
    assert rotation.pick("a", threads) == [threads[2], threads[0]]
    # 2 and 0 were read in the same poll: the tie goes to the older conversation
    assert rotation.pick("a", threads) == [threads[1], threads[0]]


def test_a_thread_no_longer_watched_and_then_watched_again_counts_as_never_read() -> None:
    rotation = ThreadRotation(budget=1)
    threads = {n: thread(n) for n in range(2)}
    assert rotation.pick("a", threads) == [threads[0]]
    assert rotation.pick("a", {1: threads[1]}) == [threads[1]]  # 0 was closed
    assert rotation.pick("a", threads) == [threads[0]]


def test_a_deleted_root_is_not_read_again_and_other_accounts_keep_theirs() -> None:
    rotation = ThreadRotation()
    threads = {n: thread(n) for n in range(2)}
    rotation.forget("a", [threads[0].root])
    assert rotation.pick("a", threads) == [threads[1]]
    assert rotation.pick("b", threads) == [threads[0], threads[1]]


# ---- the setting -----------------------------------------------------------------------


def test_watching_is_on_for_48_hours_unless_configured() -> None:
    assert watch_hours(ACCOUNT) == 48.0
    assert watch_hours(_with_hours("0")) == 0.0
    assert watch_hours(_with_hours("12.5")) == 12.5


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_wrong_watch_window_names_the_key(value: str) -> None:
    with pytest.raises(ConfigError, match="'acme-bluesky' watch_threads_hours must be"):
        watch_hours(_with_hours(value))


def test_the_config_file_takes_the_watch_window_as_a_number(tmp_path: Path) -> None:
    path = tmp_path / "socialbridge.toml"
    path.write_text(
        '[slack]\nmode = "http"\n\n[[accounts]]\nname = "b"\nnetwork = "bluesky"\n'
        'handle = "acme.test"\npassword_env = "PW"\nchannel = "C1"\nwatch_threads_hours = 6\n'
    )
    settings = load_settings(path, environ={"PW": "pw", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert watch_hours(settings.accounts[0]) == 6.0


def _with_hours(value: str) -> AccountSettings:
    return AccountSettings(
        name=ACCOUNT.name,
        network=ACCOUNT.network,
        server=ACCOUNT.server,
        channel=ACCOUNT.channel,
        poll_seconds=ACCOUNT.poll_seconds,
        options={"watch_threads_hours": value},
    )


# ---- the store: which conversations are watched ----------------------------------------


def test_open_and_claimed_conversations_with_recent_posts_are_watched(store: Store) -> None:
    recent = _conversation(store, "recent", status="open", hours_ago=1)
    claimed = _conversation(store, "claimed", status="claimed", hours_ago=47)
    _conversation(store, "closed", status="closed", hours_ago=1)
    _conversation(store, "quiet", status="open", hours_ago=49)
    with store.read() as session:
        found = watched(session, ACCOUNT, now=NOW)
    assert set(found) == {recent, claimed}
    assert found[recent] == WatchedThread(
        root="at://recent", author="did:plc:first", since=NOW - timedelta(hours=1)
    )


def test_nothing_is_watched_when_the_window_is_zero(store: Store) -> None:
    _conversation(store, "recent", status="open", hours_ago=1)
    with store.read() as session:
        assert watched(session, _with_hours("0"), now=NOW) == {}


def _conversation(store: Store, name: str, *, status: str, hours_ago: float) -> int:
    at = NOW - timedelta(hours=hours_ago)
    with store.session() as session:
        conversation = Conversation(
            account=ACCOUNT.name,
            network="bluesky",
            remote_root=f"at://{name}",
            slack_channel="C1",
            status=status,
            opened_at=at,
            last_inbound_at=at,
        )
        session.add(conversation)
        session.flush()
        for n, author in enumerate(("did:plc:first", "did:plc:second")):
            session.add(
                Message(
                    conversation_id=conversation.id or 0,
                    account=ACCOUNT.name,
                    direction="in",
                    remote_id=f"at://{name}/{n}",
                    slack_channel="C1",
                    author_remote_id=author,
                    text="hi",
                    created_at=at + timedelta(minutes=n),
                )
            )
        return conversation.id or 0


# ---- the walk: which posts of a thread are taken ---------------------------------------


def test_the_customers_follow_ups_and_direct_answers_to_them_are_taken() -> None:
    root = _node(ROOT, CUSTOMER, None, minutes=0)
    follow_up = _node(_uri(CUSTOMER, "f"), CUSTOMER, ROOT, minutes=2)
    answer = _node(_uri(FRIEND, "a"), FRIEND, follow_up["post"]["uri"], minutes=3)
    aside = _node(_uri("did:plc:other", "x"), "did:plc:other", answer["post"]["uri"], minutes=4)
    answer["replies"] = [aside]
    follow_up["replies"] = [answer]
    root["replies"] = [follow_up]
    assert _taken(root) == [ROOT, follow_up["post"]["uri"], answer["post"]["uri"]]


def test_our_posts_history_and_deleted_or_blocked_posts_are_left_out() -> None:
    root = _node(ROOT, CUSTOMER, None, minutes=0)
    ours = _node(_uri(BRAND, "b"), BRAND, ROOT, minutes=1)
    after_ours = _node(_uri(CUSTOMER, "c"), CUSTOMER, ours["post"]["uri"], minutes=2)
    ours["replies"] = [after_ours]
    old = _node(_uri(CUSTOMER, "old"), CUSTOMER, ROOT, minutes=-5)
    gone: dict[str, Any] = {"$type": NOT_FOUND, "uri": _uri(FRIEND, "gone"), "notFound": True}
    blocked: dict[str, Any] = {"$type": "app.bsky.feed.defs#blockedPost", "uri": "x"}
    root["replies"] = [ours, old, gone, blocked]
    assert _taken(root) == [ROOT, after_ours["post"]["uri"]]


def test_a_huge_thread_is_looked_at_only_up_to_the_cap() -> None:
    root = _node(ROOT, CUSTOMER, None, minutes=0)
    root["replies"] = [
        _node(_uri(CUSTOMER, str(n)), CUSTOMER, ROOT, minutes=1) for n in range(1000)
    ]
    assert len(_taken(root)) == MAX_POSTS_PER_THREAD


def _taken(root: dict[str, Any]) -> list[str]:
    watch = WatchedThread(root=ROOT, author=CUSTOMER, since=NOW)
    return [p.remote_id for p in _Walk(watch, own=BRAND, to_post=_to_post).run(root)]


def _to_post(view: Any, at: datetime) -> Post:
    return post_of(view, at, thread_key=lambda root: root)


def _uri(did: str, rkey: str) -> str:
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def _node(uri: str, did: str, parent: str | None, *, minutes: int) -> dict[str, Any]:
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": uri}
    if parent:
        record["reply"] = {
            "root": {"uri": ROOT, "cid": "c0"},
            "parent": {"uri": parent, "cid": "c"},
        }
    at = (NOW + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    view = {"uri": uri, "cid": "c", "author": {"did": did, "handle": "h.test"}, "record": record}
    return {"$type": THREAD_VIEW, "post": {**view, "indexedAt": at}, "replies": []}
