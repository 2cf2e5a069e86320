"""Network logins at rest: encrypted in the database, readable after an upgrade, and a
changed key is a clear log line and a new login, never a crash."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.config import ConfigError, Settings, parse_settings
from bot.store import Store
from bot.store import accounts as account_store
from bot.store.credentials import (
    KEY_FILE_NAME,
    StoredSessions,
    data_dir,
    seal_plain_sessions,
    session_cipher,
)

LOGIN = '{"accessJwt": "access-jwt-0123456789", "refreshJwt": "refresh-jwt-0123456789"}'


def _settings(database_url: str, secret_key: str | None = None) -> Settings:
    environ = {"DATABASE_URL": database_url}
    if secret_key is not None:
        environ["SOCIALBRIDGE_SECRET_KEY"] = secret_key
    return parse_settings({}, config_path=Path("x.toml"), environ=environ, networks={})


def _sessions(store: Store, secret_key: str | None = None) -> StoredSessions:
    key = secret_key or Fernet.generate_key().decode()
    return StoredSessions(store, session_cipher(_settings(store.url, key)))


def _raw(store: Store, account: str) -> str | None:
    return account_store.get(store, account).session_json


def _write_plain(store: Store, account: str, value: str) -> None:
    """What the previous release did: the JSON as it is, in the same column."""
    account_store.ensure_rows(store, [account])
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE account_state SET session_json = :v WHERE account = :a"),
            {"v": value, "a": account},
        )


def test_a_saved_login_is_encrypted_in_the_database_and_read_back(store: Store) -> None:
    sessions = _sessions(store)
    sessions.save_session("brand", LOGIN)
    raw = _raw(store, "brand")
    assert raw is not None and raw.startswith("fernet:")
    assert "access-jwt" not in raw and "refresh-jwt" not in raw
    assert sessions.load_session("brand") == LOGIN


def test_a_plain_login_from_the_previous_release_is_read_and_written_back_encrypted(
    store: Store,
) -> None:
    _write_plain(store, "brand", LOGIN)
    sessions = _sessions(store)
    assert sessions.load_session("brand") == LOGIN
    raw = _raw(store, "brand")
    assert raw is not None and raw.startswith("fernet:") and "access-jwt" not in raw
    assert sessions.load_session("brand") == LOGIN


def test_start_up_encrypts_every_plain_login_also_of_accounts_no_longer_configured(
    store: Store,
) -> None:
    _write_plain(store, "brand", LOGIN)
    _write_plain(store, "removed-account", LOGIN)
    sessions = _sessions(store)
    sessions.save_session("sealed-already", LOGIN)
    assert seal_plain_sessions(store, sessions.cipher) == 2
    for account in ("brand", "removed-account", "sealed-already"):
        raw = _raw(store, account)
        assert raw is not None and raw.startswith("fernet:")
        assert sessions.load_session(account) == LOGIN
    assert seal_plain_sessions(store, sessions.cipher) == 0


def test_a_login_sealed_with_another_key_is_no_login_and_the_log_says_why(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _sessions(store, old_key).save_session("brand", LOGIN)
    with caplog.at_level(logging.ERROR):
        assert _sessions(store, new_key).load_session("brand") is None
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "account brand" in line and "SOCIALBRIDGE_SECRET_KEY" in line
    assert "changed" in line and "log the account in again" in line
    assert old_key not in caplog.text and new_key not in caplog.text


def test_a_rotated_key_still_opens_logins_sealed_with_the_old_one(store: Store) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _sessions(store, old_key).save_session("brand", LOGIN)
    rotated = _sessions(store, f"{new_key},{old_key}")
    assert rotated.load_session("brand") == LOGIN
    rotated.save_session("brand", LOGIN)
    assert _sessions(store, new_key).load_session("brand") == LOGIN


def test_without_a_secret_key_one_key_file_is_made_0600_beside_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(f"sqlite:///{tmp_path / 'state' / 'bot.db'}")
    with caplog.at_level(logging.INFO):
        first = session_cipher(settings)
        second = session_cipher(settings)
    path = tmp_path / "state" / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert second.open(first.seal(LOGIN)) == LOGIN
    made = [r.getMessage() for r in caplog.records if "made a key" in r.getMessage()]
    assert len(made) == 1 and str(path) in made[0]
    assert path.read_text().strip() not in caplog.text


def test_other_databases_keep_the_key_file_in_data() -> None:
    assert data_dir("postgresql+psycopg://bot@db.example/social") == Path("data")
    assert data_dir("sqlite:///:memory:") == Path("data")
    assert data_dir("sqlite:////var/lib/socialbridge/bot.db") == Path("/var/lib/socialbridge")


def test_a_damaged_key_file_stops_with_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("not a key\n")
    with pytest.raises(ConfigError) as caught:
        session_cipher(_settings(f"sqlite:///{tmp_path / 'bot.db'}"))
    assert str(tmp_path / KEY_FILE_NAME) in str(caught.value)
