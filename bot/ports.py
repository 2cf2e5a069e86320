"""The small interfaces the bridge needs from Slack (bot.slack.api.SlackApi provides it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class SlackPort(Protocol):
    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata_key: str | None = None,
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

    def usergroup_members(self, group: str) -> set[str]: ...
