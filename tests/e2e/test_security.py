"""Nobody in: only channel members (and the allow-list) answer in public; no secret leaks."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Scene, eventually, scene

ALLOWED = "U0ALLOWED"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(
        tmp_path_factory.mktemp("security"),
        extra_slack=f'channel_posts_per_second = 100\nallowed_users = ["{ALLOWED}"]',
    ) as running:
        running.slack.add_user("allowed", id=ALLOWED, channels=[running.channel])
        yield running


def _card(world: Scene, handle: str, text: str) -> tuple[str, dict[str, object]]:
    customer = world.mastodon.add_account(handle, handle.title(), domain="remote.example")
    status = world.mastodon.customer_posts(customer, f"@acme {text}")
    return str(status["id"]), world.card_for(text)


def _notice(world: Scene, card: dict[str, object], words: str) -> str:
    found = eventually(
        lambda: [
            m["text"]
            for m in world.slack.thread(world.channel, str(card["ts"]))
            if m.get("bot_id") and words in m["text"]
        ],
        what=f"a notice saying {words!r}",
    )
    return str(found[0])


def test_a_reply_from_outside_the_channel_is_refused_in_the_thread(world: Scene) -> None:
    status_id, card = _card(world, "nina", "who answers here?")
    outsider = world.slack.add_user("outsider")  # in the workspace, not in the channel
    world.slack.add_member(world.channel, outsider)
    event = world.slack.user_posts(world.channel, outsider, "I do!", thread_ts=str(card["ts"]))
    world.slack.remove_member(world.channel, outsider)  # left before the bot checked
    assert world.events.event(event).status == 200
    assert "only members of this channel" in _notice(world, card, "Not sent")
    world.reply_in_thread(card, "The team does.", user=ALLOWED)
    replies = eventually(lambda: world.statuses_replying_to(status_id), what="the reply")
    assert [world.posted_text(r) for r in replies] == ["@nina@remote.example The team does."]


def test_a_member_not_on_the_allow_list_is_refused(world: Scene) -> None:
    status_id, card = _card(world, "omar", "can anyone reply?")
    world.reply_in_thread(card, "Not me, I am not on the list")  # Dana: a member, not listed
    assert "on the allow-list" in _notice(world, card, "Not sent")
    assert world.statuses_replying_to(status_id) == []


def test_no_secret_appears_in_logs_check_output_or_healthz(world: Scene) -> None:
    secrets = [world.slack.token, world.mastodon.token, "e2e-signing-secret-0123456789"]
    # Make the secrets likely to be near a log line: a failing request and a bad signature.
    world.mastodon.faults.fail("/api/v1/notifications", status=401, count=2)
    _card(world, "pia", "anything")
    forged = world.slack.user_posts(world.channel, world.staff, "x")
    world.events.event(forged, bad_signature=True)
    with urllib.request.urlopen(f"{world.bot.url}/healthz", timeout=5) as response:
        health = response.read().decode()
    with urllib.request.urlopen(f"{world.bot.url}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    check = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env=world.bot.env,
        cwd=world.bot.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for text, where in (
        (world.bot.log(), "log"),
        (health, "/healthz"),
        (metrics, "/metrics"),
        (check.stdout + check.stderr, "check"),
    ):
        for secret in secrets:
            assert secret not in text, f"a secret appears in {where}"
    assert Path(world.bot.log_path).stat().st_size > 0


def _post_raw(url: str, head: bytes, body: bytes) -> tuple[int, bytes]:
    """Send a request as a careless or hostile client would: the body goes out in a thread
    (the server may stop reading it), the answer is read meanwhile."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:

        def send_body() -> None:
            with contextlib.suppress(OSError):
                sock.sendall(body)

        sock.sendall(head)
        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        answer = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        sender.join(10)
    status_line = answer.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), answer


def test_a_body_over_one_mib_is_answered_413_and_the_bot_carries_on(world: Scene) -> None:
    body = b'{"type": "event_callback", "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    status, _ = _post_raw(f"{world.bot.url}/slack/events", head, body)
    assert status == 413
    with urllib.request.urlopen(f"{world.bot.url}/healthz", timeout=5) as response:
        assert response.status == 200
    status_id, card = _card(world, "quinn", "still there after the big one?")
    world.reply_in_thread(card, "Yes, still here.", user=ALLOWED)
    replies = eventually(lambda: world.statuses_replying_to(status_id), what="the reply")
    assert [world.posted_text(r) for r in replies] == ["@quinn@remote.example Yes, still here."]


OPS_TOKEN = "ops-token-0123456789abcdef"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with scene(
        tmp_path_factory.mktemp("ops"), extra_env={"SOCIALBRIDGE_OPS_TOKEN": OPS_TOKEN}
    ) as running:
        yield running


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {OPS_TOKEN}", OPS_TOKEN]
)
def test_with_an_ops_token_metrics_need_it(guarded: Scene, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    status, body = _get(f"{guarded.bot.url}/metrics", headers)
    assert status == 401 and b"socialbridge" not in body
    status, body = _get(f"{guarded.bot.url}/metrics", guarded.bot.ops_headers())
    assert status == 200 and b"socialbridge" in body


def test_with_an_ops_token_healthz_shows_only_its_status_to_others(guarded: Scene) -> None:
    status, body = _get(f"{guarded.bot.url}/healthz", {"Authorization": "Bearer wrong"})
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, body = _get(f"{guarded.bot.url}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    details = guarded.bot.health()  # sends the token
    assert details["status"] == "ok" and details["queue_depth"] == 0
    assert [a["name"] for a in details["accounts"]] == ["acme-mastodon"]
    assert OPS_TOKEN not in guarded.bot.log()
