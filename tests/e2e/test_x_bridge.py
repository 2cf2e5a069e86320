"""X <-> Slack end to end: the bot as a process, the fake X API v2 and fake Slack on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.harness import Scene, eventually, scene
from tests.fakes.x_api import FakeX


@dataclass
class XWorld:
    scene: Scene
    x: FakeX

    def mention(self, username: str, text: str, **kwargs: Any) -> tuple[dict[str, Any], Any]:
        """A customer mentions the brand; returns the Post and its card in Slack."""
        customer = self.x.add_user(username, username.title())
        tweet = self.x.customer_tweets(customer, text, **kwargs)
        return tweet, self.scene.card_for(text)

    def thread_notices(self, card: dict[str, Any]) -> list[dict[str, Any]]:
        thread = self.scene.slack.thread(self.scene.channel, str(card["ts"]))
        return [m for m in thread if m.get("bot_id")]

    def reacted(self, event: dict[str, Any]) -> bool:
        message = self.scene.slack.message(self.scene.channel, str(event["ts"]))
        return bool(message and message.get("reactions"))


def x_account(server: str) -> str:
    return f"""
[[accounts]]
name = "acme-x"
network = "x"
server = "{server}"
token_env = "ACME_X_TOKEN"
refresh_token_env = "ACME_X_REFRESH_TOKEN"
client_id_env = "ACME_X_CLIENT_ID"
channel = "#social"
poll_seconds = 0.2
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XWorld]:
    # No rate limiting in the fake here: polling every 0.2 s would use up the real 300 per
    # 15 minutes within a minute; the limit's answers are tested with queued faults instead.
    with FakeX(rate_limits=None) as x:
        env = {
            "ACME_X_TOKEN": x.access_token,
            "ACME_X_REFRESH_TOKEN": x.refresh_token,
            "ACME_X_CLIENT_ID": x.client_id,
        }
        with scene(
            tmp_path_factory.mktemp("x-bridge"),
            extra_accounts=x_account(x.base_url),
            extra_env=env,
        ) as running:
            yield XWorld(scene=running, x=x)


def test_a_mention_becomes_a_card_with_the_author_and_a_link(world: XWorld) -> None:
    tweet, card = world.mention("alice", "my order 1234 never arrived on X")
    blocks = str(card["blocks"])
    assert "Alice" in blocks and "@alice" in blocks
    assert f"https://x.com/alice/status/{tweet['id']}" in blocks
    assert card["text"].startswith("New X mention from Alice")


def test_a_reply_goes_to_the_latest_post_of_the_thread(world: XWorld) -> None:
    first, card = world.mention("bob", "is the shop open on Sunday?")
    follow = world.x.customer_tweets("bob", "asking for the Berlin shop", in_reply_to=first["id"])
    eventually(
        lambda: len(world.scene.slack.thread(world.scene.channel, card["ts"])) >= 1,
        what="the follow-up in the card's thread",
    )
    world.scene.reply_in_thread(
        card, "Yes, 10 to 4 &amp; see <https://acme.example.com/hours|hours>"
    )
    [reply] = eventually(lambda: world.x.replies_to(follow["id"]), what="the reply on X")

    def creating_calls() -> list[Any]:
        return [
            c
            for c in world.x.calls("POST /2/tweets")
            if c.response and c.response["data"]["id"] == reply["id"]
        ]

    # The fake stores the tweet before it records its answer on the call: wait for both.
    eventually(creating_calls, what="the answered POST that created the reply")
    [call] = creating_calls()
    assert call.params["reply"] == {"in_reply_to_tweet_id": follow["id"]}
    text = str(call.params["text"])
    assert text.startswith("Yes, 10 to 4 & see") and "https://acme.example.com/hours" in text
    assert not text.startswith("@")  # X puts "@bob" in front by itself
    brand = world.x.brand["id"]
    assert [r for r in world.x.replies_to(first["id"]) if r["author_id"] == brand] == []


def test_x_refusing_a_reply_is_explained_in_the_thread(world: XWorld) -> None:
    tweet, card = world.mention("carol", "overheard: acme is slow", summons=False)
    world.scene.reply_in_thread(card, "Sorry to hear that, Carol!")
    notices = eventually(
        lambda: [m for m in world.thread_notices(card) if "Not sent" in m["text"]],
        what="the refusal in the thread",
    )
    assert "only lets this account reply to people who mentioned or quoted it" in notices[0]["text"]
    assert world.x.replies_to(tweet["id"]) == []


def test_a_429_waits_for_the_rate_limit_reset_and_then_sends(world: XWorld) -> None:
    tweet, card = world.mention("dave", "any discount codes?")
    world.x.faults.fail("POST /2/tweets", status=429, retry_after=2)
    event = world.scene.reply_in_thread(card, "Try SPRING10, Dave.")
    eventually(lambda: world.x.replies_to(tweet["id"]), what="the reply after the 429")
    eventually(lambda: world.reacted(event), what="the sent reaction")
    limited, sent = world.x.calls("POST /2/tweets")[-2:]
    assert (limited.status, sent.status) == (429, 201)
    # The 429 said x-rate-limit-reset = at least 2 s after the request (no Retry-After, as
    # on X); the retry must not come before it.
    assert sent.time >= limited.time + 2
    assert len(world.x.replies_to(tweet["id"])) == 1


def test_a_timeout_after_x_accepted_the_reply_posts_it_once(world: XWorld) -> None:
    tweet, card = world.mention("erin", "where is my parcel?")
    world.x.faults.hang("POST /2/tweets", 5.0)
    event = world.scene.reply_in_thread(card, "It left the warehouse today, Erin.")
    eventually(lambda: world.reacted(event), timeout=20, what="the reply marked as sent")
    assert len(world.x.replies_to(tweet["id"])) == 1
    posts = [c for c in world.x.calls("POST /2/tweets") if "Erin" in str(c.params.get("text"))]
    assert len(posts) == 1  # found by looking at our own Posts, not sent again
    assert world.x.calls("GET /2/users/:id/tweets")


def test_a_reply_that_backtracks_twitter_text_is_refused_at_once_with_its_count(
    world: XWorld,
) -> None:
    # twitter-text's URL regex needs ~25 s for this text; the count runs inside the request.
    tweet, card = world.mention("erin", "how long may a reply be?")
    world.scene.reply_in_thread(card, "a." * 1400)
    notices = eventually(
        lambda: [m for m in world.thread_notices(card) if "Not sent" in m["text"]],
        timeout=10,
        what="the refusal in the thread",
    )
    assert "X allows 280 characters and this reply has 2800." in notices[0]["text"]
    assert world.x.replies_to(tweet["id"]) == []
