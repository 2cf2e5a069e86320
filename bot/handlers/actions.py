"""Buttons on the card: Claim / Unclaim, Close / Reopen, and the link to the post.

https://api.slack.com/reference/interaction-payloads/block-actions
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import App

from bot.bridge import Bridge
from bot.slack.render import ACTION_PREFIX, OPEN_POST_ACTION
from bot.speakers import SpeakerPolicy
from bot.triage import Change

logger = logging.getLogger(__name__)


def register(app: App, bridge: Bridge, speakers: SpeakerPolicy) -> None:
    @app.action(re.compile(f"^{ACTION_PREFIX}(claim|unclaim|close|reopen)$"))
    def on_status_button(ack: Callable[[], None], body: dict[str, Any]) -> None:
        ack()
        handle_status_action(bridge, speakers, body)

    @app.action(OPEN_POST_ACTION)
    def on_link_button(ack: Callable[[], None]) -> None:
        ack()  # a link button opens the URL in the browser; Slack still tells us


def handle_status_action(bridge: Bridge, speakers: SpeakerPolicy, body: Mapping[str, Any]) -> None:
    """A button press changes the status only for whom a reaction would (no bots, channel
    members, guests as `allow_guests` says)."""
    who = body.get("user") or {}
    user, team = who.get("id"), who.get("team_id")
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    actions = body.get("actions") or []
    action_id = actions[0].get("action_id", "") if actions else ""
    if not all(isinstance(v, str) and v for v in (user, channel, ts, action_id)):
        logger.warning("block action without user, container or action; skipped")
        return
    change = Change(str(action_id).removeprefix(ACTION_PREFIX))
    team = team if isinstance(team, str) else ""
    if not speakers.may_triage(channel=str(channel), user=str(user), user_team=team):
        return
    bridge.change_status(channel=str(channel), ts=str(ts), user=str(user), change=change)
