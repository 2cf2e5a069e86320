"""Configuration: the DESIGN.md format parses; every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, Settings, load_settings

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
