"""The bot as a real process (`python -m bot run`, HTTP or Socket Mode) between loopback fakes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import col, select

from bot.sandbox.mastodon_api import FakeMastodon
from bot.sandbox.slack_api import EventSender, FakeSlack
from bot.store import Conversation, Store
from tests.fakes.slack_socket import FakeSocketMode, SocketEventSender

SIGNING_SECRET = "e2e-signing-secret-0123456789"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(check: Callable[[], T | None], *, timeout: float = 20.0, what: str = "") -> T:
    """Poll until `check` returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.02)


def config_text(
    *,
    port: int,
    mastodon_url: str,
    channel: str,
    mode: str = "http",
    send_delay: float = 0.0,
    poll_seconds: float = 0.2,
    extra_slack: str = "",
    delivery: str = "",
) -> str:
    return f"""
[slack]
mode = "{mode}"
http_host = "127.0.0.1"
http_port = {port}
send_delay_seconds = {send_delay}
{extra_slack or "channel_posts_per_second = 100  # the fake Slack does not throttle"}

[delivery]
workers = 4
lease_seconds = 5
http_timeout_seconds = 2
backoff_base_seconds = 0.2
backoff_max_seconds = 2
{delivery}

[[accounts]]
name = "acme-mastodon"
network = "mastodon"
server = "{mastodon_url}"
token_env = "ACME_MASTODON_TOKEN"
channel = "{channel}"
poll_seconds = {poll_seconds}
"""


