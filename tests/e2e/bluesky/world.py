"""The bot between the fake Slack and the Bluesky dev-env, and what a test does in it."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from bot.store import Message, Store
from tests.bluesky.devenv import Account, DevEnv, PostRef
from tests.e2e.harness import Scene, eventually

ACCOUNT = "acme-bluesky"


def accounts_toml(devenv: DevEnv, brand: Account) -> str:
    return f"""
[[accounts]]
name = "{ACCOUNT}"
network = "bluesky"
server = "{devenv.pds}"
handle = "{brand.handle}"
password_env = "ACME_BLUESKY_APP_PASSWORD"
channel = "#social"
poll_seconds = 0.3
"""


@dataclass
class World:
    scene: Scene
    devenv: DevEnv
    brand: Account

    def mention(self, name: str, text: str) -> tuple[Account, PostRef, dict[str, Any]]:
        """A new customer mentions the brand; returns them, their post and its Slack card."""
        customer = self.devenv.create_account(name)
        post = self.devenv.post(customer, f"@{self.brand.handle} {text}", mention=self.brand)
        return customer, post, self.scene.card_for(text)

    def our_replies(self, post: PostRef) -> list[dict[str, Any]]:
        """Our replies directly under `post`, as the AppView's getPostThread shows them."""
        replies = self.devenv.replies(post.uri)
        return [reply for reply in replies if reply["author"]["did"] == self.brand.did]

    def wait_for_our_reply(self, post: PostRef) -> dict[str, Any]:
        return eventually(lambda: self.our_replies(post), what=f"our reply under {post.uri}")[0]

    def followups(self, card: dict[str, Any]) -> list[str]:
        """The texts the bot posted in a card's thread."""
        thread = self.scene.slack.thread(self.scene.channel, str(card["ts"]))
        return [str(m["text"]) for m in thread if m.get("bot_id")]

    def wait_for_followup(self, card: dict[str, Any], text: str) -> None:
        eventually(
            lambda: any(text in t for t in self.followups(card)),
            timeout=30,
            what=f"{text!r} in the card's thread",
        )

    def close(self, card: dict[str, Any]) -> None:
        """Staff closes the conversation with the close reaction, and the bot records it."""
        event = self.scene.slack.user_reacts(
            self.scene.channel, str(card["ts"]), self.scene.staff, "white_check_mark"
        )
        assert self.scene.events.event(event).status == 200
        eventually(
            lambda: self.scene.conversation(str(card["ts"])).status == "closed",
            what="the conversation closed",
        )

    def inbound_authors(self, card: dict[str, Any]) -> list[str]:
        """The DIDs of the conversation's stored inbound posts, oldest first."""
        conversation = self.scene.conversation(str(card["ts"]))
        store = Store(self.scene.database_url)
        try:
            with store.read() as session:
                rows = session.exec(
                    select(Message.author_remote_id)
                    .where(
                        col(Message.conversation_id) == conversation.id,
                        col(Message.direction) == "in",
                    )
                    .order_by(col(Message.id))
                ).all()
        finally:
            store.dispose()
        return list(rows)

    def wait_for_watch_rounds(self, rounds: int) -> None:
        """Wait until the bot has read watched threads in `rounds` more polls."""
        start = self.thread_reads().get("+Inf", 0.0)
        eventually(
            lambda: self.thread_reads().get("+Inf", 0.0) >= start + rounds,
            what=f"{rounds} more polls that read watched threads",
        )

    def thread_reads(self) -> dict[str, float]:
        """The bot's histogram of watched-thread reads per poll, by bucket ("+Inf" counts
        every poll that read any), from /metrics."""
        with urllib.request.urlopen(f"{self.scene.bot.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        pattern = (
            r'socialbridge_thread_reads_per_poll_bucket\{account="' + ACCOUNT + r'",le="([^"]+)"\}'
            r" ([0-9.e+]+)"
        )
        return {le: float(value) for le, value in re.findall(pattern, text)}
