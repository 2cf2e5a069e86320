"""The sandbox: a Slack workspace and a Mastodon server on loopback, the real bot between them.

`DemoWorld` starts the sandbox fakes (bot/sandbox/) and then `bot.app.run` itself in HTTP
mode, exactly as `socialbridge run` would, with generated settings: no `.env`, no config
file, a throwaway SQLite database. What a person does on the page (a customer posts, staff
reply, react, run `/social`) changes the fakes the way the real services would change, and
the Slack side reaches the bot as signed requests on `POST /slack/events`.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import parse_settings
from bot.demo.slack_client import DemoError, SlackClient
from bot.sandbox.mastodon_api import FakeMastodon
from bot.sandbox.slack_api import FakeSlack
from bot.settings import Settings
from bot.sources import NETWORK_KEYS

ACCOUNT = "acme-mastodon"
CHANNEL = "social"
TOKEN_ENV = "DEMO_MASTODON_TOKEN"
# (username, real name, display name): the people who answer in the Slack workspace.
STAFF = (("dana", "Dana Reyes", "Dana"), ("sam", "Sam Okafor", "Sam"))
# (username, display name, domain or None for an account on the brand's own server).
CUSTOMERS = (
    ("alice", "Alice Martin", "mastodon.example"),
    ("ben", "Ben Ortiz", None),
    ("chloe", "Chloé Dubois", "piaille.example"),
    ("dev", "Dev Patel", "fosstodon.example"),
    ("emma", "Emma Schulz", "chaos.example"),
    ("farid", "Farid Haddad", None),
    ("grace", "Grace Kim", "mastodon.example"),
)


def demo_settings(
    *,
    slack_api_url: str,
    bot_token: str,
    signing_secret: str,
    mastodon_url: str,
    mastodon_token: str,
    http_port: int,
    database_url: str,
    send_delay: float,
    poll_seconds: float,
) -> Settings:
    """Settings as a config file and an environment would give them, validated the same way."""
    raw: dict[str, Any] = {
        "slack": {
            "mode": "http",
            "http_host": "127.0.0.1",
            "http_port": http_port,
            "send_delay_seconds": send_delay,
        },
        # A short response clock, so a trainee sees the card's due time move and, if a
        # mention is left alone, the reminder and the breach arrive within minutes.
        "sla": {"first_response": "3m", "next_response": "5m", "warn_before": "1m"},
        "delivery": {
            "workers": 2,
            "http_timeout_seconds": 5.0,
            "backoff_base_seconds": 0.5,
            "backoff_max_seconds": 10.0,
        },
        "accounts": [
            {
                "name": ACCOUNT,
                "network": "mastodon",
                "server": mastodon_url,
                "token_env": TOKEN_ENV,
                "channel": f"#{CHANNEL}",
                "poll_seconds": poll_seconds,
            }
        ],
    }
    environ = {
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": slack_api_url,
        "DATABASE_URL": database_url,
        TOKEN_ENV: mastodon_token,
    }
    return parse_settings(
        raw, config_path=Path("(demo: built in)"), environ=environ, networks=NETWORK_KEYS
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoWorld:
    """The fakes, their people, and the bot; `start()` returns once the bot has polled."""

    def __init__(self, *, send_delay: float = 5.0, poll_seconds: float = 1.0) -> None:
        self.slack = FakeSlack(team_name="Acme", team_domain="acme")
        self.mastodon = FakeMastodon(
            rate_limit=None, brand_username="acme", brand_display_name="ACME"
        )
        self.staff = [
            self.slack.add_user(name, real_name=real, display_name=shown)
            for name, real, shown in STAFF
        ]
        self.channel = self.slack.add_channel(CHANNEL, members=self.staff)
        self.customers = [
            self.mastodon.add_account(name, shown, domain) for name, shown, domain in CUSTOMERS
        ]
        self.workdir = Path(tempfile.mkdtemp(prefix="socialbridge-demo-"))
        self.bot_port = free_port()
        signing_secret = secrets.token_hex(16)
        self.settings = demo_settings(
            slack_api_url=self.slack.api_url,
            bot_token=self.slack.token,
            signing_secret=signing_secret,
            mastodon_url=self.mastodon.base_url,
            mastodon_token=self.mastodon.token,
            http_port=self.bot_port,
            database_url=f"sqlite:///{self.workdir / 'demo.db'}",
            send_delay=send_delay,
            poll_seconds=poll_seconds,
        )
        self.client = SlackClient(
            self.slack,
            self.slack.event_sender(self.bot_url + "/slack/events", signing_secret),
            channel=self.channel,
            channel_name=CHANNEL,
            staff=self.staff,
            command=self.settings.slack.command,
        )
        self._stop = threading.Event()
        self._bot: threading.Thread | None = None
        self._bot_failure: BaseException | None = None
        # A direct opener: a proxy from the environment must never see loopback traffic.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    # --- lifecycle -------------------------------------------------------------------

    def start(self, *, timeout: float = 60.0) -> None:
        self.slack.start()
        self.mastodon.start()
        self._bot = threading.Thread(target=self._run_bot, name="bot", daemon=True)
        self._bot.start()
        deadline = time.monotonic() + timeout
        while not self._bot_ready():
            if not self._bot.is_alive():
                raise DemoError(f"the bot stopped while starting: {self._bot_failure!r}")
            if time.monotonic() > deadline:
                raise DemoError(f"the bot did not finish its first poll within {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        if self._bot is not None:
            self._bot.join(timeout=30)
        self.slack.stop()
        self.mastodon.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _run_bot(self) -> None:
        from bot.app import run

        try:
            run(self.settings, stop=self._stop)
        except BaseException as exc:
            self._bot_failure = exc
            raise

    def health(self) -> Mapping[str, Any] | None:
        """The bot's own /healthz answer, or None while it does not answer."""
        try:
            with self._opener.open(self.bot_url + "/healthz", timeout=2) as answer:
                body = json.load(answer)
        except (OSError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def _bot_ready(self) -> bool:
        # The first poll only marks "now"; a mention counts from then
        # (bot/sources/mastodon/source.py).
        health = self.health()
        return bool(health and all(a.get("last_ok_at") for a in health.get("accounts", [])))

    # --- a customer on the network ---------------------------------------------------

    def customer_posts(
        self,
        customer: str,
        text: str,
        *,
        in_reply_to_id: str | None = None,
        mention: bool = True,
        visibility: str = "public",
    ) -> dict[str, Any]:
        if not text.strip():
            raise DemoError("write something first")
        if visibility not in ("public", "direct"):
            raise DemoError(f"unknown visibility {visibility!r}")
        if in_reply_to_id is not None and self.mastodon.status(in_reply_to_id) is None:
            raise DemoError("the post you reply to is gone")
        try:
            return self.mastodon.customer_posts(
                self._customer(customer),
                text,
                visibility=visibility,
                in_reply_to_id=in_reply_to_id,
                mention_brand=mention,
            )
        except ValueError as exc:
            raise DemoError(str(exc)) from None

    def latest_in_thread(self, status_id: str) -> str:
        """The newest post in the thread below `status_id` (a follow-up answers that one)."""
        latest, frontier = status_id, [status_id]
        while frontier:
            children = [s for p in frontier for s in self.mastodon.statuses_replying_to(p)]
            frontier = [str(s["id"]) for s in children]
            for child in frontier:
                latest = max(latest, child, key=lambda i: (len(i), i))
        return latest

    # --- helpers ---------------------------------------------------------------------

    def _customer(self, name: str) -> dict[str, Any]:
        """A customer by acct (alice@mastodon.example) or by username (alice)."""
        for account in self.customers:
            if name in (account["acct"], account["username"], account["id"]):
                return account
        raise DemoError(f"{name!r} is not one of the sandbox's customers")
