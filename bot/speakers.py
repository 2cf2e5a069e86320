"""Who may speak for the brand: answer in public, claim or close a conversation, ask /social.

One rule for every way in (thread replies, reactions, buttons, the slash command): a human
member of the mapped channel from the bot's own workspace, not a guest, unless
`[slack] allow_guests` says guests and Slack Connect people are trusted too (invariant 4).
Replies also pass the optional allow-list. What Slack cannot confirm is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain import DeliveryError
from bot.ports import SlackPort
from bot.settings import SlackSettings

logger = logging.getLogger(__name__)

Refusal = tuple[str, dict[str, object]]  # a catalog key and its values


@dataclass(frozen=True, slots=True)
class SpeakerPolicy:
    settings: SlackSettings
    slack: SlackPort

    def reply_refusal(self, *, channel: str, user: str, user_team: str = "") -> Refusal | None:
        """Why `user` may not answer in public from `channel`'s threads, or None."""
        slack = self.settings
        listed = bool(slack.allowed_users or slack.allowed_usergroup)
        allow_list = " on the allow-list" if listed else ""
        try:
            allowed = not slack.allowed_users or user in slack.allowed_users
            if allowed and slack.allowed_usergroup:
                allowed = user in self.slack.usergroup_members(slack.allowed_usergroup)
            if not allowed:
                return ("reply.not_allowed", {"allow_list": allow_list})
            if self._outsider(user, user_team):
                return ("reply.guest_not_allowed", {})
            if self.slack.is_channel_member(channel, user):
                return None
        except DeliveryError as exc:  # cannot tell: refuse, and say so
            return ("reply.not_verified", {"reason": exc.reason})
        return ("reply.not_allowed", {"allow_list": allow_list})

    def may_triage(self, *, channel: str, user: str, user_team: str = "") -> bool:
        """Whether `user` may claim, close or reopen a conversation of `channel`."""
        try:
            allowed = (
                not self.slack.user_info(user).is_bot
                and not self._outsider(user, user_team)
                and self.slack.is_channel_member(channel, user)
            )
        except DeliveryError as exc:
            logger.warning("cannot tell whether %s may triage in %s: %s", user, channel, exc)
            return False
        if not allowed:
            logger.debug("%s may not triage in %s; ignored", user, channel)
        return allowed

    def member_channels(self, user: str, channels: Iterable[str]) -> frozenset[str]:
        """The channels among `channels` whose conversations `user` may see in /social.
        A channel Slack refuses for good (archived, the bot removed) is left out; raises
        DeliveryError when Slack cannot say now."""
        if self._outsider(user, ""):
            return frozenset()
        visible = set()
        for channel in channels:
            try:
                if self.slack.is_channel_member(channel, user):
                    visible.add(channel)
            except DeliveryError as exc:
                if not exc.permanent:
                    raise
                logger.warning("cannot read the members of %s: %s", channel, exc.reason)
        return frozenset(visible)

    def _outsider(self, user: str, user_team: str) -> bool:
        """A guest, or someone whose home is another workspace (Slack Connect): the event's
        `user_team` or users.info's `team_id` differs from the bot's team. Workspaces of
        one Enterprise Grid org differ in team but share the enterprise id, and count as
        one company."""
        if self.settings.allow_guests:
            return False
        person = self.slack.user_info(user)
        if person.is_guest:
            return True
        home = self.slack.workspace()
        teams = {team for team in (user_team, person.team_id) if team}
        if not home.team_id or teams <= {home.team_id}:
            return False
        return not (home.enterprise_id and person.enterprise_id == home.enterprise_id)
