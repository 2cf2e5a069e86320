"""Bluesky without the dev-env: facets, record keys, length, and polling against a fake PDS."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from bot.config import AccountSettings, ConfigError, Secret
from bot.domain import DeliveryError, RateLimited, ReplyTarget, UnknownOutcome, Visibility
from bot.sources import SessionStore
from bot.sources.bluesky.richtext import facets_for, find_links, find_mentions, plain_text_of
from bot.sources.bluesky.source import LOOKBACK, BlueskySource
from bot.sources.bluesky.tid import TID_PATTERN, tid_for_key, tid_from_parts
from bot.store import AccountState, Store
from bot.store import accounts as account_store
from bot.store.credentials import SessionCipher, StoredSessions
from tests.bluesky.fake_pds import DID, HANDLE, PASSWORD, FakePds

FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 25 UTF-8 bytes
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _span(text: str, start: int, end: int) -> str:
    return text.encode("utf-8")[start:end].decode("utf-8")


# ---- facets -------------------------------------------------------------------------


def test_a_link_after_emoji_and_cjk_is_found_at_its_utf8_byte_offsets() -> None:
    text = "日本 😀 https://acme.example/x"
    [link] = find_links(text)
    assert (link.byte_start, link.byte_end) == (12, 12 + len("https://acme.example/x"))
    assert _span(text, link.byte_start, link.byte_end) == link.value


def test_the_full_stop_after_a_link_is_not_part_of_it() -> None:
    [link] = find_links("See https://acme.example/hours.")
    assert link.value == "https://acme.example/hours"


def test_a_closing_parenthesis_the_link_did_not_open_is_left_out() -> None:
    links = find_links("(https://acme.example/a) and https://acme.example/b(c)")
    assert [link.value for link in links] == [
        "https://acme.example/a",
        "https://acme.example/b(c)",
    ]


def test_a_mention_becomes_a_facet_with_the_did_of_its_handle() -> None:
    text = "ありがとう @alice.test!"
    facets = facets_for(text, resolve={"alice.test": "did:plc:alice"}.get)
    [facet] = facets
    assert _span(text, facet["index"]["byteStart"], facet["index"]["byteEnd"]) == "@alice.test"
    assert facet["features"] == [
        {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}
    ]


def test_an_unknown_handle_stays_plain_text() -> None:
    assert facets_for("ask @nobody.test", resolve=lambda handle: None) == []


def test_slack_names_and_mail_addresses_are_not_mentions() -> None:
    assert find_mentions("thanks @dana, write to help@acme.example") == []


@given(
    prefix=st.text(alphabet="a 日本😀é\u0301🇩🇪" + FAMILY, max_size=30),
    path=st.text(alphabet="abcxyz0123/-_", max_size=20),
)
def test_link_facets_always_cover_exactly_the_link(prefix: str, path: str) -> None:
    url = f"https://acme.example/{path}x"
    text = f"{prefix} {url} ✨"
    [link] = find_links(text)
    assert _span(text, link.byte_start, link.byte_end) == url == link.value


def test_a_shortened_link_in_a_received_post_is_written_out() -> None:
    text = "see acme.example/orders/12... now"
    facet = {
        "index": {"byteStart": 4, "byteEnd": 29},
        "features": [
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.example/orders/1234"}
        ],
    }
    assert plain_text_of(text, [facet]) == "see https://acme.example/orders/1234 now"


def test_a_link_with_other_words_shows_where_it_goes() -> None:
    text = "my bank 💳"
    facet = {
        "index": {"byteStart": 3, "byteEnd": 7},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://evil.example"}],
    }
    assert plain_text_of(text, [facet]) == "my bank (https://evil.example) 💳"


# ---- record keys --------------------------------------------------------------------


def test_tids_encode_as_the_spec_says() -> None:
    assert tid_from_parts(0, 0) == "2222222222222"
    assert tid_from_parts(1_724_171_495_793_000, 512) == "3l25zusnsfck2"


def test_the_same_key_always_gives_the_same_record_key() -> None:
    assert tid_for_key("socialbridge-C1-1.2") == tid_for_key("socialbridge-C1-1.2")
    assert tid_for_key("socialbridge-C1-1.2") != tid_for_key("socialbridge-C1-1.3")


@given(st.text(max_size=80))
def test_every_key_gives_a_valid_tid_from_the_past(key: str) -> None:
    tid = tid_for_key(key)
    assert TID_PATTERN.match(tid)
    micros = 0
    for char in tid[:11]:
        micros = micros * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(char)
    assert datetime(2020, 1, 1, tzinfo=UTC) <= datetime.fromtimestamp(micros / 1e6, UTC) < NOW


# ---- the source against a fake PDS --------------------------------------------------


class Sessions:
    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def load_session(self, account: str) -> str | None:
        return self.saved.get(account)

    def save_session(self, account: str, session_json: str) -> None:
        self.saved[account] = session_json


@pytest.fixture
def pds() -> Iterator[FakePds]:
    with FakePds() as fake:
        yield fake


def _source(pds: FakePds, sessions: SessionStore | None = None, **options: str) -> BlueskySource:
    settings = AccountSettings(
        name="brand",
        network="bluesky",
        server=pds.base_url,
        channel="C1",
        poll_seconds=1,
        options={"handle": HANDLE, **options},
        secrets={"password": Secret(PASSWORD)},
    )
    return BlueskySource(settings, timeout=1, sessions=sessions or Sessions())


@pytest.fixture
def source(pds: FakePds) -> Iterator[BlueskySource]:
    made = _source(pds)
    yield made
    made.close()


def test_replies_are_not_prefixed_and_count_graphemes_up_to_300(source: BlueskySource) -> None:
    target = ReplyTarget("at://x/app.bsky.feed.post/1", "alice.test", Visibility.PUBLIC, None, {})
    assert source.prepare_reply("Thanks!", to=target) == "Thanks!"
    assert source.measure("🇩🇪" * 300).fits
    verdict = source.measure("é" * 301)
    assert (verdict.count, verdict.limit, verdict.fits) == (301, 300, False)


def test_past_3000_bytes_the_limit_is_the_graphemes_that_fit(source: BlueskySource) -> None:
    verdict = source.measure(FAMILY * 150)  # 3750 bytes
    assert (verdict.count, verdict.limit) == (150, 120)


def test_the_first_poll_imports_no_history(pds: FakePds, source: BlueskySource) -> None:
    pds.notify(1, NOW)
    first = source.fetch(None)
    assert first.posts == [] and first.cursor
    assert source.fetch(first.cursor).posts == []


def test_a_new_mention_is_fetched_once(pds: FakePds, source: BlueskySource) -> None:
    first = source.fetch(None)
    uri = pds.notify(1, datetime.now(UTC))
    second = source.fetch(first.cursor)
    assert [p.remote_id for p in second.posts] == [uri]
    assert source.fetch(second.cursor).posts == []


def test_a_notification_listed_behind_newer_ones_is_still_fetched(
    pds: FakePds, source: BlueskySource
) -> None:
    pds.notify(1, NOW)
    cursor = source.fetch(None).cursor
    pds.notify(2, NOW + timedelta(seconds=20))
    cursor = source.fetch(cursor).cursor
    late = pds.notify(3, NOW + timedelta(seconds=10))  # indexed late, or a slow clock
    assert [p.remote_id for p in source.fetch(cursor).posts] == [late]


def test_history_stays_history_after_a_restart(pds: FakePds) -> None:
    pds.notify(1, NOW - timedelta(minutes=1))
    pds.notify(2, NOW)
    cursor = _source(pds).fetch(None).cursor
    new = pds.notify(3, NOW + timedelta(seconds=5))
    restarted = _source(pds)  # nothing in memory: only the cursor
    assert [p.remote_id for p in restarted.fetch(cursor).posts] == [new]


def test_paging_stops_at_the_lookback_horizon(pds: FakePds, source: BlueskySource) -> None:
    for number in range(250):
        pds.notify(number, NOW - LOOKBACK * 3 + timedelta(seconds=number * 10))
    cursor = source.fetch(None).cursor
    pds.clear_requests()
    source.fetch(cursor)
    assert len(pds.requests("app.bsky.notification.listNotifications")) == 1


def test_posts_come_oldest_first_with_their_thread(pds: FakePds, source: BlueskySource) -> None:
    cursor = source.fetch(None).cursor
    now = datetime.now(UTC)
    root = pds.notify(1, now)
    reply = pds.notify(2, now + timedelta(seconds=1), reason="reply", reply_to=root)
    pds.notify(3, now + timedelta(seconds=2), reason="like")
    first, second = source.fetch(cursor).posts
    assert (first.remote_id, first.thread_root, first.in_reply_to) == (root, root, None)
    assert (second.remote_id, second.thread_root, second.in_reply_to) == (reply, root, root)
    assert second.extra == {"uri": reply, "cid": "cid2", "root_uri": root, "root_cid": "cid-root"}
    assert second.url == "https://bsky.app/profile/customer.test/post/post2"


def test_answers_to_our_own_post_are_not_grouped_by_its_thread(
    pds: FakePds, source: BlueskySource
) -> None:
    cursor = source.fetch(None).cursor
    ours = f"at://{DID}/app.bsky.feed.post/announcement"
    now = datetime.now(UTC)
    pds.notify(1, now, reason="reply", reply_to=ours)
    pds.notify(2, now + timedelta(seconds=1), reason="reply", reply_to=ours)
    posts = source.fetch(cursor).posts
    assert [(p.thread_root, p.in_reply_to, p.extra["root_uri"]) for p in posts] == [
        (None, ours, ours),
        (None, ours, ours),
    ]


def test_a_malformed_notification_is_skipped_and_the_rest_arrive(
    pds: FakePds, source: BlueskySource
) -> None:
    cursor = source.fetch(None).cursor
    now = datetime.now(UTC)
    pds.notify(1, now)
    good = pds.notify(2, now + timedelta(seconds=1))
    del pds.notifications[0]["author"]
    assert [p.remote_id for p in source.fetch(cursor).posts] == [good]


def test_a_429_waits_until_the_ratelimit_reset(pds: FakePds, source: BlueskySource) -> None:
    cursor = source.fetch(None).cursor
    reset = int(time.time()) + 30
    pds.faults.fail(
        "app.bsky.notification.listNotifications",
        status=429,
        headers={"ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
    )
    with pytest.raises(RateLimited) as limited:
        source.fetch(cursor)
    assert 25 <= (limited.value.retry_after or 0) <= 31


def test_a_spent_rate_limit_is_honoured_without_asking_again(
    pds: FakePds, source: BlueskySource
) -> None:
    cursor = source.fetch(None).cursor
    pds.limit_headers = {"ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 60)}
    source.fetch(cursor)
    pds.clear_requests()
    with pytest.raises(RateLimited):
        source.fetch(cursor)
    assert pds.requests() == []


def test_an_expired_token_is_refreshed_and_the_new_pair_saved(pds: FakePds) -> None:
    sessions = Sessions()
    source = _source(pds, sessions)
    source.verify()
    pds.expire_access_token()
    assert source.verify() == f"@{HANDLE}"
    assert (pds.logins, pds.refreshes) == (1, 1)
    assert json.loads(sessions.saved["brand"])["accessJwt"] == pds.access
    source.close()


def test_a_restart_uses_the_saved_session_without_logging_in(pds: FakePds) -> None:
    sessions = Sessions()
    _source(pds, sessions).verify()
    _source(pds, sessions).verify()
    assert pds.logins == 1


def test_no_token_reaches_a_log_or_an_error(pds: FakePds, caplog: pytest.LogCaptureFixture) -> None:
    source = _source(pds)
    source.verify()
    pds.expire_access_token()
    source.verify()
    pds.faults.fail("com.atproto.server.getSession", status=400, error="InvalidRequest")
    with pytest.raises(DeliveryError) as failure:
        source.verify()
    for text in [*caplog.messages, failure.value.reason, repr(source._xrpc._session)]:
        assert "access-" not in text and "refresh-" not in text and PASSWORD not in text


def _target(uri: str = "at://did:plc:customer/app.bsky.feed.post/post1") -> ReplyTarget:
    extra = {"uri": uri, "cid": "cid1", "root_uri": "at://root", "root_cid": "cid-root"}
    return ReplyTarget(uri, "customer.test", Visibility.PUBLIC, "at://root", extra)


def test_a_reply_carries_root_and_parent_refs_and_a_derived_key(
    pds: FakePds, source: BlueskySource
) -> None:
    sent = source.reply(to=_target(), text="On its way!", key="k1")
    rkey = tid_for_key("k1")
    assert sent.remote_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert sent.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    assert pds.records[rkey]["reply"] == {
        "root": {"uri": "at://root", "cid": "cid-root"},
        "parent": {"uri": "at://did:plc:customer/app.bsky.feed.post/post1", "cid": "cid1"},
    }


def test_a_timeout_after_the_post_was_written_never_posts_twice(
    pds: FakePds, source: BlueskySource
) -> None:
    pds.faults.hang("com.atproto.repo.createRecord", 2.0)
    with pytest.raises(UnknownOutcome):
        source.reply(to=_target(), text="Hello", key="k2")
    found = source.find_reply(to=_target(), text="Hello", key="k2")
    again = source.reply(to=_target(), text="Hello", key="k2")
    assert found is not None and again.remote_id == found.remote_id
    assert len(pds.records) == 1


def test_find_reply_is_none_when_nothing_was_published(source: BlueskySource) -> None:
    assert source.find_reply(to=_target(), text="Hello", key="never-sent") is None


def test_an_appview_that_is_not_a_service_reference_is_refused(pds: FakePds) -> None:
    with pytest.raises(ConfigError, match=re.escape("did:web:api.bsky.app#bsky_appview")):
        _source(pds, appview="https://api.bsky.app")


def test_the_appview_is_named_in_the_atproto_proxy_header(pds: FakePds) -> None:
    source = _source(pds, appview="did:web:api.bsky.app#bsky_appview")
    source.fetch(None)
    [listed] = pds.requests("app.bsky.notification.listNotifications")
    assert listed.headers["atproto-proxy"] == "did:web:api.bsky.app#bsky_appview"
    source.close()


# ---- the session at rest (bot/store/credentials.py) -----------------------------------


def _stored(store: Store, key: bytes) -> StoredSessions:
    return StoredSessions(store, SessionCipher([key], where="SOCIALBRIDGE_SECRET_KEY"))


def test_the_saved_session_is_encrypted_and_a_restart_reuses_it(pds: FakePds, store: Store) -> None:
    key = Fernet.generate_key()
    _source(pds, _stored(store, key)).verify()
    _source(pds, _stored(store, key)).verify()
    assert pds.logins == 1
    raw = account_store.get(store, "brand").session_json or ""
    assert raw.startswith("fernet:") and pds.access not in raw and "refresh-" not in raw


def test_a_session_saved_under_another_key_means_logging_in_again(
    pds: FakePds, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    _source(pds, _stored(store, Fernet.generate_key())).verify()
    source = _source(pds, _stored(store, Fernet.generate_key()))
    assert source.verify() == f"@{HANDLE}"
    assert pds.logins == 2
    assert any("account brand" in m and "changed" in m for m in caplog.messages)


def test_a_plain_session_saved_by_the_previous_release_is_used_without_logging_in(
    pds: FakePds, store: Store
) -> None:
    before = Sessions()  # the previous release kept the JSON as it is
    _source(pds, before).verify()
    account_store.ensure_rows(store, ["brand"])
    with store.session() as session:
        state = session.get_one(AccountState, "brand")
        state.session_json = before.saved["brand"]
        session.add(state)
    _source(pds, _stored(store, Fernet.generate_key())).verify()
    assert pds.logins == 1
    assert (account_store.get(store, "brand").session_json or "").startswith("fernet:")
