"""Every sentence the bot says in Slack, in one place, so it can be translated.

Keys are stable; `say(key, **values)` formats one. A German catalog is planned: it will be a
second dict with the same keys, chosen by configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

EN: Mapping[str, str] = {
    # the card
    "card.private": ":lock: Private mention: replies go only to {handle}",
    "card.open_on": "Open on {network}",
    "card.from": "{name} ({handle}) on {network}",
    "card.notification": "New {network} mention from {name}: {text}",
    "status.open": ":large_blue_circle: Open, waiting {age}",
    "status.reopened": ":arrows_counterclockwise: Reopened by a new message, waiting {age}",
    "status.claimed": ":eyes: Claimed by <@{user}>, waiting {age}",
    "status.answered": ":speech_balloon: Answered (first response after {first_response})",
    "status.answered_claimed": (
        ":speech_balloon: Answered by the team (first response after {first_response}),"
        " claimed by <@{user}>"
    ),
    "status.closed": ":white_check_mark: Closed by <@{user}> after {duration}",
    # thread notices
    "reply.too_long": (
        ":no_entry: Not sent: {network} allows {limit} characters and this reply has {count}."
        " Shorten it and send it again."
    ),
    "reply.failed": ":warning: Not sent to {network}: {reason}",
    "reply.edit_too_late": (
        ":information_source: That reply had already been sent; the edit changes nothing on"
        " {network}."
    ),
    "reply.delete_too_late": (
        ":information_source: That reply had already been sent; deleting it here does not"
        " delete it on {network}."
    ),
    "reply.cancelled": ":wastebasket: Reply cancelled before it was sent.",
    "reply.not_allowed": (
        ":no_entry: Not sent: only members of this channel{allow_list} can reply publicly."
    ),
    "reply.empty": ":no_entry: Not sent: the reply is empty once formatting is removed.",
    # durations
    "duration.seconds": "{n} s",
    "duration.minutes": "{n} min",
    "duration.hours": "{h} h {m} min",
    "duration.days": "{d} d {h} h",
}

_CATALOGS: Mapping[str, Mapping[str, str]] = {"en": EN}


def say(key: str, /, *, lang: str = "en", **values: object) -> str:
    """The sentence for `key` with `values` filled in; values must already be escaped."""
    return _CATALOGS[lang][key].format(**values)


def duration(seconds: float, *, lang: str = "en") -> str:
    """A short human duration: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return say("duration.seconds", lang=lang, n=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return say("duration.minutes", lang=lang, n=minutes)
    hours = minutes // 60
    if hours < 24:
        return say("duration.hours", lang=lang, h=hours, m=minutes % 60)
    return say("duration.days", lang=lang, d=hours // 24, h=hours % 24)
