"""The response clock's settings: the [sla] keys, checked and parsed (bot/config.py reads
the tables and layers an account's [accounts.sla] over the top level's)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from bot.settings import ConfigError, SlaSettings
from bot.sla.clock import BusinessHours, PublicHolidays, parse_duration, parse_timezone, parse_week

SLACK_ID = re.compile(r"[SU][A-Z0-9]{2,}")  # a user group (S…) or a user (U…)
_Parsed = TypeVar("_Parsed")


def sla_settings(given: Mapping[str, tuple[str, str]], where: str, label: str) -> SlaSettings:
    """Every [sla] key's text with the table that set it (defaults, then the top level, then
    an account's), checked and parsed; `label` names the table these settings are for.
    Errors are ConfigErrors naming the file (`where`), the table and the key."""

    def parsed(key: str, parse: Callable[[str], _Parsed]) -> _Parsed:
        text, source = given[key]
        try:
            return parse(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: {source} {key}: {exc}") from None

    targets = {key: parsed(key, parse_duration) for key in ("first_response", "next_response")}
    for key, target in targets.items():
        if not target:
            raise ConfigError(f"{where}: {given[key][1]} {key} must be more than 0s")
    warn_before = parsed("warn_before", parse_duration)
    if warn_before and warn_before >= min(targets.values()):
        raise ConfigError(
            f"{where}: {label} warn_before ({given['warn_before'][0]!r}) must be shorter than "
            f"first_response ({given['first_response'][0]!r}) and next_response "
            f'({given["next_response"][0]!r}), or "0s" for no reminder'
        )
    escalate_to, source = given["escalate_to"]
    if escalate_to and not SLACK_ID.fullmatch(escalate_to):
        raise ConfigError(
            f'{where}: {source} escalate_to must be a user group id (S…), a user id (U…) or "", '
            f"got {escalate_to!r}"
        )
    return SlaSettings(
        first_response=targets["first_response"],
        next_response=targets["next_response"],
        warn_before=warn_before,
        business_hours=BusinessHours(
            parsed("business_hours", parse_week),
            parsed("timezone", parse_timezone),
            parsed("holidays", PublicHolidays.parse),
        ),
        escalate_to=escalate_to,
    )
