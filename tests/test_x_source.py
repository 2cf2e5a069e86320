"""XSource against the loopback fake of X API v2: paging, first start, replies, tokens."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.config import AccountSettings, ConfigError, Secret
from bot.domain import DeliveryError, RateLimited, ReplyTarget, Visibility
from bot.sources import NETWORK_KEYS, SOURCES
from bot.sources.x.source import XSource
from bot.store import Store
from bot.store import accounts as account_store
from bot.store.credentials import SessionCipher, StoredSessions
from tests.fakes.x_api import FakeX

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


class MemorySessions:
    """SessionStore in a dict, counting saves."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}
        self.saves = 0

    def load_session(self, account: str) -> str | None:
        return self.saved.get(account)

    def save_session(self, account: str, session_json: str) -> None:
        self.saved[account] = session_json
        self.saves += 1


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server


def account_for(
    fake: FakeX,
    *,
    refresh: bool = True,
    client_secret: str | None = None,
    token: str | None = None,
    options: dict[str, str] | None = None,
) -> AccountSettings:
    secrets = {"token": Secret(token or fake.access_token)}
    if refresh:
        secrets["refresh_token"] = Secret(fake.refresh_token)
        secrets["client_id"] = Secret(fake.client_id)
    if client_secret is not None:
        secrets["client_secret"] = Secret(client_secret)
    return AccountSettings(
        name="acme-x",
        network="x",
        server=fake.base_url,
        channel="C1",
        poll_seconds=60,
        options=options or {},
        secrets=secrets,
    )


@pytest.fixture
def sessions() -> MemorySessions:
    return MemorySessions()


@pytest.fixture
def source(fake: FakeX, sessions: MemorySessions) -> Iterator[XSource]:
    made = XSource(account_for(fake), timeout=2.0, sessions=sessions)
    yield made
    made.close()


def started(fake: FakeX, source: XSource) -> str:
    """The cursor after a first start on an account that already had a mention an hour ago."""
    early = fake.add_user("early")
    fake.customer_tweets(early, "an old mention", at=time.time() - 3600)
    cursor = source.fetch(None).cursor
    assert cursor is not None
    return cursor


def newest(cursor: str | None) -> str:
    assert cursor is not None
    return cursor.split("/")[0]


def target(tweet: dict[str, Any], handle: str) -> ReplyTarget:
    return ReplyTarget(
        remote_id=str(tweet["id"]),
        author_handle=handle,
        visibility=Visibility.PUBLIC,
        thread_root=str(tweet["conversation_id"]),
        extra={},
    )


# --- registry and configuration ------------------------------------------------------------


def test_x_is_registered_with_its_keys_and_defaults() -> None:
    assert SOURCES["x"] is XSource
    keys = NETWORK_KEYS["x"]
    assert keys.required == {"token_env"}
    assert {"refresh_token_env", "client_id_env", "client_secret_env", "user_id"} <= keys.optional
    assert keys.default_server == "https://api.x.com"
    assert keys.default_poll_seconds == 60


def test_a_refresh_token_without_a_client_id_is_a_config_error(fake: FakeX) -> None:
    account = account_for(fake)
    secrets = {k: v for k, v in account.secrets.items() if k != "client_id"}
    broken = dataclasses.replace(account, secrets=secrets)
    with pytest.raises(ConfigError, match="client_id_env"):
        XSource(broken, timeout=2.0)


# --- fetching mentions -------------------------------------------------------------------


def test_first_start_imports_no_history_and_marks_the_newest_mention(
    fake: FakeX, source: XSource
) -> None:
    alice = fake.add_user("alice", "Alice A.")
    fake.customer_tweets(alice, "old news")
    last = fake.customer_tweets(alice, "older news still")
    result = source.fetch(None)
    assert result.posts == []
    assert result.cursor == f"{last['id']}/{last['id']}"
    assert source.fetch(result.cursor).posts == []  # the overlap stops at the first start


