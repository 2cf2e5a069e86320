"""Per-channel pacing of Slack posts, shaped like Slack's own limit.

Slack allows about one message per second per channel, with short bursts
(https://api.slack.com/apis/rate-limits#special-rate-limits, "Posting messages"), and
counts each post when it *arrives*. Counting slots when the bot *leases* a job lets jitter
through: a post that is delayed on its way followed by one that is on time land closer
together than Slack's bucket allows, and Slack answers 429. So a slot here is held while the
post is in flight and becomes free again only `1 / rate` after Slack answered it, with the
rate a little under the documented one. Every later post then arrives at least that long
after Slack counted the earlier one, however slow the machine is. A 429's Retry-After
quiets the whole channel.

The dispatcher asks the pacer before it hands out a job that posts to a channel, and leaves
the channel's jobs in the queue until there is room, so the other channels keep moving.
Rate-limit libraries (e.g. `limits`) count at the moment of the hit and know nothing of a
request in flight, which is exactly the shape that failed; hence this small state machine.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Pace this far under the documented rate: every post then arrives at least 1/0.99 s after
# Slack counted the one before, and the bot's own work between two posts adds the rest.
RATE_MARGIN = 0.99


@dataclass(slots=True)
class _Channel:
    in_flight: int = 0
    cooling: deque[float] = field(default_factory=deque)  # when each answered slot is free
    quiet_until: float = 0.0  # a 429's Retry-After

    def room(self, now: float, capacity: int) -> bool:
        while self.cooling and self.cooling[0] <= now:
            self.cooling.popleft()
        return now >= self.quiet_until and self.in_flight + len(self.cooling) < capacity

    def free_at(self, now: float, capacity: int) -> float | None:
        """When a slot frees up by time alone (None: only an answer in flight can free one)."""
        if now < self.quiet_until:
            return self.quiet_until
        if self.in_flight + len(self.cooling) < capacity:
            return now
        return self.cooling[0] if self.cooling else None


class ChannelPacer:
    """Slots per channel: `per_second` of them (Slack's short burst), each taken by a post,
    held while it is in flight, and free again `1 / (per_second * RATE_MARGIN)` seconds
    after Slack answered."""

    def __init__(self, *, per_second: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._capacity = max(1, per_second)
        self._interval = 1.0 / (max(1, per_second) * RATE_MARGIN)
        self._lock = threading.Lock()
        self._channels: dict[str, _Channel] = {}

    def try_take(self, channel: str) -> bool:
        """Take a slot to post to `channel` now; False if the channel has none."""
        now = self._clock()
        with self._lock:
            state = self._channels.setdefault(channel, _Channel())
            if not state.room(now, self._capacity):
                return False
            state.in_flight += 1
            return True

    def answered(self, channel: str) -> None:
        """The post holding a slot is finished (Slack answered, or it failed): the slot
        cools down from now."""
        now = self._clock()
        with self._lock:
            state = self._channels.setdefault(channel, _Channel())
            state.in_flight = max(0, state.in_flight - 1)
            state.cooling.append(now + self._interval)

    def penalize(self, channel: str, seconds: float) -> None:
        """Slack said 429 with Retry-After: keep the whole channel quiet that long."""
        now = self._clock()
        with self._lock:
            state = self._channels.setdefault(channel, _Channel())
            state.quiet_until = max(state.quiet_until, now + seconds)

    def paused(self) -> tuple[list[str], float | None]:
        """The channels without room now, and the seconds until the first of them has room
        by time alone (None when none will: no channel is paused, or only posts in flight
        hold them, and finishing one wakes the dispatcher anyway); one snapshot."""
        now = self._clock()
        paused: list[str] = []
        waits: list[float] = []
        with self._lock:
            for channel, state in list(self._channels.items()):
                if state.room(now, self._capacity):
                    if not state.in_flight and not state.cooling:
                        del self._channels[channel]  # idle: forget it, the map stays small
                    continue
                paused.append(channel)
                free_at = state.free_at(now, self._capacity)
                if free_at is not None:
                    waits.append(free_at - now)
        return sorted(paused), (max(0.0, min(waits)) if waits else None)
