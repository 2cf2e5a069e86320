"""The small interfaces the bridge needs from Slack (bot.slack.api.SlackApi provides it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class SlackUser:
    name: str
    is_bot: bool
    # https://api.slack.com/types/user: is_restricted = multi-channel guest,
    # is_ultra_restricted = single-channel guest.
    is_guest: bool = False
    team_id: str = ""  # the person's home workspace; another one's for Slack Connect
    enterprise_id: str = ""  # Enterprise Grid: the workspaces of one org share it


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where the bot is installed (auth.test)."""

    team_id: str
    enterprise_id: str = ""


class SlackPort(Protocol):
    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata_key: str | None = None,
        broadcast: bool = False,
    ) -> str: ...

    def find_posted(
        self, *, channel: str, thread_ts: str | None, metadata_key: str, oldest: float
    ) -> str | None: ...

    def metadata_key_of_parent(self, *, channel: str, ts: str) -> str | None: ...

    def update(
        self, *, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]]
    ) -> None: ...

    def react(self, *, channel: str, ts: str, name: str) -> None: ...

    def user_name(self, user_id: str) -> str: ...

    def is_bot(self, user_id: str) -> bool: ...

    def is_channel_member(self, channel: str, user: str) -> bool: ...

    def user_info(self, user_id: str) -> SlackUser: ...

    def workspace(self) -> Workspace: ...

    def usergroup_members(self, group: str) -> set[str]: ...
