"""reaction_added / reaction_removed: claim and close a conversation from its card.

https://api.slack.com/events/reaction_added
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from bot.bridge import Bridge
from bot.speakers import SpeakerPolicy

logger = logging.getLogger(__name__)


def register(app: App, bridge: Bridge, speakers: SpeakerPolicy) -> None:
    @app.event("reaction_added")
    def on_added(event: dict[str, Any]) -> None:
        handle_reaction_event(bridge, speakers, event, added=True)

    @app.event("reaction_removed")
    def on_removed(event: dict[str, Any]) -> None:
        handle_reaction_event(bridge, speakers, event, added=False)


def handle_reaction_event(
    bridge: Bridge, speakers: SpeakerPolicy, event: Mapping[str, Any], *, added: bool
) -> None:
    item = event.get("item")
    user, name = event.get("user"), event.get("reaction")
    if not isinstance(item, Mapping) or item.get("type") != "message":
        return  # reactions on files and the like
    channel, ts = item.get("channel"), item.get("ts")
    if not all(isinstance(v, str) and v for v in (user, name, channel, ts)):
        logger.warning("reaction event without user, reaction or item; skipped")
        return
    if not speakers.may_triage(channel=str(channel), user=str(user)):
        return
    bridge.on_reaction(
        channel=str(channel), ts=str(ts), user=str(user), name=str(name), added=added
    )
