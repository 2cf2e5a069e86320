"""Record keys for our Bluesky replies, derived from the reply's stable key.

A post's record key must be a TID (https://atproto.com/specs/tid): 13 base32-sortable
characters encoding a zero bit, 53 bits of microseconds since the epoch and a 10-bit clock
id. Deriving it from a hash of our key, instead of from the clock, makes a retry after a
timeout write to the same record, which the PDS refuses instead of publishing twice.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["TID_PATTERN", "tid_for_key", "tid_from_parts"]

_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")

# The hash picks a moment inside one fixed, past stretch of time (2020-01-01 plus 2**45 µs,
# about 13 months): a TID from the future would sort ahead of every real post in the
# account's repository for years, and a fixed past stretch cannot collide with the keys
# the account's apps generate from their clocks today.
_FIRST_MICROS = 1_577_836_800_000_000
_SPAN_MICROS = 1 << 45


def tid_from_parts(micros: int, clock_id: int) -> str:
    """The TID for a timestamp in microseconds and a clock id (0-1023)."""
    if not 0 <= micros < 1 << 53 or not 0 <= clock_id < 1 << 10:
        raise ValueError("a TID holds 53 bits of microseconds and a 10-bit clock id")
    value = (micros << 10) | clock_id
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def tid_for_key(key: str) -> str:
    """A valid TID that depends only on `key`: the same key always gives the same TID."""
    number = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    micros = _FIRST_MICROS + (number >> 10) % _SPAN_MICROS
    return tid_from_parts(micros, number & 0x3FF)
