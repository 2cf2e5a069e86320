"""No length check stalls the bot: every counter finishes within 100 ms on hostile text.

The counters run inside the Slack request that accepts a reply. Nothing here reads a clock:
hypothesis fails an example that runs over its deadline (after re-running it to be sure),
and the strategies are the inputs that make URL and grapheme scanners backtrack.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.config import AccountSettings, Secret
from bot.sandbox.mastodon_api import FakeMastodon
from bot.sources import Source
from bot.sources.bluesky.source import BlueskySource
from bot.sources.mastodon.source import MastodonSource
from bot.sources.x.source import XSource
from bot.sources.x.text import MAX_WEIGHTED_LENGTH, comparable_text, x_weighted_length
from bot.textlength import UNCOUNTED_FACTOR, refusal_key
from tests.bluesky.fake_pds import HANDLE, PASSWORD, FakePds
from tests.fakes.x_api import FakeX

FAMILY = "👨\u200d👩\u200d👧\u200d👦"
UNITS = [
    "a.", "ab.", ".", "a-.", "a_.", "-", "日.", "é.", "日", "😀", FAMILY, "🇩🇪", "#️⃣", "\u0301",
    "\u200d", "https://", "http://a.", "https://a.com/", "(a)", "(", ")", "/", "?", "=", "@a",
    "@a@b.", "a.co.", "1.", "xn--", "#", "a.com?", "www.", " ", "\n", "é", "a" * 63 + ".",
]  # fmt: skip
BOUNDED = settings(
    deadline=timedelta(milliseconds=100),
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def hostile(size: int) -> st.SearchStrategy[str]:
    """Runs of one to four units up to `size` characters, mixtures of units, any text."""
    runs = st.builds(
        lambda units, times: ("".join(units) * times)[:size],
        st.lists(st.sampled_from(UNITS), min_size=1, max_size=4),
        st.integers(1, size),
    )
    mixtures = st.lists(st.sampled_from(UNITS), max_size=size // 2).map(lambda u: "".join(u)[:size])
    return st.one_of(runs, mixtures, st.text(max_size=size))


X_SIZE = UNCOUNTED_FACTOR * MAX_WEIGHTED_LENGTH


@BOUNDED
@given(hostile(X_SIZE))
@example("a." * (X_SIZE // 2))
@example("https://" + "a." * (X_SIZE // 2 - 4))
@example(("a." * 10 + "-a.com") * (X_SIZE // 26))
@example("https://a.com/" + "(a)" * (X_SIZE // 3 - 5) + "!")
@example(("日" * 62 + ".") * (X_SIZE // 63))
def test_the_x_count_of_any_text_up_to_ten_times_the_limit_is_quick(text: str) -> None:
    count = x_weighted_length(text)
    assert count <= 2 * len(text) + 23 * text.count(".")
    comparable_text(text)


@pytest.fixture(scope="module")
def x_source() -> Iterator[XSource]:
    with FakeX() as fake:
        account = AccountSettings(
            name="acme-x",
            network="x",
            server=fake.base_url,
            channel="C1",
            poll_seconds=60,
            secrets={"token": Secret(fake.access_token)},
        )
        source = XSource(account, timeout=2.0, sessions=None)
        yield source
        source.close()


@pytest.fixture(scope="module")
def mastodon_source() -> Iterator[MastodonSource]:
    with FakeMastodon(rate_limit=None) as fake:
        account = AccountSettings(
            name="acme-mastodon",
            network="mastodon",
            server=fake.base_url,
            channel="C1",
            poll_seconds=60,
            secrets={"token": Secret(fake.token)},
        )
        source = MastodonSource(account, timeout=2.0)
        source.measure("")  # the instance's limits, fetched once
        yield source
        source.close()


@pytest.fixture(scope="module")
def bluesky_source() -> Iterator[BlueskySource]:
    with FakePds() as pds:
        account = AccountSettings(
            name="brand",
            network="bluesky",
            server=pds.base_url,
            channel="C1",
            poll_seconds=1,
            options={"handle": HANDLE},
            secrets={"password": Secret(PASSWORD)},
        )
        source = BlueskySource(account, timeout=1, sessions=None)
        yield source
        source.close()


@BOUNDED
@given(st.one_of(hostile(4 * X_SIZE), st.integers(1, 20_000).map(lambda n: "a." * n)))
@example("https://" + "a." * 2490 + "!")
@example("@a" * 2500)
@example("http://a." * 555)
@example("a" + "\u0301" * 4999)
@example("\u200d" * 1001)  # one grapheme of 3,003 UTF-8 bytes: more than Bluesky takes
def test_every_source_measures_any_slack_message_quickly(
    x_source: XSource,
    mastodon_source: MastodonSource,
    bluesky_source: BlueskySource,
    text: str,
) -> None:
    """Slack allows 40,000 characters in a message; anything that long is refused at once."""
    for source in (x_source, mastodon_source, bluesky_source):
        verdict = source.measure(text)
        assert verdict.counted is (len(text) <= UNCOUNTED_FACTOR * verdict.limit)
        assert verdict.fits is (verdict.count <= verdict.limit)


@pytest.mark.parametrize(
    ("network", "limit"), [("x", MAX_WEIGHTED_LENGTH), ("mastodon", 500), ("bluesky", 300)]
)
def test_a_reply_over_ten_times_the_limit_is_refused_without_a_count(
    x_source: XSource,
    mastodon_source: MastodonSource,
    bluesky_source: BlueskySource,
    network: str,
    limit: int,
) -> None:
    sources: dict[str, Source] = {
        "x": x_source,
        "mastodon": mastodon_source,
        "bluesky": bluesky_source,
    }
    source = sources[network]
    at_the_bound = source.measure("a" * (UNCOUNTED_FACTOR * limit))
    assert (at_the_bound.count, at_the_bound.counted) == (UNCOUNTED_FACTOR * limit, True)
    verdict = source.measure("a" * (UNCOUNTED_FACTOR * limit + 1))
    assert (verdict.count, verdict.limit, verdict.counted, verdict.fits) == (
        UNCOUNTED_FACTOR * limit,
        limit,
        False,
        False,
    )
    assert refusal_key(verdict) == "reply.far_too_long"
