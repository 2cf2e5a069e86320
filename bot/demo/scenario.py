"""Scripted customers for the demo: `--scenario busy-morning` gives a trainee work to do.

A scenario is a list of beats (who posts what, how long after the start, and whether it
follows up an earlier beat). Times are jittered by a seeded random generator, so every run
of one scenario plays the same morning.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Beat:
    """One post: `at` seconds after the start; `follows` names an earlier beat's `key`,
    and the post then answers the newest post in that beat's thread."""

    at: float
    customer: str
    text: str
    key: str | None = None
    follows: str | None = None
    visibility: str = "public"


# The morning before the jitter.
_BUSY_MORNING = (
    Beat(3, "alice", "my order #4711 still says 'processing' after a week. Any news?", "order"),
    Beat(15, "ben", "are you open on Saturday? Want to pick up a repair.", "hours"),
    Beat(30, "chloe", "the new app update logs me out every time I close it 😩", "app"),
    Beat(65, "dev", "love the new recycled packaging, well done!", "praise"),
    Beat(
        85,
        "emma",
        "I was charged twice for invoice R-2207, can you check?",
        "charge",
        visibility="direct",
    ),
    Beat(105, "farid", "can I return a gift without the receipt?", "return"),
    Beat(125, "chloe", "Android 14, app version 3.2.0, if that helps", follows="app"),
    Beat(
        140,
        "grace",
        "is the <b>Pro</b> model & the Max compatible with the old charger? <!channel>",
        "charger",
    ),
    Beat(160, "ben", "hello? 👋", follows="hours"),
    Beat(180, "dev", "do you ship to Norway? the checkout won't take my postcode", "shipping"),
    Beat(
        200,
        "emma",
        "it's the card ending 0042, both charges on 3 March",
        follows="charge",
        visibility="direct",
    ),
    Beat(245, "alice", "okay now I'm getting worried. Order #4711??", follows="order"),
)


def busy_morning(seed: int = 20240601) -> list[Beat]:
    """Twelve posts from seven customers over about four minutes: eight new questions, four
    follow-ups, a private mention and one post that tries to ping the whole channel."""
    rng = random.Random(seed)
    beats = [replace(b, at=max(1.0, b.at + rng.uniform(-4.0, 4.0))) for b in _BUSY_MORNING]
    return sorted(beats, key=lambda b: b.at)


SCENARIOS: dict[str, Callable[[], list[Beat]]] = {"busy-morning": busy_morning}

# (customer, text, visibility, in_reply_to_id) -> the new post's id
Post = Callable[[str, str, str, str | None], str]
# a post's id -> the id of the newest post in the thread below it
Latest = Callable[[str], str]


class ScenarioPlayer:
    """Plays beats on a background thread; `progress()` says how far it got."""

    def __init__(self, name: str, beats: list[Beat], *, post: Post, latest: Latest) -> None:
        self.name = name
        self.beats = beats
        self._post = post
        self._latest = latest
        self._stop = threading.Event()
        self._played = 0
        self._started_at: float | None = None
        self._thread = threading.Thread(target=self._play, name=f"scenario:{name}", daemon=True)

    def start(self) -> None:
        self._started_at = time.time()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    @property
    def playing(self) -> bool:
        """True while the player's thread runs (beats left and not stopped)."""
        return self._thread.is_alive()

    def progress(self) -> dict[str, Any]:
        played = self._played
        next_at = None
        if self._started_at is not None and played < len(self.beats):
            next_at = self._started_at + self.beats[played].at
        return {"name": self.name, "played": played, "total": len(self.beats), "next_at": next_at}

    def _play(self) -> None:
        assert self._started_at is not None
        posted: dict[str, str] = {}
        for beat in self.beats:
            if self._stop.wait(max(0.0, self._started_at + beat.at - time.time())):
                return
            reply_to = None
            if beat.follows is not None and beat.follows in posted:
                reply_to = self._latest(posted[beat.follows])
            try:
                status_id = self._post(beat.customer, beat.text, beat.visibility, reply_to)
            except Exception:  # a deleted post must not end the morning for everybody else
                logger.exception("scenario %s: could not post %r", self.name, beat.text)
            else:
                if beat.key is not None:
                    posted[beat.key] = status_id
            self._played += 1
