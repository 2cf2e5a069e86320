"""Per-channel pacing of Slack posts.

Slack allows about one message per second per channel, with short bursts
(https://api.slack.com/apis/rate-limits#special-rate-limits, "Posting messages"). Going
faster earns 429s, and every 429 delays the whole queue. The dispatcher asks the pacer
before it hands out a job that posts to a channel, and leaves the channel's jobs in the
queue until there is room, so the other channels and the networks keep moving.
"""

from __future__ import annotations

import threading
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class ChannelPacer:
    def __init__(self, *, per_second: int = 1) -> None:
        self._item = RateLimitItemPerSecond(per_second)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        self._free_at: dict[str, float] = {}  # channel -> when it has room again (epoch s)

    def try_take(self, channel: str) -> bool:
        """Take a slot to post to `channel` now; False (and the channel paused) if none."""
        with self._lock:
            if self._free_at.get(channel, 0.0) > time.time():
                return False
            if self._limiter.hit(self._item, channel):
                return True
            reset = self._limiter.get_window_stats(self._item, channel).reset_time
            self._free_at[channel] = max(self._free_at.get(channel, 0.0), reset)
            return False

    def penalize(self, channel: str, seconds: float) -> None:
        """Slack said 429 with Retry-After: keep the channel quiet that long."""
        with self._lock:
            self._free_at[channel] = max(self._free_at.get(channel, 0.0), time.time() + seconds)

    def paused(self) -> tuple[list[str], float | None]:
        """The channels without room now, and the seconds until the first has room again
        (None when no channel is paused); one snapshot, so the two always agree."""
        now = time.time()
        with self._lock:
            for channel in [c for c, free in self._free_at.items() if free <= now]:
                del self._free_at[channel]
            if not self._free_at:
                return [], None
            return sorted(self._free_at), min(self._free_at.values()) - now
