"""The Slack client the staff use on the demo page: type, edit, delete, react, press a
card's buttons, run the slash command.

Each action changes the sandbox workspace the way Slack would (FakeSlack's person helpers)
and delivers the event, action or command Slack would send to the bot's
`POST /slack/events`, signed with the signing secret.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack_api import Delivery, EventSender, FakeSlack


class DemoError(Exception):
    """Something the person using the demo must hear about, in one sentence."""


@dataclass(slots=True)
class CommandRun:
    """One slash command typed on the page and the response URL its answers arrive at."""

    id: int
    user: str
    text: str
    sent_at: float
    response_url: str
    status: int
    error: str | None


class SlackClient:
    """What the staff members of one channel can do; every method names who does it."""

    def __init__(
        self,
        fake: FakeSlack,
        events: EventSender,
        *,
        channel: str,
        channel_name: str,
        staff: Sequence[str],
        command: str,
    ) -> None:
        self.slack = fake
        self.events = events
        self.channel = channel
        self.channel_name = channel_name
        self.staff = list(staff)
        self.command = command
        self._commands: list[CommandRun] = []
        self._commands_lock = threading.Lock()

    def post_message(self, user: str, text: str, *, thread_ts: str | None = None) -> str:
        """`user` types `text` in the channel or in a thread; returns the message ts."""
        if not text.strip():
            raise DemoError("write something first")
        event = self._slack_change(
            lambda: self.slack.user_posts(
                self.channel, self._staff(user), text, thread_ts=thread_ts, typed=True
            )
        )
        self._deliver(self.events.event(event))
        return str(event["ts"])

    def edit_message(self, user: str, ts: str, text: str) -> None:
        self._own_message(user, ts)
        if not text.strip():
            raise DemoError("an edit cannot be empty; delete the message instead")
        event = self._slack_change(
            lambda: self.slack.user_edits(self.channel, ts, text, typed=True)
        )
        self._deliver(self.events.event(event))

    def delete_message(self, user: str, ts: str) -> None:
        self._own_message(user, ts)
        event = self._slack_change(lambda: self.slack.user_deletes(self.channel, ts))
        self._deliver(self.events.event(event))

    def toggle_reaction(self, user: str, ts: str, name: str) -> bool:
        """Add `:name:` as `user`, or take it away if it is there; True when added."""
        user = self._staff(user)
        message = self.slack.message(self.channel, ts)
        if message is None:
            raise DemoError("that message is gone")
        present = any(
            r["name"] == name and user in r["users"] for r in message.get("reactions", [])
        )
        change = self.slack.user_unreacts if present else self.slack.user_reacts
        event = self._slack_change(lambda: change(self.channel, ts, user, name))
        self._deliver(self.events.event(event))
        return not present

    def press_button(self, user: str, ts: str, action_id: str) -> None:
        """Press a button of a message's actions block, as Slack's block_actions sends it."""
        user = self._staff(user)
        message = self.slack.message(self.channel, ts)
        if message is None:
            raise DemoError("that message is gone")
        button = _find_button(message, action_id)
        if button is None:
            raise DemoError("that button is no longer on the message")
        block_id, element = button
        person = self.slack.users[user]
        payload = {
            "user": {"id": user, "username": person.name, "name": person.name},
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": self.channel,
                "is_ephemeral": False,
            },
            "channel": {"id": self.channel, "name": self.channel_name},
            "message": {k: v for k, v in message.items() if k != "metadata"},
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": element.get("text"),
                    "value": element.get("value"),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        self._deliver(self.events.action(payload))

    def run_command(self, user: str, text: str) -> CommandRun:
        """`text` is everything after the command name; the answer goes to a response URL."""
        user = self._staff(user)
        response_url = self.slack.new_response_url()
        delivery = self.events.command(
            self.command,
            text,
            user_id=user,
            channel_id=self.channel,
            response_url=response_url,
            user_name=self.slack.users[user].name,
            channel_name=self.channel_name,
        )
        with self._commands_lock:
            run = CommandRun(
                id=len(self._commands) + 1,
                user=user,
                text=text,
                sent_at=time.time(),
                response_url=response_url,
                status=delivery.status,
                error=None if delivery.status == 200 else _delivery_problem(delivery),
            )
            self._commands.append(run)
        return run

    def command_runs(self) -> list[CommandRun]:
        with self._commands_lock:
            return list(self._commands)

    def _staff(self, user: str) -> str:
        if user not in self.staff:
            raise DemoError(f"{user!r} is not on the staff of this workspace")
        return user

    def _own_message(self, user: str, ts: str) -> None:
        message = self.slack.message(self.channel, ts)
        if message is None:
            raise DemoError("that message is gone")
        if message.get("user") != self._staff(user):
            raise DemoError("you can only change your own messages")

    @staticmethod
    def _slack_change(change: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a FakeSlack person-helper; its ValueError (no such message ...) is the user's."""
        try:
            return change()
        except ValueError as exc:
            raise DemoError(str(exc)) from None

    @staticmethod
    def _deliver(delivery: Delivery) -> None:
        if delivery.status != 200:
            raise DemoError(_delivery_problem(delivery))


def _delivery_problem(delivery: Delivery) -> str:
    if delivery.status == 0:
        return f"the bot did not answer ({delivery.error})"
    return f"the bot answered {delivery.status}: {delivery.text[:200]}"


def _find_button(message: Mapping[str, Any], action_id: str) -> tuple[str, dict[str, Any]] | None:
    for block in message.get("blocks") or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("action_id") == action_id and "url" not in element:
                return str(block.get("block_id", "")), element
    return None
