"""The settings as typed values, apart from the loader (bot/config.py), so that sources,
the core and the store can name them without importing TOML parsing or the source registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.sla.clock import BusinessHours


class ConfigError(Exception):
    """A configuration problem, phrased for the person who has to fix it."""


class Secret:
    """A credential that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class SlackSettings:
    mode: str = "socket"
    http_host: str = "0.0.0.0"
    http_port: int = 3000
    command: str = "/social"
    internal_prefixes: tuple[str, ...] = ("note:", ";;")
    public_prefix: str = ""  # set: only messages starting with it go public
    send_delay_seconds: float = 10.0
    claim_reactions: tuple[str, ...] = ("eyes",)
    close_reactions: tuple[str, ...] = ("white_check_mark",)
    sent_reaction: str = "outbox_tray"
    allowed_users: tuple[str, ...] = ()
    allowed_usergroup: str = ""
    allow_guests: bool = False  # guests and Slack Connect people may answer, claim, ask
    channel_posts_per_second: int = 1


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    workers: int = 4
    lease_seconds: float = 60.0
    max_attempts: int = 12
    http_timeout_seconds: float = 10.0
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class StoreSettings:
    retention_days: int = 0  # 0 = keep; else erase closed conversations' texts after this


@dataclass(frozen=True, slots=True)
class SlaSettings:
    """Response targets in business time ([sla], overridden per account in [accounts.sla])."""

    first_response: timedelta  # from a conversation's opening to the first public answer
    next_response: timedelta  # from the customer's next message to our next public answer
    warn_before: timedelta  # the reminder this long before the due time; 0 = none
    business_hours: BusinessHours
    escalate_to: str  # "S…" user group or "U…" user named in reminders and breaches; or ""


@dataclass(frozen=True, slots=True)
class AccountSettings:
    name: str
    network: str
    server: str
    channel: str
    poll_seconds: float
    options: Mapping[str, str] = field(default_factory=dict)  # network-specific, non-secret
    secrets: Mapping[str, Secret] = field(default_factory=dict)  # "token" -> Secret(...)
    sla: SlaSettings | None = None  # None: no response clock for this account


@dataclass(frozen=True, slots=True)
class Settings:
    config_path: Path
    slack: SlackSettings
    delivery: DeliverySettings
    accounts: tuple[AccountSettings, ...]
    database_url: str
    slack_api_url: str
    slack_bot_token: Secret | None
    slack_app_token: Secret | None
    slack_signing_secret: Secret | None
    log_format: str
    store: StoreSettings = field(default_factory=StoreSettings)
    secret_key: Secret | None = None  # SOCIALBRIDGE_SECRET_KEY: encrypts stored logins
    ops_token: Secret | None = None  # SOCIALBRIDGE_OPS_TOKEN: guards /metrics, /healthz details
    sla: SlaSettings | None = None  # the [sla] table as written; accounts carry their own


# Per network: which keys an [[accounts]] entry may carry beyond the common ones. Keys that
# end in "_env" name an environment variable holding a secret; the value lands in
# AccountSettings.secrets under the name without "_env".
@dataclass(frozen=True, slots=True)
class NetworkKeys:
    required: frozenset[str]
    optional: frozenset[str] = frozenset()
    default_server: str | None = None
    default_poll_seconds: float = 20.0
    numbers: frozenset[str] = frozenset()  # optional keys that may be written as numbers