def test_a_mention_after_the_first_start_arrives_with_author_thread_and_url(
    fake: FakeX, source: XSource
) -> None:
    cursor = source.fetch(None).cursor
    bob = fake.add_user("bob", "Bob B.")
    tweet = fake.customer_tweets(bob, "my order 1234 never arrived")
    result = source.fetch(cursor)
    [post] = result.posts
    assert post.remote_id == tweet["id"]
    assert post.text == "@acme my order 1234 never arrived"
    assert post.author.handle == "bob" and post.author.display_name == "Bob B."
    assert post.author.url == "https://x.com/bob"
    assert post.url == f"https://x.com/bob/status/{tweet['id']}"
    assert post.thread_root == tweet["id"] and post.in_reply_to is None
    assert post.visibility is Visibility.PUBLIC
    assert newest(result.cursor) == tweet["id"]


def test_a_follow_up_names_what_it_answers_and_its_conversation(
    fake: FakeX, source: XSource
) -> None:
    cursor = source.fetch(None).cursor
    carol = fake.add_user("carol")
    first = fake.customer_tweets(carol, "is the shop open?")
    follow = fake.customer_tweets(carol, "on Sunday I mean", in_reply_to=first["id"])
    posts = source.fetch(cursor).posts
    assert [p.remote_id for p in posts] == [first["id"], follow["id"]]
    assert posts[1].in_reply_to == first["id"]
    assert posts[1].thread_root == first["id"]


def test_without_any_mention_at_first_start_older_mentions_never_arrive(
    fake: FakeX, source: XSource
) -> None:
    result = source.fetch(None)
    assert result.cursor is not None and result.cursor.startswith("time:")
    dave = fake.add_user("dave")
    fake.customer_tweets(dave, "from last week", at=time.time() - 7 * 86400)
    assert source.fetch(result.cursor).posts == []
    fresh = fake.customer_tweets(dave, "hello now")
    later = source.fetch(result.cursor)
    assert [p.remote_id for p in later.posts] == [fresh["id"]]
    assert newest(later.cursor) == fresh["id"]


def test_many_new_mentions_are_paged_through_and_come_oldest_first(
    fake: FakeX, source: XSource
) -> None:
    cursor = source.fetch(None).cursor
    erin = fake.add_user("erin")
    made = [fake.customer_tweets(erin, f"message {n}")["id"] for n in range(230)]
    fake.clear_requests()
    result = source.fetch(cursor)
    assert [p.remote_id for p in result.posts] == made
    pages = fake.calls("GET /2/users/:id/mentions")
    assert len(pages) == 3
    assert "pagination_token" not in pages[0].params
    assert all("pagination_token" in page.params for page in pages[1:])
    assert newest(result.cursor) == made[-1]


def test_the_poll_asks_with_since_id_and_the_fields_it_needs(fake: FakeX, source: XSource) -> None:
    cursor = started(fake, source)
    frank = fake.add_user("frank")
    tweet = fake.customer_tweets(frank, "hi")
    source.fetch(cursor)
    params = fake.calls("GET /2/users/:id/mentions")[-1].params
    assert int(params["since_id"]) < int(tweet["id"])
    fields = set(params["tweet.fields"].split(","))
    assert {"conversation_id", "created_at", "in_reply_to_user_id", "referenced_tweets"} <= fields
    assert {"author_id"} <= fields and params["expansions"] == "author_id"
    assert set(params["user.fields"].split(",")) == {"username", "name"}


def test_a_mention_that_shows_up_late_with_an_older_id_is_still_fetched(
    fake: FakeX, source: XSource
) -> None:
    cursor: str | None = started(fake, source)
    gina = fake.add_user("gina")
    newer = fake.customer_tweets(gina, "newer")
    cursor = source.fetch(cursor).cursor
    assert newest(cursor) == newer["id"]
    late = fake.customer_tweets(gina, "indexed late", at=time.time() - 5)
    result = source.fetch(cursor)
    assert late["id"] in [p.remote_id for p in result.posts]
    assert result.cursor is None or newest(result.cursor) == newer["id"]  # never moves back


