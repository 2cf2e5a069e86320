"""Socket Mode, the default, end to end: the bot as a process connected to the fake Socket
Mode server, every Slack event, command and ack over the WebSocket, through a dropped socket
and a `refresh_requested` disconnect."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from bot.sandbox.slack_api import FakeSlack
from tests.e2e.harness import Scene, eventually, scene
from tests.fakes.slack_socket import FakeSocketMode


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(tmp_path_factory.mktemp("socket"), socket_mode=True) as running:
        yield running


def _socket(world: Scene) -> FakeSocketMode:
    assert world.socket is not None
    return world.socket


def _card(world: Scene, handle: str, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    customer = world.mastodon.add_account(handle, handle.title(), domain="remote.example")
    status = world.mastodon.customer_posts(customer, f"@acme {text}")
    return status, world.card_for(text)


def _replies(world: Scene, status: dict[str, Any]) -> list[str]:
    return [world.posted_text(r) for r in world.statuses_replying_to(str(status["id"]))]


def test_a_mention_becomes_a_card_and_a_thread_reply_a_status(world: Scene) -> None:
    status, card = _card(world, "sora", "is my order on its way?")
    world.reply_in_thread(card, "It left the warehouse today.")
    eventually(lambda: world.statuses_replying_to(str(status["id"])), what="the reply")
    world.settle()
    assert _replies(world, status) == ["@sora@remote.example It left the warehouse today."]
    assert _socket(world).unacked() == []


def test_a_claim_by_reaction_arrives_through_the_socket(world: Scene) -> None:
    _status, card = _card(world, "tomo", "my invoice is wrong")
    event = world.slack.user_reacts(world.channel, str(card["ts"]), world.staff, "eyes")
    assert world.events.event(event).status == 200
    eventually(
        lambda: world.conversation(str(card["ts"])).assignee == world.staff, what="the claim"
    )
    eventually(
        lambda: any(
            f"Claimed by <@{world.staff}>" in str(u["blocks"])
            for u in world.card_updates(str(card["ts"]))
        ),
        what="the card saying who claimed it",
    )


def test_social_stats_is_acked_on_the_socket_and_answered_once(world: Scene) -> None:
    url = world.slack.new_response_url()
    delivery = world.events.command(
        "/social", "stats today", user_id=world.staff, channel_id=world.channel, response_url=url
    )
    assert delivery.status == 200, delivery.error
    [answer] = eventually(lambda: world.slack.responses(url), what="the stats answer")
    assert answer["response_type"] == "ephemeral"
    assert "stats" in answer["text"].lower() or "opened" in str(answer["blocks"]).lower()
    world.settle()
    assert len(world.slack.responses(url)) == 1


def test_a_dropped_socket_and_a_refresh_lose_nothing_and_post_nothing_twice(
    world: Scene,
) -> None:
    socket = _socket(world)
    cards = [_card(world, handle, f"question from {handle}") for handle in ("uma", "vic", "wes")]
    before = len(socket.sent())
    connections = socket.connections

    with ThreadPoolExecutor(max_workers=3) as pool:
        # The first two are handled but their acks never reach Slack; then the socket dies.
        socket.lose_acks(2)
        first = [_reply_later(pool, world, cards[n][1], f"answer {n}") for n in (0, 1)]
        eventually(lambda: _handled(world, cards[:2]), what="both replies handled once")
        socket.drop()
        eventually(lambda: socket.connections > connections, what="a reconnect after the drop")
        # Then Slack retires the new connection while the third envelope is unacked.
        socket.lose_acks(1)
        third = _reply_later(pool, world, cards[2][1], "answer 2")
        eventually(lambda: _handled(world, cards[2:]), what="the third reply handled")
        socket.refresh()
        deliveries = [f.result(timeout=60) for f in (*first, third)]

    assert [d.status for d in deliveries] == [200, 200, 200]
    world.settle()
    for n, handle in enumerate(("uma", "vic", "wes")):
        assert _replies(world, cards[n][0]) == [f"@{handle}@remote.example answer {n}"]
    assert socket.unacked() == []
    assert socket.connections >= connections + 2  # after the drop and after the refresh
    # Each connection used a URL of its own (they are single-use); the client may fetch one
    # it then replaces before connecting.
    assert len(world.slack.calls("apps.connections.open")) >= socket.connections
    redelivered = [s for s in socket.sent()[before:] if s.retry_attempt > 0]
    assert {s.retry_reason for s in redelivered} == {"timeout"}
    assert len({s.envelope_id for s in redelivered}) == 3  # every reply came at least twice


def _reply_later(
    pool: ThreadPoolExecutor, world: Scene, card: dict[str, Any], text: str
) -> Future[Any]:
    """A person replies; the delivery waits for its ack in the background."""
    event = world.slack.user_posts(world.channel, world.staff, text, thread_ts=str(card["ts"]))
    # A redelivery waits for the next connection, so give the ack longer than HTTP's 10 s.
    return pool.submit(lambda: world.events.event(event, timeout=60))


def _handled(world: Scene, cards: list[tuple[dict[str, Any], dict[str, Any]]]) -> bool:
    return all(world.statuses_replying_to(str(status["id"])) for status, _ in cards)


def test_apps_connections_open_wants_the_app_token() -> None:
    with FakeSocketMode() as socket, FakeSlack(socket_mode=socket.issue_url) as slack:
        assert _open(slack, slack.app_token)["url"].startswith("ws://")
        assert _open(slack, slack.token) == {"ok": False, "error": "not_allowed_token_type"}
        assert _open(slack, "xapp-1-wrong") == {"ok": False, "error": "invalid_auth"}
        chat = _call(slack, "chat.postMessage", slack.app_token, channel="C1", text="hi")
        assert chat == {"ok": False, "error": "not_allowed_token_type"}


def _open(slack: FakeSlack, token: str) -> dict[str, Any]:
    return _call(slack, "apps.connections.open", token)


def _call(slack: FakeSlack, method: str, token: str, **params: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{slack.api_url}{method}",
        data=json.dumps(params).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as response:
        return dict(json.load(response))
