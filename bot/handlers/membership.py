"""Who is in a channel, and who a person is, kept fresh from Slack's events.

Membership and users.info answers are cached (bot/slack/api.py); without these listeners
someone removed from the channel could still answer in public until the cache expired.
https://api.slack.com/events/member_joined_channel, .../member_left_channel, .../user_change
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from bot.slack.api import SlackApi

logger = logging.getLogger(__name__)


def register(app: App, slack: SlackApi) -> None:
    @app.event("member_joined_channel")
    def on_joined(event: dict[str, Any]) -> None:
        handle_membership_event(slack, event, joined=True)

    @app.event("member_left_channel")
    def on_left(event: dict[str, Any]) -> None:
        handle_membership_event(slack, event, joined=False)

    @app.event("user_change")
    def on_user_change(event: dict[str, Any]) -> None:
        user = event.get("user")
        if isinstance(user, Mapping):
            slack.user_changed(user)
        else:
            logger.warning("user_change event without a user object; skipped")


def handle_membership_event(slack: SlackApi, event: Mapping[str, Any], *, joined: bool) -> None:
    channel, user = event.get("channel"), event.get("user")
    if not (isinstance(channel, str) and channel and isinstance(user, str) and user):
        logger.warning("membership event without channel or user; skipped")
        return
    slack.membership_changed(channel, user, joined=joined)
