"""Settings from the TOML file and the environment, validated once at start.

Every problem stops the program with one line that names the file, the key and what was
expected (mautrix-style); secrets are only ever named in the file, never written there.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import load_dotenv

from bot.settings import (
    AccountSettings,
    ConfigError,
    DeliverySettings,
    NetworkKeys,
    Secret,
    Settings,
    SlackSettings,
    SlaSettings,
    StoreSettings,
)
from bot.sla.settings import sla_settings
from bot.slack.prefixes import MAX_PREFIX_LENGTH, prefix_key

__all__ = [  # the types live in bot/settings.py; the loader's callers may name them here
    "AccountSettings",
    "ConfigError",
    "DeliverySettings",
    "NetworkKeys",
    "Secret",
    "Settings",
    "SlackSettings",
    "StoreSettings",
    "load_settings",
    "parse_settings",
]

DEFAULT_CONFIG_PATH = "config/socialbridge.toml"
DEFAULT_DATABASE_URL = "sqlite:///data/socialbridge.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
COMMON_ACCOUNT_KEYS = frozenset({"name", "network", "server", "channel", "poll_seconds", "sla"})

_SLACK_TYPES: dict[str, type] = {
    "mode": str,
    "http_host": str,
    "http_port": int,
    "command": str,
    "internal_prefixes": list,
    "public_prefix": str,
    "send_delay_seconds": float,
    "claim_reactions": list,
    "close_reactions": list,
    "sent_reaction": str,
    "allowed_users": list,
    "allowed_usergroup": str,
    "allow_guests": bool,
    "channel_posts_per_second": int,
}
_DELIVERY_TYPES: dict[str, type] = {
    "workers": int,
    "lease_seconds": float,
    "max_attempts": int,
    "http_timeout_seconds": float,
    "backoff_base_seconds": float,
    "backoff_max_seconds": float,
}
_STORE_TYPES: dict[str, type] = {"retention_days": int}
# [sla] as written when a key is left out; every value is a string in the file.
SLA_DEFAULTS: dict[str, str] = {
    "first_response": "30m",
    "next_response": "2h",
    "warn_before": "10m",
    "business_hours": "always",
    "timezone": "UTC",
    "holidays": "",
    "escalate_to": "",
}
_SLA_TYPES: dict[str, type] = dict.fromkeys(SLA_DEFAULTS, str)
# One key of an [sla] table: its text and the label of the table that set it.
_SlaValues = dict[str, tuple[str, str]]


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    networks: Mapping[str, NetworkKeys] | None = None,
    allow_missing_file: bool = False,
) -> Settings:
    """Read `.env`, then the TOML file named by SOCIALBRIDGE_CONFIG, and validate both."""
    if environ is None:
        load_dotenv(Path.cwd() / ".env", override=False)  # real environment variables win
        environ = os.environ
    if networks is None:
        from bot.sources import NETWORK_KEYS

        networks = NETWORK_KEYS
    config_path = Path(path or environ.get("SOCIALBRIDGE_CONFIG") or DEFAULT_CONFIG_PATH)
    raw: dict[str, Any] = {}
    if config_path.exists():
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    elif not allow_missing_file:
        raise ConfigError(
            f"{config_path}: file not found; copy config/socialbridge.example.toml there "
            "or set SOCIALBRIDGE_CONFIG"
        )
    return parse_settings(raw, config_path=config_path, environ=environ, networks=networks)


def parse_settings(
    raw: Mapping[str, Any],
    *,
    config_path: Path,
    environ: Mapping[str, str],
    networks: Mapping[str, NetworkKeys],
) -> Settings:
    where = str(config_path)
    _reject_unknown(raw, {"slack", "delivery", "store", "accounts", "sla"}, where, "top level")
    slack = _slack_section(raw, where)
    delivery = DeliverySettings(
        **_section(raw.get("delivery", {}), _DELIVERY_TYPES, where, "[delivery]")
    )
    if delivery.workers < 1 or delivery.max_attempts < 1:
        raise ConfigError(f"{where}: [delivery] workers and max_attempts must be at least 1")
    store = StoreSettings(**_section(raw.get("store", {}), _STORE_TYPES, where, "[store]"))
    if store.retention_days < 0:
        raise ConfigError(f"{where}: [store] retention_days must be 0 (keep) or more")
    sla_values = _sla_values(raw["sla"], where, "[sla]") if "sla" in raw else None
    accounts = _accounts(raw, where, environ, networks, sla_values)

    def secret(var: str) -> Secret | None:
        value = environ.get(var, "")
        return Secret(value) if value else None

    log_format = environ.get("LOG_FORMAT", "text")
    if log_format not in ("text", "json"):
        raise ConfigError(f'LOG_FORMAT must be "text" or "json", not {log_format!r}')
    api_url = environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    return Settings(
        config_path=config_path,
        slack=slack,
        delivery=delivery,
        accounts=accounts,
        database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        slack_bot_token=secret("SLACK_BOT_TOKEN"),
        slack_app_token=secret("SLACK_APP_TOKEN"),
        slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
        log_format=log_format,
        store=store,
        secret_key=_fernet_keys(secret("SOCIALBRIDGE_SECRET_KEY")),
        ops_token=secret("SOCIALBRIDGE_OPS_TOKEN"),
        sla=None
        if sla_values is None
        else sla_settings(
            {key: (text, "[sla]") for key, text in SLA_DEFAULTS.items()} | sla_values,
            where,
            "[sla]",
        ),
    )


def _slack_section(raw: Mapping[str, Any], where: str) -> SlackSettings:
    slack = SlackSettings(**_section(raw.get("slack", {}), _SLACK_TYPES, where, "[slack]"))
    if slack.mode not in ("socket", "http"):
        raise ConfigError(f'{where}: [slack] mode must be "socket" or "http", not {slack.mode!r}')
    if not slack.command.startswith("/"):
        raise ConfigError(f'{where}: [slack] command must start with "/", got {slack.command!r}')
    _check_prefixes(slack, where)
    if slack.send_delay_seconds < 0:
        raise ConfigError(f"{where}: [slack] send_delay_seconds must be 0 or more")
    return slack


def _accounts(
    raw: Mapping[str, Any],
    where: str,
    environ: Mapping[str, str],
    networks: Mapping[str, NetworkKeys],
    sla_values: _SlaValues | None,
) -> tuple[AccountSettings, ...]:
    accounts_raw = raw.get("accounts", [])
    if not isinstance(accounts_raw, list):
        raise ConfigError(f"{where}: accounts must be a list of [[accounts]] tables")
    accounts = tuple(
        _account(entry, index, where, environ, networks, sla_values)
        for index, entry in enumerate(accounts_raw, start=1)
    )
    names = [a.name for a in accounts]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(
                f"{where}: [[accounts]] name {name!r} is used twice; names are unique"
            )
    return accounts


def _fernet_keys(value: Secret | None) -> Secret | None:
    """SOCIALBRIDGE_SECRET_KEY: one Fernet key, or several separated by commas (the first
    encrypts, every one decrypts: how a key is rotated). Never echoes the value."""
    if value is None:
        return None
    from cryptography.fernet import Fernet

    for key in value.reveal().split(","):
        try:
            Fernet(key.strip())
        except ValueError:
            raise ConfigError(
                "SOCIALBRIDGE_SECRET_KEY must be a Fernet key (32 bytes in url-safe base64, "
                "44 characters) or several separated by commas; make one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
    return value


def _check_prefixes(slack: SlackSettings, where: str) -> None:
    """A prefix without a visible character would match every message."""
    named = [("internal_prefixes", p) for p in slack.internal_prefixes]
    if slack.public_prefix:
        named.append(("public_prefix", slack.public_prefix))
    for key, prefix in named:
        key_length = len(prefix_key(prefix))
        if not key_length or max(key_length, len(prefix)) > MAX_PREFIX_LENGTH:
            raise ConfigError(
                f"{where}: [slack] {key}: {prefix!r} must have a visible character and at "
                f"most {MAX_PREFIX_LENGTH} characters"
            )


def _reject_unknown(
    table: Mapping[str, Any], known: set[str] | frozenset[str], where: str, label: str
) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{where}: {label}: unknown key {key!r} (expected one of: "
                f"{', '.join(sorted(known))})"
            )


def _section(table: Any, types: Mapping[str, type], where: str, label: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {label} must be a table")
    _reject_unknown(table, set(types), where, label)
    values: dict[str, Any] = {}
    for key, value in table.items():
        values[key] = _typed(value, types[key], where, f"{label} {key}")
    return values


def _typed(value: Any, expected: type, where: str, label: str) -> Any:
    if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if expected is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {label} must be a list of strings, got {value!r}")
        return tuple(value)
    if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
        raise ConfigError(f"{where}: {label} must be a {expected.__name__}, got {value!r}")
    return value


def _is_loopback(url: str) -> bool:
    """The URL's host is this machine: tokens sent to it in the clear never cross a network."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _account(
    entry: Any,
    index: int,
    where: str,
    environ: Mapping[str, str],
    networks: Mapping[str, NetworkKeys],
    sla_values: _SlaValues | None,
) -> AccountSettings:
    label = f"[[accounts]] #{index}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: {label} must be a table")
    for key in ("name", "network", "channel"):
        if key not in entry:
            raise ConfigError(f"{where}: {label}: missing required key {key!r}")
        if not isinstance(entry[key], str) or not entry[key]:
            raise ConfigError(f"{where}: {label} {key} must be a non-empty string")
    label = f"[[accounts]] {entry['name']!r}"
    network = entry["network"]
    if network not in networks:
        raise ConfigError(
            f"{where}: {label}: unknown network {network!r} "
            f"(expected one of: {', '.join(sorted(networks))})"
        )
    keys = networks[network]
    _reject_unknown(entry, COMMON_ACCOUNT_KEYS | keys.required | keys.optional, where, label)
    for key in sorted(keys.required):
        if key not in entry:
            raise ConfigError(f"{where}: {label}: missing required key {key!r} for {network}")
    server = _server(entry.get("server", keys.default_server), where, label, network)
    poll = _typed(
        entry.get("poll_seconds", keys.default_poll_seconds), float, where, f"{label} poll_seconds"
    )
    if poll <= 0:
        raise ConfigError(f"{where}: {label} poll_seconds must be more than 0")
    options, secrets = _network_keys(entry, keys, where, label, environ)
    if "sla" in entry:
        sla_label = f"[accounts.sla] of {entry['name']!r}"
        sla_values = (sla_values or {}) | _sla_values(entry["sla"], where, sla_label)
    else:
        sla_label = "[sla]"
    return AccountSettings(
        name=entry["name"],
        network=network,
        server=server.rstrip("/"),
        channel=entry["channel"],
        poll_seconds=poll,
        options=options,
        secrets=secrets,
        sla=None
        if sla_values is None
        else sla_settings(
            {key: (text, "[sla]") for key, text in SLA_DEFAULTS.items()} | sla_values,
            where,
            sla_label,
        ),
    )