@dataclass
class BotProcess:
    workdir: Path
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "bot.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        eventually(self._healthy, timeout=30, what=f"the bot to answer /healthz ({self.log()})")

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def health(self) -> dict[str, Any]:
        """The detailed /healthz, with the ops token when the bot was started with one."""
        request = urllib.request.Request(f"{self.url}/healthz", headers=self.ops_headers())
        with urllib.request.urlopen(request, timeout=5) as response:
            return dict(json.load(response))

    def ops_headers(self) -> dict[str, str]:
        token = self.env.get("SOCIALBRIDGE_OPS_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def stop(self) -> int:
        """SIGTERM, as an orchestrator stops it; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Scene:
    """The fakes, the channel, a staff member, and the bot between them."""

    slack: FakeSlack
    mastodon: FakeMastodon
    channel: str
    staff: str
    bot: BotProcess
    events: EventSender
    database_url: str
    socket: FakeSocketMode | None = None  # set when the bot runs in Socket Mode

    def conversation(self, card_ts: str) -> Conversation:
        """The bot's stored conversation for a card, read from its database."""
        found = self.find_conversation(card_ts)
        assert found is not None, f"no conversation has the card {card_ts}"
        return found

    def find_conversation(self, card_ts: str) -> Conversation | None:
        store = Store(self.database_url)
        try:
            with store.read() as session:
                return session.exec(
                    select(Conversation).where(col(Conversation.slack_ts) == card_ts)
                ).first()
        finally:
            store.dispose()

    def card_updates(self, card_ts: str) -> list[dict[str, Any]]:
        """The chat.update calls the fake Slack saw for a card, oldest first."""
        return [
            dict(call.params)
            for call in self.slack.calls("chat.update")
            if call.params.get("ts") == card_ts and call.ok
        ]

    def card_for(self, text: str) -> dict[str, Any]:
        """Wait for the card whose notification text contains `text`."""

        def find() -> dict[str, Any] | None:
            for message in self.slack.messages(self.channel):
                if text in message.get("text", ""):
                    return message
            return None

        card = eventually(find, what=f"a card containing {text!r}")
        # The bot records the card's ts after Slack answers; wait for that too, so what a
        # test does next (a reaction, a reply) meets a conversation that knows its card.
        eventually(lambda: self.find_conversation(str(card["ts"])), what="the card recorded")
        return card

    def reply_in_thread(
        self, card: dict[str, Any], text: str, *, user: str | None = None, typed: bool = False
    ) -> dict[str, Any]:
        """A person writes in the card's thread; Slack delivers the event, signed."""
        event = self.slack.user_posts(
            self.channel, user or self.staff, text, thread_ts=card["ts"], typed=typed
        )
        delivery = self.events.event(event)
        assert delivery.status == 200, delivery
        return event

    def settle(self, *, timeout: float = 30.0) -> None:
        """Wait for the end state: no unfinished outbox job. Read counts after this, so a
        late duplicate (a second post still on its way) fails the test."""
        eventually(
            lambda: self.bot.health()["queue_depth"] == 0, timeout=timeout, what="an empty queue"
        )

    def statuses_replying_to(self, status_id: str) -> list[dict[str, Any]]:
        return list(self.mastodon.statuses_replying_to(status_id))

    def posted_text(self, status: dict[str, Any]) -> str:
        """The `status` parameter the bot sent for a status it created (the fake stores the
        status before it records its answer on the call, so wait for the answer too)."""

        def sent() -> str | None:
            for call in self.mastodon.calls("POST /api/v1/statuses"):
                if call.response and call.response.get("id") == status["id"]:
                    return str(call.params["status"])
            return None

        return eventually(sent, what=f"the answered POST that created status {status['id']}")


@contextmanager
def scene(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    send_delay: float = 0.0,
    extra_slack: str = "",
    delivery: str = "",
    extra_accounts: str = "",
    extra_env: dict[str, str] | None = None,
    wait_for_first_poll: bool = True,
    before_start: Callable[[FakeSlack, FakeMastodon], None] | None = None,
    socket_mode: bool = False,
    poll_seconds: float = 0.2,
) -> Iterator[Scene]:
    """`extra_accounts`: more [[accounts]] tables (TOML) for other networks' tests, with
    their secrets in `extra_env`; `before_start` sets the fakes up before the bot's
    first request (faults, say); `socket_mode` runs the bot in Socket Mode, and the
    scene's events then arrive through the socket."""
    with ExitStack() as fakes:
        socket = fakes.enter_context(FakeSocketMode()) if socket_mode else None
        urls = socket.issue_url if socket is not None else None
        slack = fakes.enter_context(FakeSlack(socket_mode=urls))
        mastodon = fakes.enter_context(FakeMastodon(rate_limit=None))
        if before_start is not None:
            before_start(slack, mastodon)
        staff = slack.add_user("dana", real_name="Dana Staff", display_name="Dana")
        channel = slack.add_channel("social", members=[staff])
        port = free_port()
        config = tmp_path / "socialbridge.toml"
        config.write_text(
            config_text(
                port=port,
                mastodon_url=mastodon.base_url,
                channel=channel,
                mode="socket" if socket_mode else "http",
                send_delay=send_delay,
                poll_seconds=poll_seconds,
                extra_slack=extra_slack,
                delivery=delivery,
            )
            + extra_accounts
        )
        database_url = database_url or f"sqlite:///{tmp_path / 'bot.db'}"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_APP_TOKEN": slack.app_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SOCIALBRIDGE_CONFIG": str(config),
            "SOCIALBRIDGE_INSTANCE": "e2e-bot",
            "DATABASE_URL": database_url,
            "ACME_MASTODON_TOKEN": mastodon.token,
            **(extra_env or {}),
        }
        bot = BotProcess(workdir=tmp_path, env=env, port=port)
        bot.start()
        # The first poll only marks "now" (no history import); mentions count from then.
        eventually(
            lambda: all(
                a["last_ok_at"]
                for a in bot.health()["accounts"]
                if wait_for_first_poll or a["name"] == "acme-mastodon"
            ),
            what="the first poll of every account",
        )
        events = slack.event_sender(f"{bot.url}/slack/events", SIGNING_SECRET)
        if socket is not None:
            events = SocketEventSender(socket, events)
            eventually(lambda: socket.open_connections, what="the bot's Socket Mode connection")
        try:
            yield Scene(
                slack=slack,
                mastodon=mastodon,
                channel=channel,
                staff=staff,
                bot=bot,
                events=events,
                database_url=database_url,
                socket=socket,
            )
        finally:
            if bot.process is not None:
                bot.stop()