def test_escaped_text_and_t_co_links_become_what_was_typed(fake: FakeX, source: XSource) -> None:
    cursor = source.fetch(None).cursor
    hank = fake.add_user("hank")
    fake.customer_tweets(hank, "Fish & chips <3 see https://shop.example.com/menu?x=1")
    [post] = source.fetch(cursor).posts
    assert post.text == "@acme Fish & chips <3 see https://shop.example.com/menu?x=1"


def test_a_long_post_brings_its_full_note_text(fake: FakeX, source: XSource) -> None:
    cursor = source.fetch(None).cursor
    ivy = fake.add_user("ivy")
    fake.customer_tweets(ivy, "@acme the start…", note="@acme the start and the whole story")
    [post] = source.fetch(cursor).posts
    assert post.text == "@acme the start and the whole story"


def test_malformed_mentions_are_logged_and_skipped(
    fake: FakeX, source: XSource, caplog: pytest.LogCaptureFixture
) -> None:
    cursor = started(fake, source)
    jack = fake.add_user("jack")
    good = fake.customer_tweets(jack, "fine one")
    fake.inject_mention({"id": str(int(good["id"]) + 1), "text": "no author, no date"})
    with caplog.at_level(logging.WARNING):
        result = source.fetch(cursor)
    assert [p.remote_id for p in result.posts] == [good["id"]]
    assert "skipped malformed X mention" in caplog.text
    assert newest(result.cursor) == str(int(good["id"]) + 1)  # not asked for again and again


def test_our_own_posts_are_not_mentions(fake: FakeX, source: XSource) -> None:
    cursor = source.fetch(None).cursor
    kim = fake.add_user("kim")
    tweet = fake.customer_tweets(kim, "question")
    source.reply(to=target(tweet, "kim"), text="thanks @acme team", key="k")
    assert [p.author.handle for p in source.fetch(cursor).posts] == ["kim"]


def test_a_429_on_the_mentions_says_when_the_window_resets(fake: FakeX, source: XSource) -> None:
    cursor = source.fetch(None).cursor
    fake.faults.fail("GET /2/users/:id/mentions", status=429, retry_after=30)
    with pytest.raises(RateLimited) as caught:
        source.fetch(cursor)
    wait = caught.value.retry_after
    assert wait is not None and 25 <= wait <= 31


def test_x_s_own_rate_limit_answer_is_honoured_too() -> None:
    with FakeX(rate_limits={"GET /2/users/me": 2}) as limited:
        made = XSource(account_for(limited), timeout=2.0)
        made.verify()
        made.verify()
        with pytest.raises(RateLimited) as caught:
            made.verify()
        made.close()
    [*_, refused] = limited.calls("GET /2/users/me")
    assert refused.status == 429
    wait = caught.value.retry_after
    assert wait is not None and 0 <= wait <= 900


def test_an_unreadable_cursor_starts_over_from_now(fake: FakeX, source: XSource) -> None:
    result = source.fetch("not-a-cursor")
    assert result.posts == [] and result.cursor is not None
    assert result.cursor.startswith("time:")


def test_the_user_id_from_the_config_saves_the_users_me_call(fake: FakeX) -> None:
    configured = XSource(
        account_for(fake, options={"user_id": fake.brand["id"]}), timeout=2.0, sessions=None
    )
    configured.fetch(None)
    assert fake.calls("GET /2/users/me") == []
    configured.close()


# --- length and replies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("a" * 280, 280),
        ("a" * 281, 281),
        ("日" * 140, 280),  # CJK counts 2
        ("日" * 141, 282),
        ("😀" * 140, 280),  # an emoji counts 2
        (FAMILY * 140, 280),  # a whole ZWJ sequence counts 2
        ("see https://example.com/" + "p" * 200 + " ok", 4 + 23 + 3),  # any URL counts 23
        ("x" * 257 + " https://example.com", 281),
        ("cafe\u0301", 4),  # NFC first
    ],
)
def test_length_is_x_weighted_count_against_280(source: XSource, text: str, count: int) -> None:
    verdict = source.measure(text)
    assert (verdict.count, verdict.limit) == (count, 280)
    assert verdict.fits is (count <= 280)


