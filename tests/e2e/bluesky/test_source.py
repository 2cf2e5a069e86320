"""BlueskySource against the reference PDS and AppView: sessions, idempotent replies, polling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest

from bot.config import AccountSettings, Secret
from bot.domain import DeliveryError, ReplyTarget, Visibility
from bot.sources.bluesky.source import BlueskySource
from tests.bluesky.devenv import Account, DevEnv, PostRef
from tests.e2e.harness import eventually

# The dev-env's PDS signs access tokens with this HS256 secret (@atproto/dev-env const.ts).
DEVENV_JWT_SECRET = b"jwt-secret"


class Sessions:
    """SessionStore in memory, counting saves: each save is a login or a refresh."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}
        self.saves = 0

    def load_session(self, account: str) -> str | None:
        return self.saved.get(account)

    def save_session(self, account: str, session_json: str) -> None:
        self.saved[account] = session_json
        self.saves += 1


@pytest.fixture(scope="module")
def brand(devenv: DevEnv) -> tuple[Account, str]:
    account = devenv.create_account("sourcebrand")
    return account, devenv.app_password(account)


@pytest.fixture
def sessions() -> Sessions:
    return Sessions()


@pytest.fixture
def source(
    devenv: DevEnv, brand: tuple[Account, str], sessions: Sessions
) -> Iterator[BlueskySource]:
    made = _source(devenv, brand, sessions)
    yield made
    made.close()


def _source(
    devenv: DevEnv, brand: tuple[Account, str], sessions: Sessions, *, password: str | None = None
) -> BlueskySource:
    account, app_password = brand
    settings = AccountSettings(
        name="brand",
        network="bluesky",
        server=devenv.pds,
        channel="C1",
        poll_seconds=1,
        options={"handle": account.handle},
        secrets={"password": Secret(password or app_password)},
    )
    return BlueskySource(settings, timeout=10, sessions=sessions)


def _target(post: PostRef, author: Account) -> ReplyTarget:
    return ReplyTarget(
        remote_id=post.uri,
        author_handle=author.handle,
        visibility=Visibility.PUBLIC,
        thread_root=post.root_uri,
        extra={
            "uri": post.uri,
            "cid": post.cid,
            "root_uri": post.root_uri,
            "root_cid": post.root_cid,
        },
    )


def _expired(session_json: str) -> str:
    """The stored session with its access token re-signed as expired an hour ago."""
    session = json.loads(session_json)
    header, payload, _ = session["accessJwt"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 3600
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signed = f"{header}.{body}".encode()
    signature = hmac.new(DEVENV_JWT_SECRET, signed, hashlib.sha256).digest()
    session["accessJwt"] = (
        f"{header}.{body}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    )
    return json.dumps(session)


def test_verify_names_the_account(source: BlueskySource, brand: tuple[Account, str]) -> None:
    assert source.verify() == f"@{brand[0].handle}"


def test_a_stored_session_is_used_without_logging_in_again(
    devenv: DevEnv, brand: tuple[Account, str], sessions: Sessions
) -> None:
    first = _source(devenv, brand, sessions)
    first.verify()
    first.close()
    assert sessions.saves == 1
    second = _source(devenv, brand, sessions)
    second.verify()
    second.close()
    assert sessions.saves == 1


def test_an_expired_access_token_is_refreshed_and_the_new_pair_saved(
    devenv: DevEnv, brand: tuple[Account, str], sessions: Sessions
) -> None:
    first = _source(devenv, brand, sessions)
    first.verify()
    first.close()
    old = json.loads(sessions.saved["brand"])
    sessions.saved["brand"] = _expired(sessions.saved["brand"])
    again = _source(devenv, brand, sessions)
    assert again.verify() == f"@{brand[0].handle}"
    again.close()
    new = json.loads(sessions.saved["brand"])
    assert sessions.saves == 2
    assert new["refreshJwt"] != old["refreshJwt"]  # refreshSession rotates it


def test_a_refused_refresh_token_leads_to_a_new_login(
    devenv: DevEnv, brand: tuple[Account, str], sessions: Sessions
) -> None:
    first = _source(devenv, brand, sessions)
    first.verify()
    first.close()
    broken = json.loads(_expired(sessions.saved["brand"]))
    broken["refreshJwt"] = "not-a-token"
    sessions.saved["brand"] = json.dumps(broken)
    again = _source(devenv, brand, sessions)
    assert again.verify() == f"@{brand[0].handle}"
    again.close()
    assert sessions.saves == 2


def test_a_wrong_app_password_is_a_permanent_error_that_says_so(
    devenv: DevEnv, brand: tuple[Account, str], sessions: Sessions
) -> None:
    wrong = _source(devenv, brand, sessions, password="aaaa-bbbb-cccc-dddd")
    with pytest.raises(DeliveryError) as failure:
        wrong.verify()
    wrong.close()
    assert failure.value.permanent
    assert "Invalid identifier or password" in failure.value.reason
    assert "aaaa-bbbb" not in failure.value.reason


def test_a_retried_reply_with_the_same_key_returns_the_first_post(
    devenv: DevEnv, source: BlueskySource, brand: tuple[Account, str]
) -> None:
    customer = devenv.create_account("retry")
    post = devenv.post(customer, f"@{brand[0].handle} hi", mention=brand[0])
    first = source.reply(to=_target(post, customer), text="Hello!", key="retry-key-1")
    second = source.reply(to=_target(post, customer), text="Hello!", key="retry-key-1")
    assert second.remote_id == first.remote_id
    assert source.find_reply(to=_target(post, customer), text="Hello!", key="retry-key-1") == first
    assert source.find_reply(to=_target(post, customer), text="Hello!", key="other") is None
    replies = eventually(lambda: devenv.replies(post.uri), what="the reply")
    assert len(replies) == 1


def test_an_unknown_handle_stays_plain_text(
    devenv: DevEnv, source: BlueskySource, brand: tuple[Account, str]
) -> None:
    customer = devenv.create_account("plain")
    post = devenv.post(customer, f"@{brand[0].handle} who?", mention=brand[0])
    sent = source.reply(to=_target(post, customer), text="Ask @nobody-here.test", key="plain-1")
    assert "facets" not in devenv.record(sent.remote_id)["value"]


def test_history_before_the_first_poll_is_never_fetched_and_new_mentions_are(
    devenv: DevEnv, brand: tuple[Account, str]
) -> None:
    account, _ = brand
    customer = devenv.create_account("history")
    old = devenv.post(customer, f"@{account.handle} old news", mention=account)
    eventually(lambda: old.uri in devenv.notified(account), what="the old mention in the AppView")
    first = _source(devenv, brand, Sessions())
    start = first.fetch(None)
    assert start.posts == []
    new = devenv.post(customer, f"@{account.handle} fresh news", mention=account)
    polled = eventually(lambda: first.fetch(start.cursor).posts, what="the new mention")
    assert [p.remote_id for p in polled] == [new.uri]
    first.close()
    # After a restart (nothing in memory) the first start's history stays history.
    restarted = _source(devenv, brand, Sessions())
    assert old.uri not in [p.remote_id for p in restarted.fetch(start.cursor).posts]
    restarted.close()
