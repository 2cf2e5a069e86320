"""What the demo page shows, as one JSON document: the Slack channel, the network, and the
bot's view of each reply (queued, sent, refused ...), read from where each one lives.

Texts go to the page as the services hold them (Slack mrkdwn, Mastodon's text); the page
renders them with DOM text nodes only (bot/demo/static/mrkdwn.js), never as HTML.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from bot.demo.scenario import ScenarioPlayer
from bot.demo.world import CHANNEL, DemoWorld
from bot.jobkinds import SEND_REPLY
from bot.sources.mastodon.html import mastodon_html_to_text
from bot.store import Job, Message, Store

Json = dict[str, Any]


class PageState:
    """Builds the page's state; `snapshot()` is cheap enough to ask for every second."""

    def __init__(self, world: DemoWorld, *, scenario: ScenarioPlayer | None = None) -> None:
        self.world = world
        self.scenario = scenario
        self._store: Store | None = None
        self._health: tuple[float, Mapping[str, Any] | None] = (0.0, None)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()

    def snapshot(self) -> Json:
        """Everything but the clock, and `etag`, a digest that changes when anything does."""
        content: Json = {
            "slack": self.slack(),
            "network": self.network(),
            "replies": self.replies(),
            "commands": self.commands(),
            "scenario": self.scenario.progress() if self.scenario else None,
            "bot": self.bot(),
            "settings": {
                "command": self.world.settings.slack.command,
                "send_delay": self.world.settings.slack.send_delay_seconds,
                "internal_prefixes": list(self.world.settings.slack.internal_prefixes),
                "claim_reactions": list(self.world.settings.slack.claim_reactions),
                "close_reactions": list(self.world.settings.slack.close_reactions),
            },
        }
        encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
        content["etag"] = hashlib.sha1(encoded.encode()).hexdigest()[:16]
        return content

    # --- the Slack side --------------------------------------------------------------

    def slack(self) -> Json:
        fake, channel = self.world.slack, self.world.channel
        users = {
            user.id: {
                "name": user.display_name or user.real_name or user.name,
                "real_name": user.real_name,
                "is_bot": user.is_bot,
            }
            for user in list(fake.users.values())
        }
        messages = []
        for message in fake.messages(channel):
            shown = _slack_message(message)
            shown["replies"] = [_slack_message(m) for m in fake.thread(channel, message["ts"])]
            messages.append(shown)
        return {
            "team": fake.team_name,
            "channel": {"id": channel, "name": CHANNEL},
            "bot_user": fake.bot_user_id,
            "staff": list(self.world.staff),
            "users": users,
            "messages": messages,
        }

    def commands(self) -> list[Json]:
        return [
            {
                "id": run.id,
                "user": run.user,
                "text": run.text,
                "sent_at": run.sent_at,
                "error": run.error,
                "answers": [
                    {
                        "text": str(body.get("text") or ""),
                        "blocks": body.get("blocks") or [],
                        "public": body.get("response_type") == "in_channel",
                    }
                    for body in self.world.slack.responses(run.response_url)
                ],
            }
            for run in self.world.client.command_runs()
        ]

    def replies(self) -> dict[str, Json]:
        """The bot's state of every reply written in Slack, by Slack ts: queued (and when it
        goes public), sent, refused, cancelled or failed."""
        store = self._bot_store()
        with store.read() as session:
            rows = session.exec(
                select(Message.id, Message.slack_ts, Message.state, Message.last_error).where(
                    col(Message.direction) == "out", col(Message.slack_ts).is_not(None)
                )
            ).all()
            pending = session.exec(
                select(Job.message_id, Job.not_before).where(
                    col(Job.kind) == SEND_REPLY, col(Job.state).in_(("pending", "leased"))
                )
            ).all()
        sends_at = {message_id: _epoch(when) for message_id, when in pending}
        return {
            str(ts): {"state": state, "error": error, "sends_at": sends_at.get(message_id)}
            for message_id, ts, state, error in rows
        }

    def bot(self) -> Json:
        """The bot's /healthz, asked at most every two seconds."""
        asked_at, health = self._health
        if time.monotonic() - asked_at > 2.0:
            health = self.world.health()
            self._health = (time.monotonic(), health)
        if health is None:
            return {"ok": False, "queue_depth": None}
        return {"ok": health.get("status") == "ok", "queue_depth": health.get("queue_depth")}

    # --- the network side ------------------------------------------------------------

    def network(self) -> Json:
        fake = self.world.mastodon
        brand_id = str(fake.brand["id"])
        statuses = []
        for status in _all_statuses(self.world):
            account = status["account"]
            statuses.append(
                {
                    "id": status["id"],
                    "account": str(account["id"]),
                    "brand": str(account["id"]) == brand_id,
                    "text": mastodon_html_to_text(str(status.get("content") or "")),
                    "created_at": status["created_at"],
                    "in_reply_to_id": status.get("in_reply_to_id"),
                    "visibility": status.get("visibility", "public"),
                    "url": status.get("url"),
                }
            )
        accounts = {
            str(a["id"]): {"acct": a["acct"], "display_name": a["display_name"]}
            for a in [fake.brand, *self.world.customers]
        }
        return {
            "server": fake.domain,
            "brand": brand_id,
            "customers": [str(a["id"]) for a in self.world.customers],
            "accounts": accounts,
            "statuses": statuses,
        }

    def _bot_store(self) -> Store:
        if self._store is None:
            self._store = Store(self.world.settings.database_url)
        return self._store


def _slack_message(message: Mapping[str, Any]) -> Json:
    """The parts of a conversations.history message the page draws."""
    return {
        "ts": message["ts"],
        "user": message.get("user"),
        "bot": bool(message.get("bot_id")),
        "subtype": message.get("subtype"),
        "text": message.get("text", ""),
        "blocks": [b for b in message.get("blocks") or [] if b.get("type") != "rich_text"],
        "reactions": message.get("reactions", []),
        "edited": bool(message.get("edited")) and not message.get("bot_id"),
        "reply_count": message.get("reply_count", 0),
    }


def _all_statuses(world: DemoWorld) -> list[Json]:
    """Every status on the fake server, oldest first (the brand's, the customers', replies)."""
    fake = world.mastodon
    ids = list(fake.statuses)  # the dict keeps creation order; ids are copied at once
    return [status for status in (fake.status(i) for i in ids) if status is not None]


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:  # SQLite keeps no zone; the store writes UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