def test_a_reply_needs_no_at_prefix(source: XSource, fake: FakeX) -> None:
    tweet = fake.customer_tweets(fake.add_user("lena"), "hello")
    assert source.prepare_reply("Hi Lena!", to=target(tweet, "lena")) == "Hi Lena!"


def test_a_reply_is_a_post_in_reply_to_the_mention(fake: FakeX, source: XSource) -> None:
    tweet = fake.customer_tweets(fake.add_user("mia"), "where is my parcel?")
    sent = source.reply(to=target(tweet, "mia"), text="On its way!", key="k1")
    [call] = fake.calls("POST /2/tweets")
    assert call.params["reply"] == {"in_reply_to_tweet_id": tweet["id"]}
    assert call.params["text"] == "On its way!"
    [reply] = fake.replies_to(tweet["id"])
    assert sent.remote_id == reply["id"]
    assert sent.url.endswith(f"/status/{reply['id']}")


def test_x_refusing_a_reply_to_someone_who_did_not_mention_us_says_so(
    fake: FakeX, source: XSource
) -> None:
    tweet = fake.customer_tweets(fake.add_user("ned"), "psst", summons=False)
    with pytest.raises(DeliveryError) as caught:
        source.reply(to=target(tweet, "ned"), text="Hello Ned", key="k2")
    assert caught.value.permanent
    assert "only lets this account reply to people who mentioned or quoted it" in (
        caught.value.reason
    )
    assert fake.replies_to(tweet["id"]) == []


def test_find_reply_recognizes_our_published_reply(fake: FakeX, source: XSource) -> None:
    tweet = fake.customer_tweets(fake.add_user("olga"), "menu?")
    text = "Fish & chips: https://shop.example.com/menu"
    sent = source.reply(to=target(tweet, "olga"), text=text, key="k3")
    stored = fake.tweet(sent.remote_id)
    assert stored is not None and stored["text"].startswith("@olga Fish & chips: https://t.co/")
    found = source.find_reply(to=target(tweet, "olga"), text=text, key="k3")
    assert found is not None and found.remote_id == sent.remote_id
    assert source.find_reply(to=target(tweet, "olga"), text="something else", key="k4") is None


def test_find_reply_finds_nothing_before_anything_was_sent(fake: FakeX, source: XSource) -> None:
    tweet = fake.customer_tweets(fake.add_user("pia"), "hi")
    assert source.find_reply(to=target(tweet, "pia"), text="Hello", key="k") is None


def test_a_duplicate_refusal_after_a_lost_answer_returns_the_reply_already_made(
    fake: FakeX, source: XSource
) -> None:
    tweet = fake.customer_tweets(fake.add_user("quinn"), "hi")
    first = source.reply(to=target(tweet, "quinn"), text="Hello Quinn", key="k")
    again = source.reply(to=target(tweet, "quinn"), text="Hello Quinn", key="k")
    assert again.remote_id == first.remote_id
    assert len(fake.replies_to(tweet["id"])) == 1


def test_verify_names_the_account(source: XSource) -> None:
    assert source.verify() == "@acme"


# --- tokens ---------------------------------------------------------------------------------


def test_an_expired_token_is_renewed_and_the_new_pair_saved(
    fake: FakeX, source: XSource, sessions: MemorySessions
) -> None:
    cursor = source.fetch(None).cursor
    fake.expire_access_tokens()
    rita = fake.add_user("rita")
    fake.customer_tweets(rita, "still there?")
    assert [p.author.handle for p in source.fetch(cursor).posts] == ["rita"]
    assert fake.refreshes == 1
    saved = json.loads(sessions.saved["acme-x"])
    assert saved["access_token"] == fake.access_token
    assert saved["refresh_token"] == fake.refresh_token
    form = fake.calls("POST /2/oauth2/token")[0].params
    assert form["grant_type"] == "refresh_token" and form["client_id"] == fake.client_id


