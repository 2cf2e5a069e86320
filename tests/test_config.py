"""Configuration: the DESIGN.md format parses; every mistake names the file and the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, Settings, load_settings
from bot.settings import SlaSettings
from bot.sla.clock import BusinessHours

GOOD = """
[slack]
mode = "http"
http_port = 3100
send_delay_seconds = 0

[[accounts]]
name = "acme-mastodon"
network = "mastodon"
server = "https://mastodon.example"
token_env = "ACME_MASTODON_TOKEN"
channel = "C0123456789"
poll_seconds = 20
"""

ENV = {"ACME_MASTODON_TOKEN": "secret-token-value", "SLACK_BOT_TOKEN": "xoxb-1"}


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> object:
    path = tmp_path / "socialbridge.toml"
    path.write_text(text)
    return load_settings(path, environ=ENV if env is None else env)


def _error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text, env)
    return str(caught.value)


def test_the_example_config_file_parses_with_its_secrets_set() -> None:
    settings = load_settings(
        Path("config/socialbridge.example.toml"), environ={"ACME_MASTODON_TOKEN": "t"}
    )
    assert settings.accounts[0].name == "acme-mastodon"
    assert settings.slack.claim_reactions == ("eyes",)


def test_a_valid_file_gives_typed_settings_and_hides_the_token(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "x.toml", environ=ENV, allow_missing_file=True)
    assert settings.accounts == ()
    path = tmp_path / "socialbridge.toml"
    path.write_text(GOOD)
    settings = load_settings(path, environ=ENV)
    account = settings.accounts[0]
    assert settings.slack.http_port == 3100 and settings.slack.send_delay_seconds == 0.0
    assert account.secrets["token"].reveal() == "secret-token-value"
    assert "secret-token-value" not in repr(settings)


def test_an_unknown_key_names_the_file_the_table_and_the_key(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace("http_port = 3100", "http_prot = 3100"))
    assert "socialbridge.toml" in message and "[slack]" in message and "'http_prot'" in message


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace('token_env = "ACME_MASTODON_TOKEN"\n', ""))
    assert "'acme-mastodon'" in message and "missing required key 'token_env'" in message


def test_an_unknown_network_lists_the_known_ones(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace('network = "mastodon"', 'network = "myspace"'))
    assert "unknown network 'myspace'" in message and "mastodon" in message


def test_a_missing_environment_variable_is_named(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD, env={})
    assert "token_env" in message and "ACME_MASTODON_TOKEN is not set" in message


def test_a_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace("http_port = 3100", 'http_port = "3100"'))
    assert "[slack] http_port must be a int" in message


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD + "\n[[accounts]\n")
    assert "socialbridge.toml: not valid TOML" in message


def test_a_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy config/socialbridge\.example\.toml"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_account_names_must_be_unique(tmp_path: Path) -> None:
    account = GOOD[GOOD.index("[[accounts]]") :]
    message = _error(tmp_path, GOOD + account)
    assert "'acme-mastodon' is used twice" in message


def test_real_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=from-dotenv\nLOG_FORMAT=json\n")
    (tmp_path / "c.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "from-environment")
    monkeypatch.setenv("LOG_FORMAT", "placeholder")  # so the teardown removes what .env sets
    monkeypatch.delenv("LOG_FORMAT")
    settings = load_settings(tmp_path / "c.toml")
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.reveal() == "from-environment"
    assert settings.log_format == "json"


def test_store_retention_days_is_read_and_defaults_to_keeping(tmp_path: Path) -> None:
    settings = _load(tmp_path, GOOD)
    assert isinstance(settings, Settings) and settings.store.retention_days == 0
    settings = _load(tmp_path, "[store]\nretention_days = 90\n" + GOOD)
    assert isinstance(settings, Settings) and settings.store.retention_days == 90


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("retention_days = -1", "[store] retention_days must be 0 (keep) or more"),
        ('retention_days = "90"', "[store] retention_days must be a int"),
        ("retention_days = 1.5", "[store] retention_days must be a int"),
        ("retension_days = 90", "[store]: unknown key 'retension_days'"),
    ],
)
def test_a_bad_store_table_names_the_key(tmp_path: Path, table: str, expected: str) -> None:
    message = _error(tmp_path, f"[store]\n{table}\n" + GOOD)
    assert "socialbridge.toml" in message and expected in message


def test_the_secret_key_is_a_secret_and_may_list_keys_for_rotation(tmp_path: Path) -> None:
    keys = f"{Fernet.generate_key().decode()}, {Fernet.generate_key().decode()}"
    settings = _load(tmp_path, GOOD, {**ENV, "SOCIALBRIDGE_SECRET_KEY": keys})
    assert isinstance(settings, Settings) and settings.secret_key is not None
    assert settings.secret_key.reveal() == keys
    assert keys.split(",")[0] not in repr(settings)


def test_a_secret_key_that_is_no_fernet_key_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    wrong = "correct-horse-battery-staple"
    message = _error(tmp_path, GOOD, {**ENV, "SOCIALBRIDGE_SECRET_KEY": wrong})
    assert "SOCIALBRIDGE_SECRET_KEY must be a Fernet key" in message
    assert "Fernet.generate_key()" in message and wrong not in message


@pytest.mark.parametrize(
    "server",
    ["http://mastodon.example", "http://10.0.0.7:3000", "http://localhost.evil.example",
     "http://[::ffff:127.0.0.1]", "http://127.0.0.1.nip.io"],
)  # fmt: skip
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_naming_the_key(
    tmp_path: Path, server: str
) -> None:
    message = _error(tmp_path, GOOD.replace("https://mastodon.example", server))
    assert "'acme-mastodon' server must use https://" in message and server in message


@pytest.mark.parametrize(
    "server",
    ["http://127.0.0.1:8080", "http://127.3.2.1", "http://[::1]:3000", "http://localhost:3000",
     "https://mastodon.example"],
)  # fmt: skip
def test_plain_http_is_accepted_for_loopback_hosts(tmp_path: Path, server: str) -> None:
    settings = _load(tmp_path, GOOD.replace("https://mastodon.example", server))
    assert isinstance(settings, Settings) and settings.accounts[0].server == server


def test_the_ops_token_is_read_from_the_environment_and_hidden(tmp_path: Path) -> None:
    settings = _load(tmp_path, GOOD, env={**ENV, "SOCIALBRIDGE_OPS_TOKEN": "ops-secret-1"})
    assert isinstance(settings, Settings) and settings.ops_token is not None
    assert settings.ops_token.reveal() == "ops-secret-1"
    assert "ops-secret-1" not in repr(settings)
    unset = _load(tmp_path, GOOD)
    assert isinstance(unset, Settings) and unset.ops_token is None


SLA = """
[sla]
first_response = "15m"
next_response = "1h30m"
warn_before = "5m"
business_hours = "Mon-Fri 09:00-17:00"
timezone = "Europe/Berlin"
holidays = "DE-BY"
escalate_to = "S0123ABCD"
"""


def _settings(tmp_path: Path, text: str) -> Settings:
    settings = _load(tmp_path, text)
    assert isinstance(settings, Settings)
    return settings


def test_without_an_sla_table_there_is_no_clock(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GOOD)
    assert settings.sla is None and settings.accounts[0].sla is None


def test_the_sla_table_gives_targets_business_hours_and_whom_to_escalate_to(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, SLA + GOOD)
    sla = settings.sla
    assert sla is not None and settings.accounts[0].sla == sla
    assert (sla.first_response, sla.next_response, sla.warn_before) == (
        timedelta(minutes=15),
        timedelta(hours=1, minutes=30),
        timedelta(minutes=5),
    )
    assert sla.business_hours == BusinessHours.parse(
        "Mon-Fri 09:00-17:00", timezone="Europe/Berlin", holidays="DE-BY"
    )
    assert sla.escalate_to == "S0123ABCD"


def test_an_empty_sla_table_runs_the_clock_with_the_defaults(tmp_path: Path) -> None:
    sla = _settings(tmp_path, "[sla]\n" + GOOD).sla
    assert sla == SlaSettings(
        first_response=timedelta(minutes=30),
        next_response=timedelta(hours=2),
        warn_before=timedelta(minutes=10),
        business_hours=BusinessHours.parse("always", timezone="UTC"),
        escalate_to="",
    )


def test_an_account_overrides_single_sla_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    text = SLA + GOOD + '\n[accounts.sla]\nfirst_response = "1h"\nescalate_to = "U0123ABCD"\n'
    settings = _settings(tmp_path, text)
    assert settings.sla is not None and settings.sla.first_response == timedelta(minutes=15)
    account = settings.accounts[0].sla
    assert account is not None
    assert account.first_response == timedelta(hours=1) and account.escalate_to == "U0123ABCD"
    assert account.business_hours == settings.sla.business_hours
    assert account.next_response == settings.sla.next_response


def test_an_account_sla_table_alone_runs_the_clock_for_that_account_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GOOD + '\n[accounts.sla]\nbusiness_hours = "Mon 09:00-10:00"\n')
    account = settings.accounts[0].sla
    assert settings.sla is None and account is not None
    assert account.first_response == timedelta(minutes=30)
    assert account.business_hours.week[0] == ((540, 600),) and account.business_hours.week[1] == ()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('first_response = "30"', "[sla] first_response: '30' is not a duration"),
        ('next_response = "1.5h"', "[sla] next_response: '1.5h' is not a duration"),
        ('warn_before = "ten minutes"', "[sla] warn_before: 'ten minutes' is not a duration"),
        ('first_response = "0s"', "[sla] first_response must be more than 0s"),
        ('warn_before = "30m"', "[sla] warn_before ('30m') must be shorter than first_response"),
        ('business_hours = "Mo-Fr 09:00-17:00"', "[sla] business_hours: unknown weekday 'Mo'"),
        ('business_hours = "Mon 09:00-25:00"', "[sla] business_hours: '25:00' is not a time"),
        ('timezone = "Europe/Berln"', "[sla] timezone: unknown time zone 'Europe/Berln'"),
        ('holidays = "XX"', "[sla] holidays: unknown country 'XX'"),
        ('holidays = "DE-XX"', "[sla] holidays: unknown subdivision 'XX' of DE"),
        ('escalate_to = "@support"', "[sla] escalate_to must be a user group id (S…)"),
        ('escalate_to = "C0123ABCD"', "[sla] escalate_to must be a user group id (S…)"),
        ("first_response = 30", "[sla] first_response must be a str"),
        ('first_respons = "30m"', "[sla]: unknown key 'first_respons'"),
    ],
)
def test_a_bad_sla_value_names_the_file_and_the_key(
    tmp_path: Path, line: str, expected: str
) -> None:
    message = _error(tmp_path, f"[sla]\n{line}\n" + GOOD)
    assert "socialbridge.toml" in message and expected in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('first_response = "soon"', "first_response: 'soon' is not a duration"),
        ('first_response = "5m"', "warn_before ('5m') must be shorter than first_response"),
        ('timezone = "Mars/Base"', "timezone: unknown time zone 'Mars/Base'"),
        ('holidays = "DE-ZZ"', "holidays: unknown subdivision 'ZZ' of DE"),
        ('escalate_to = "support"', "escalate_to must be a user group id (S…)"),
        ('escalate = "S0123ABCD"', ": unknown key 'escalate'"),
    ],
)
def test_a_bad_account_sla_value_names_the_account_and_the_key(
    tmp_path: Path, line: str, expected: str
) -> None:
    message = _error(tmp_path, SLA + GOOD + f"\n[accounts.sla]\n{line}\n")
    assert "socialbridge.toml: [accounts.sla] of 'acme-mastodon'" in message
    assert expected in message


def test_an_account_sla_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD + 'sla = "30m"\n')
    assert "[accounts.sla] of 'acme-mastodon' must be a table" in message
