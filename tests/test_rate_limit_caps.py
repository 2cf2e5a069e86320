"""A server that says "come back in 11 days" is waited for 15 minutes at most.

Each fake answers 429 the way its service does (Slack and Mastodon with Retry-After, X with
x-rate-limit-reset, Bluesky with ratelimit-reset); the wait the bot would take is the
RateLimited error's `retry_after`, asserted exactly, never a clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.config import AccountSettings, Secret
from bot.domain import MAX_RETRY_AFTER_SECONDS, RateLimited
from bot.sandbox.mastodon_api import FakeMastodon
from bot.sandbox.slack_api import FakeSlack
from bot.slack.api import SlackApi
from bot.sources.bluesky.source import BlueskySource
from bot.sources.mastodon.source import MastodonSource
from bot.sources.x.source import XSource
from tests.bluesky.fake_pds import HANDLE, PASSWORD, FakePds
from tests.fakes.x_api import FakeX

ELEVEN_DAYS = 999_999


def account(network: str, server: str, **secrets: str) -> AccountSettings:
    return AccountSettings(
        name=f"acme-{network}",
        network=network,
        server=server,
        channel="C1",
        poll_seconds=60,
        options={"handle": HANDLE} if network == "bluesky" else {},
        secrets={key: Secret(value) for key, value in secrets.items()},
    )


def test_slack_retry_after_is_capped_at_fifteen_minutes() -> None:
    with FakeSlack() as slack:
        channel = slack.add_channel("social")
        api = SlackApi(WebClient(token=slack.token, base_url=slack.api_url))
        slack.faults.fail("chat.postMessage", status=429, retry_after=ELEVEN_DAYS)
        with pytest.raises(RateLimited) as limited:
            api.post(channel=channel, text="hello")
    assert limited.value.retry_after == MAX_RETRY_AFTER_SECONDS == 900


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon(rate_limit=None) as fake:
        yield fake


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": str(ELEVEN_DAYS)}, {"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}],
)
def test_mastodon_retry_after_in_seconds_or_as_a_date_is_capped(
    mastodon: FakeMastodon, headers: dict[str, str]
) -> None:
    source = MastodonSource(account("mastodon", mastodon.base_url, token=mastodon.token), timeout=2)
    cursor = source.fetch(None).cursor
    mastodon.faults.fail("GET /api/v1/notifications", status=429, headers=headers)
    with pytest.raises(RateLimited) as limited:
        source.fetch(cursor)
    source.close()
    assert limited.value.retry_after == MAX_RETRY_AFTER_SECONDS


def test_x_rate_limit_reset_far_ahead_is_capped() -> None:
    with FakeX() as fake:
        source = XSource(account("x", fake.base_url, token=fake.access_token), timeout=2.0)
        cursor = source.fetch(None).cursor
        fake.faults.fail("GET /2/users/:id/mentions", status=429, retry_after=ELEVEN_DAYS)
        with pytest.raises(RateLimited) as limited:
            source.fetch(cursor)
        source.close()
    assert limited.value.retry_after == MAX_RETRY_AFTER_SECONDS


def test_bluesky_ratelimit_reset_far_ahead_is_capped_and_so_is_the_wait_it_keeps() -> None:
    with FakePds() as pds:
        source = BlueskySource(account("bluesky", pds.base_url, password=PASSWORD), timeout=1)
        cursor = source.fetch(None).cursor
        pds.faults.fail(
            "app.bsky.notification.listNotifications",
            status=429,
            headers={
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(time.time()) + ELEVEN_DAYS),
            },
        )
        with pytest.raises(RateLimited) as limited:
            source.fetch(cursor)
        with pytest.raises(RateLimited) as remembered:  # not asked again: the kept wait
            source.fetch(cursor)
        source.close()
    assert limited.value.retry_after == MAX_RETRY_AFTER_SECONDS
    assert 0 < (remembered.value.retry_after or 0) <= MAX_RETRY_AFTER_SECONDS