def _server(server: Any, where: str, label: str, network: str) -> str:
    if server is None:
        raise ConfigError(f"{where}: {label}: missing required key 'server' for {network}")
    if not isinstance(server, str) or not server.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: {label} server must be an http(s) URL, got {server!r}")
    if server.startswith("http://") and not _is_loopback(server):
        raise ConfigError(
            f"{where}: {label} server must use https:// ({server!r}); plain http:// is "
            "accepted only for a loopback host (127.0.0.1, ::1, localhost)"
        )
    return server


def _network_keys(
    entry: Mapping[str, Any],
    keys: NetworkKeys,
    where: str,
    label: str,
    environ: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, Secret]]:
    """The network's own keys of an account: plain options, and `*_env` keys resolved to
    the secrets they name."""
    options: dict[str, str] = {}
    secrets: dict[str, Secret] = {}
    for key in sorted((keys.required | keys.optional) & entry.keys()):
        value = entry[key]
        if key in keys.numbers and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # the source reads its own number (and says what is wrong)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {label} {key} must be a non-empty string")
        if key.endswith("_env"):
            secret_value = environ.get(value, "")
            if not secret_value:
                if key in keys.required:
                    raise ConfigError(
                        f"{where}: {label} {key}: environment variable {value} is not set "
                        "(put it in the environment or in .env)"
                    )
                continue
            secrets[key.removesuffix("_env")] = Secret(secret_value)
        else:
            options[key] = value
    return options, secrets


def _sla_values(table: Any, where: str, label: str) -> _SlaValues:
    """The keys one [sla] table sets, each with that table's label for error lines."""
    return {key: (value, label) for key, value in _section(table, _SLA_TYPES, where, label).items()}


def _sla(values: _SlaValues, where: str, label: str) -> SlaSettings:
    """[sla] values over the defaults (an account's over the top level's), checked."""
    defaults = {key: (text, "[sla]") for key, text in SLA_DEFAULTS.items()}
    return sla_settings(defaults | values, where, label)
