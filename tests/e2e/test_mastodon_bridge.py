"""Mastodon <-> Slack end to end: the bot as a process, real HTTP on loopback both ways."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from tests.e2e.harness import Scene, eventually, scene


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(tmp_path_factory.mktemp("bridge")) as running:
        yield running


def test_a_mention_becomes_a_card_in_the_channel(world: Scene) -> None:
    alice = world.mastodon.add_account("alice", "Alice A.", domain="remote.example")
    status = world.mastodon.customer_posts(alice, "@acme my order 1234 never arrived")
    card = world.card_for("my order 1234 never arrived")
    blocks = str(card["blocks"])
    assert "Alice A." in blocks and "@alice@remote.example" in blocks
    assert status["url"] in blocks
    assert card.get("thread_ts") in (None, card["ts"])


def test_a_follow_up_lands_in_the_same_thread(world: Scene) -> None:
    bob = world.mastodon.add_account("bob", "Bob", domain="remote.example")
    first = world.mastodon.customer_posts(bob, "@acme where is my refund?")
    card = world.card_for("where is my refund?")
    world.mastodon.customer_posts(bob, "@acme any news on the refund?", in_reply_to_id=first["id"])
    thread = eventually(
        lambda: world.slack.thread(world.channel, card["ts"]), what="the follow-up in the thread"
    )
    assert "any news on the refund?" in thread[0]["text"]


def test_a_thread_reply_goes_back_as_a_reply_with_the_mention(world: Scene) -> None:
    carol = world.mastodon.add_account("carol", "Carol", domain="remote.example")
    status = world.mastodon.customer_posts(carol, "@acme is the shop open on Sunday?")
    card = world.card_for("is the shop open on Sunday?")
    world.reply_in_thread(card, "Yes, 10 to 4 &amp; see <https://acme.example/hours|our hours>")
    eventually(lambda: world.statuses_replying_to(status["id"]), what="the reply")
    world.settle()
    [reply] = world.statuses_replying_to(status["id"])
    assert reply["visibility"] == "public"
    text = world.posted_text(reply)
    assert text.startswith("@carol@remote.example Yes, 10 to 4 & see our hours")
    assert "https://acme.example/hours" in text


def _conversation(
    world: Scene, handle: str, text: str, **kwargs: object
) -> tuple[dict[str, object], dict[str, object]]:
    customer = world.mastodon.add_account(handle, handle.title(), domain="remote.example")
    status = world.mastodon.customer_posts(customer, f"@acme {text}", **kwargs)  # type: ignore[arg-type]
    return status, world.card_for(text)


def test_the_same_slack_event_delivered_three_times_posts_one_status(world: Scene) -> None:
    status, card = _conversation(world, "dave", "please cancel my subscription")
    event = world.slack.user_posts(
        world.channel, world.staff, "Done, it is cancelled.", thread_ts=str(card["ts"])
    )
    for retry in (None, 1, 2):
        delivery = world.events.event(event, event_id="Ev0DUPLICATE", retry_num=retry)
        assert delivery.status == 200
    eventually(lambda: world.statuses_replying_to(str(status["id"])), what="the reply")
    eventually(lambda: _reacted(world, event), what="the sent reaction")
    assert len(world.statuses_replying_to(str(status["id"]))) == 1


def _reacted(world: Scene, event: dict[str, object]) -> bool:
    message = world.slack.message(world.channel, str(event["ts"]))
    return bool(message and message.get("reactions"))


def test_a_sent_reply_is_marked_and_the_card_says_answered(world: Scene) -> None:
    _status, card = _conversation(world, "erin", "do you ship to Norway?")
    event = world.reply_in_thread(card, "We do!")
    eventually(lambda: _reacted(world, event), what="the sent reaction")
    updated = eventually(
        lambda: [c for c in world.slack.calls("chat.update") if c.params.get("ts") == card["ts"]],
        what="a chat.update of the card",
    )
    assert "Answered" in str(updated[-1].params["blocks"])


def test_an_internal_note_stays_in_slack(world: Scene) -> None:
    status, card = _conversation(world, "frank", "my parcel is damaged")
    world.reply_in_thread(card, "note: ask the warehouse first")
    world.reply_in_thread(card, ";; also check the courier")
    world.reply_in_thread(card, "Sorry to hear that, we will send a new one.")
    replies = eventually(lambda: world.statuses_replying_to(str(status["id"])), what="reply")
    assert [world.posted_text(r) for r in replies] == [
        "@frank@remote.example Sorry to hear that, we will send a new one."
    ]


def test_messages_from_bots_are_ignored(world: Scene) -> None:
    status, card = _conversation(world, "gina", "is there a discount code?")
    event = world.slack.user_posts(
        world.channel, world.staff, "Try SAVE10", thread_ts=str(card["ts"])
    )
    event["bot_id"] = "B0OTHER"
    event["subtype"] = "bot_message"
    assert world.events.event(event).status == 200
    own = dict(event, user=world.slack.bot_user_id, bot_id=world.slack.bot_id)
    assert world.events.event(own).status == 200
    world.reply_in_thread(card, "A human answer")
    eventually(lambda: world.statuses_replying_to(str(status["id"])), what="the human reply")
    texts = [world.posted_text(r) for r in world.statuses_replying_to(str(status["id"]))]
    assert texts == ["@gina@remote.example A human answer"]


def test_an_over_long_reply_is_refused_with_the_limit_and_the_count(world: Scene) -> None:
    status, card = _conversation(world, "hank", "tell me everything")
    world.reply_in_thread(card, "x" * 520)
    notice = eventually(
        lambda: [
            m
            for m in world.slack.thread(world.channel, str(card["ts"]))
            if m.get("bot_id") and "Not sent" in m["text"]
        ],
        what="the refusal in the thread",
    )
    # 520 characters plus "@hank@remote.example " counted as "@hank " (Mastodon's rule).
    assert "500" in notice[0]["text"] and "526" in notice[0]["text"]
    assert world.statuses_replying_to(str(status["id"])) == []


def test_a_reply_over_ten_times_the_limit_is_refused_without_a_count(world: Scene) -> None:
    status, card = _conversation(world, "hedy", "write me a book")
    world.reply_in_thread(card, "word " * 1200)
    notice = eventually(
        lambda: [
            m
            for m in world.slack.thread(world.channel, str(card["ts"]))
            if m.get("bot_id") and "Not sent" in m["text"]
        ],
        what="the refusal in the thread",
    )
    assert "allows 500 characters and this reply has more than 5,000." in notice[0]["text"]
    assert world.statuses_replying_to(str(status["id"])) == []


INJECTIONS = "<!channel> <!here> <@U123> <https://evil.example|bank> &lt;b&gt;"


def test_injection_strings_in_a_toot_notify_nobody_and_link_nowhere(world: Scene) -> None:
    ivan = world.mastodon.add_account("ivan", "<!everyone> Ivan", domain="remote.example")
    world.mastodon.customer_posts(ivan, f"@acme hello {INJECTIONS}")
    card = world.card_for("hello")
    sent = [
        c for c in world.slack.calls("chat.postMessage") if c.params.get("text") == card["text"]
    ]
    payload = str(sent[-1].params)
    for raw in ("<!channel>", "<!here>", "<@U123>", "<https://evil.example", "<!everyone>"):
        assert raw not in payload
    assert "&lt;!channel&gt;" in card["text"]


def test_a_private_mention_is_marked_and_answered_privately(world: Scene) -> None:
    status, card = _conversation(world, "judy", "my account email is judy@x", visibility="direct")
    assert "Private mention" in str(card["blocks"])
    world.reply_in_thread(card, "Thanks, we fixed it.")
    replies = eventually(lambda: world.statuses_replying_to(str(status["id"])), what="reply")
    assert replies[0]["visibility"] == "direct"


def test_unsigned_and_stale_requests_get_401_and_store_nothing(world: Scene) -> None:
    status, card = _conversation(world, "kim", "hello there")
    forged = world.slack.user_posts(world.channel, world.staff, "forged", thread_ts=str(card["ts"]))
    assert world.events.event(forged, bad_signature=True).status == 401
    assert world.events.event(forged, stale=True).status == 401
    world.reply_in_thread(card, "the real one")
    eventually(lambda: world.statuses_replying_to(str(status["id"])), what="the real reply")
    texts = [world.posted_text(r) for r in world.statuses_replying_to(str(status["id"]))]
    assert texts == ["@kim@remote.example the real one"]


def test_slack_429_and_mastodon_500_are_retried_until_delivered(world: Scene) -> None:
    world.slack.faults.fail("chat.postMessage", status=429, retry_after=1, count=1)
    status, card = _conversation(world, "lee", "anyone there?")
    world.mastodon.faults.fail("POST /api/v1/statuses", status=500, count=2)
    world.reply_in_thread(card, "Yes, here!")
    eventually(lambda: world.statuses_replying_to(str(status["id"])), what="reply")
    world.settle()
    assert len(world.statuses_replying_to(str(status["id"]))) == 1
    assert [c.status for c in world.mastodon.calls("POST /api/v1/statuses")][-3:] == [500, 500, 200]


def test_metrics_count_mentions_replies_and_show_the_queue(world: Scene) -> None:
    status, card = _conversation(world, "mia", "metrics please")
    world.reply_in_thread(card, "Here you are")
    eventually(lambda: world.statuses_replying_to(str(status["id"])), what="the reply")

    def scrape() -> str | None:
        with urllib.request.urlopen(f"{world.bot.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        return text if 'socialbridge_replies_sent_total{account="acme-mastodon"}' in text else None

    text = eventually(scrape, what="the reply counted in /metrics")
    assert 'socialbridge_mentions_ingested_total{account="acme-mastodon"}' in text
    assert "socialbridge_queue_depth" in text
    assert 'socialbridge_delivery_latency_seconds_bucket{kind="send_reply"' in text
