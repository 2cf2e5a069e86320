"""Where polling X's mention timeline resumes, written as the account's cursor string.

Three things are kept:

- the newest mention id seen. Each poll asks again from a little before it (`OVERLAP`):
  X's timelines are eventually consistent and a mention can become visible after a newer
  one. Ids are Snowflakes (milliseconds since 2010-11-04 << 22,
  https://docs.x.com/fundamentals/x-ids), so "30 s before" is arithmetic. The repeats cost
  nothing: X bills a Post once per UTC day, and the store drops what it already has.
- a floor: the newest mention at the first start. The overlap never reaches below it, so
  mentions from before the first start are never imported, not even the last 30 s of them.
- before any mention exists, the moment of the first start: the next polls ask with
  `start_time` (there is no id to resume from and X refuses since_id=0), so a mention
  written earlier can never come in, even if X's first answer was empty by mistake.

Written as "<newest>", "<newest>/<floor>" or "time:<ISO 8601>".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["OVERLAP", "MentionCursor"]

OVERLAP = timedelta(seconds=30)
TWITTER_EPOCH_MS = 1288834974657
TIME_MARK = "time:"
_OVERLAP_IDS = int(OVERLAP.total_seconds() * 1000) << 22


@dataclass(frozen=True, slots=True)
class MentionCursor:
    newest: int | None = None
    floor: int | None = None
    since_time: str | None = None  # only while no mention has been seen

    @classmethod
    def first_start(cls, newest: str | None, now: datetime) -> MentionCursor:
        if newest is not None:
            return cls(newest=int(newest), floor=int(newest))
        return cls(since_time=now.strftime("%Y-%m-%dT%H:%M:%SZ"))

    @classmethod
    def parse(cls, text: str) -> MentionCursor:
        """Raises ValueError for a string this module did not write."""
        if text.startswith(TIME_MARK):
            moment = text.removeprefix(TIME_MARK)
            datetime.fromisoformat(moment.replace("Z", "+00:00"))
            return cls(since_time=moment)
        newest, _, floor = text.partition("/")
        return cls(newest=int(newest), floor=int(floor) if floor else None)

    def query(self) -> dict[str, str]:
        """The mention timeline's parameters that pick up from here."""
        if self.newest is None:
            return {"start_time": str(self.since_time)}
        since = self.newest - _OVERLAP_IDS
        if self.floor is not None:
            since = max(since, self.floor)
        return {"since_id": str(since if since > 0 else self.newest)}

    def advanced(self, seen: list[int]) -> MentionCursor:
        """The cursor after a poll that saw these mention ids."""
        if not seen and self.newest is None:
            return self
        floor = self.floor
        if self.newest is None:
            floor = _first_id_at(str(self.since_time)) - 1
        newest = max([*seen, self.newest or 0])
        if floor is not None and newest - _OVERLAP_IDS >= floor:
            floor = None  # the overlap no longer reaches down to it
        return MentionCursor(newest=newest, floor=floor)

    def __str__(self) -> str:
        if self.newest is None:
            return TIME_MARK + str(self.since_time)
        return str(self.newest) if self.floor is None else f"{self.newest}/{self.floor}"


def _first_id_at(moment: str) -> int:
    milliseconds = int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)
    return max(1, (milliseconds - TWITTER_EPOCH_MS) << 22)