def test_after_a_restart_the_saved_pair_wins_over_the_environment(
    fake: FakeX, sessions: MemorySessions
) -> None:
    account = account_for(fake)  # the environment's pair, soon stale
    first = XSource(account, timeout=2.0, sessions=sessions)
    first.fetch(None)
    fake.expire_access_tokens()
    first.verify()
    first.close()
    assert fake.refreshes == 1
    restarted = XSource(account, timeout=2.0, sessions=sessions)
    assert restarted.verify() == "@acme"  # the env refresh token was rotated away: only the
    assert fake.refreshes == 1  # saved pair works, and it works without renewing again
    restarted.close()


def test_a_new_pair_in_the_environment_replaces_the_saved_one(
    fake: FakeX, sessions: MemorySessions
) -> None:
    sessions.saved["acme-x"] = json.dumps(
        {"seed": "something-else", "access_token": "old", "refresh_token": "old", "expires_at": 1}
    )
    fresh = XSource(account_for(fake), timeout=2.0, sessions=sessions)
    assert fresh.verify() == "@acme"
    assert fake.refreshes == 0
    fresh.close()


def test_a_confidential_client_renews_with_basic_auth(fake: FakeX) -> None:
    fake.client_secret = "sandbox-secret"
    made = XSource(account_for(fake, client_secret="sandbox-secret"), timeout=2.0)
    made.verify()
    fake.expire_access_tokens()
    assert made.verify() == "@acme"
    call = fake.calls("POST /2/oauth2/token")[0]
    assert call.headers["authorization"].startswith("Basic ")
    assert "client_id" not in call.params
    made.close()


def test_a_token_about_to_expire_is_renewed_before_use(fake: FakeX) -> None:
    fake.token_lifetime = 30  # under the 60 s margin
    made = XSource(account_for(fake), timeout=2.0)
    fake.expire_access_tokens()
    made.verify()  # 401, renewal, a token that expires within the margin
    made.verify()  # renewed again before sending
    assert fake.refreshes == 2
    assert [c.status for c in fake.calls("GET /2/users/me")] == [401, 200, 200]
    made.close()


def test_threads_that_meet_an_expired_token_renew_it_once(fake: FakeX, source: XSource) -> None:
    source.verify()
    fake.expire_access_tokens()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            source.verify()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert fake.refreshes == 1


def test_a_refused_refresh_token_is_a_clear_permanent_error_without_secrets(
    fake: FakeX, source: XSource, caplog: pytest.LogCaptureFixture
) -> None:
    refresh = fake.refresh_token
    fake.revoke_refresh_token()
    fake.expire_access_tokens()
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as caught:
        source.verify()
    assert caught.value.permanent
    assert "authorize the app again" in caught.value.reason
    assert refresh not in caught.value.reason
    assert refresh not in caplog.text


def test_no_token_reaches_the_log(
    fake: FakeX, source: XSource, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        source.fetch(None)
        fake.expire_access_tokens()
        source.verify()
    tokens = [fake.access_token, fake.refresh_token, "sandbox-x-access-token"]
    tokens.append("sandbox-x-refresh-token")
    assert "renewed the X access token" in caplog.text
    for token in tokens:
        assert token not in caplog.text


def test_the_renewed_pair_is_stored_encrypted_and_survives_a_restart(
    fake: FakeX, store: Store
) -> None:
    sessions = StoredSessions(
        store, SessionCipher([Fernet.generate_key()], where="SOCIALBRIDGE_SECRET_KEY")
    )
    account = account_for(fake)
    first = XSource(account, timeout=2.0, sessions=sessions)
    first.fetch(None)
    fake.expire_access_tokens()
    first.verify()
    first.close()
    raw = account_store.get(store, "acme-x").session_json or ""
    assert raw.startswith("fernet:")
    assert fake.access_token not in raw and fake.refresh_token not in raw
    restarted = XSource(account, timeout=2.0, sessions=sessions)
    assert restarted.verify() == "@acme"  # only the stored (rotated) pair still works
    assert fake.refreshes == 1
    restarted.close()
