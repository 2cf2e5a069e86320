"""Fault injection shared by the fakes: queued errors, outages, slow answers, lost answers.

A test queues faults on a `FaultPlan` by route (a Slack method such as "chat.postMessage",
a Mastodon route such as "POST /api/v1/statuses", or "*" for every route); the server
consumes them as requests arrive. Each fake decides how a fault looks on its wire (Slack's
`{"ok": false, "error": "ratelimited"}`, Mastodon's `{"error": "Too many requests"}`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["error", "hang", "drop", "slow"]


@dataclass(slots=True)
class Fault:
    """One queued fault; `remaining` is None for "until cleared"."""

    kind: FaultKind
    target: str
    status: int = 503
    remaining: int | None = 1
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None
    error: str | None = None  # the fake's error code/message instead of its default
    after: bool = False  # perform the action first, then misbehave (an unknown outcome)
    hang_seconds: float = 0.0

    def matches(self, names: Iterable[str]) -> bool:
        return self.target == "*" or self.target in names


class FaultPlan:
    """Thread-safe queue of faults, plus an outage switch and per-route delays."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._delays: dict[str, float] = {}
        self._outage: int | None = None

    def fail(
        self,
        target: str,
        *,
        status: int = 503,
        count: int | None = 1,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        error: str | None = None,
        after: bool = False,
    ) -> Fault:
        """Answer the next `count` matching requests with `status` (None = until cleared).

        `after=True` performs the action before answering with the error, as a proxy that
        fails after the backend accepted the request would.
        """
        raw = body.encode() if isinstance(body, str) else body
        fault = Fault(
            kind="error",
            target=target,
            status=status,
            remaining=count,
            retry_after=retry_after,
            headers=dict(headers or {}),
            body=raw,
            content_type=content_type,
            error=error,
            after=after,
        )
        return self._add(fault)

    def hang(self, target: str, hang_seconds: float, *, count: int | None = 1) -> Fault:
        """Accept then hang: perform the action, then wait `hang_seconds` before answering.

        The client times out although the action happened: the unknown outcome that
        idempotency keys and reconciliation exist for.
        """
        fault = Fault(
            kind="hang", target=target, remaining=count, after=True, hang_seconds=hang_seconds
        )
        return self._add(fault)

    def slow(self, target: str, seconds: float, *, count: int | None = 1) -> Fault:
        """Hold the next `count` matching requests `seconds` on their way in, then act and
        answer: the request reaches the service late (network jitter), unlike `hang`."""
        return self._add(Fault(kind="slow", target=target, remaining=count, hang_seconds=seconds))

    def drop(self, target: str, *, count: int | None = 1, after: bool = False) -> Fault:
        """Close the connection without an answer (after the action when `after`)."""
        return self._add(Fault(kind="drop", target=target, remaining=count, after=after))

    def outage(self, on: bool = True, *, status: int | None = None) -> None:
        """While on, every request gets the fake's outage answer: its usual status
        (503; 500 for Slack) unless `status` is given."""
        with self._lock:
            self._outage = (status or 0) if on else None

    def delay(self, seconds: float, target: str = "*") -> None:
        """Answer matching requests `seconds` late (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._delays[target] = seconds
            else:
                self._delays.pop(target, None)

    def clear(self) -> None:
        """Forget every queued fault, delay and outage."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._outage = None

    @property
    def outage_status(self) -> int | None:
        """None when up; 0 for "the fake's usual outage status"."""
        with self._lock:
            return self._outage

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def delay_for(self, names: Iterable[str]) -> float:
        keys = set(names) | {"*"}
        with self._lock:
            return max((s for t, s in self._delays.items() if t in keys), default=0.0)

    def take(self, names: Iterable[str]) -> Fault | None:
        """Consume one use of the first fault that matches this request, if any."""
        names = tuple(names)
        with self._lock:
            for fault in self._faults:
                if fault.matches(names):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _add(self, fault: Fault) -> Fault:
        if fault.remaining is not None and fault.remaining <= 0:
            return fault
        with self._lock:
            self._faults.append(fault)
        return fault
