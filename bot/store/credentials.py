"""Network logins at rest: the sessions sources save (Bluesky JWTs, X token pairs) are
stored encrypted with Fernet, keyed by SOCIALBRIDGE_SECRET_KEY or a key file made once.

Fernet is authenticated encryption (AES-128-CBC with HMAC-SHA256,
https://cryptography.io/en/latest/fernet/): a row encrypted with another key fails to
open instead of giving garbage, so a changed key is told apart from a damaged row.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlmodel import col, select

from bot.settings import ConfigError, Settings
from bot.store.db import Store
from bot.store.models import AccountState

logger = logging.getLogger(__name__)

# Marks an encrypted row; a row without it was written in plain JSON by a release before
# encryption, is read as it is and written back encrypted.
SEALED_PREFIX = "fernet:"
KEY_FILE_NAME = "socialbridge.key"
DEFAULT_DATA_DIR = Path("data")


class SessionCipher:
    """Seals and opens stored sessions; `where` says where the key came from, for logs."""

    def __init__(self, keys: list[bytes], *, where: str) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.where = where

    def seal(self, plaintext: str) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plaintext; raises InvalidToken when no key of ours sealed it."""
        return self._fernet.decrypt(sealed.removeprefix(SEALED_PREFIX).encode()).decode()


def data_dir(database_url: str) -> Path:
    """Where the bot keeps its files: beside the SQLite file, else `data/`."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent
    return DEFAULT_DATA_DIR


def session_cipher(settings: Settings) -> SessionCipher:
    """The cipher of SOCIALBRIDGE_SECRET_KEY, or of the key file (made on first use)."""
    if settings.secret_key is not None:
        keys = [k.strip().encode() for k in settings.secret_key.reveal().split(",")]
        return SessionCipher(keys, where="SOCIALBRIDGE_SECRET_KEY")
    path = data_dir(settings.database_url) / KEY_FILE_NAME
    return SessionCipher([_key_from_file(path)], where=str(path))


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        _create_key_file(path)
    try:
        key = path.read_bytes().strip()
        Fernet(key)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: not a readable Fernet key ({type(exc).__name__}); restore it from a "
            "backup, or delete it and log the accounts in again"
        ) from None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("%s can be read by other users; chmod 600 it", path)
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key atomically with mode 0600: a second process starting at the same
    moment links its own file in vain and reads the first one's key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(Fernet.generate_key() + b"\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return
    finally:
        os.unlink(temporary)
    logger.warning(
        "SOCIALBRIDGE_SECRET_KEY is not set: made a key for the stored network logins in %s "
        "(mode 0600). Back it up with the database, or set SOCIALBRIDGE_SECRET_KEY (needed "
        "when instances on several machines share one database)",
        path,
    )


class StoredSessions:
    """SessionStore on the account_state table, encrypted at rest."""

    def __init__(self, store: Store, cipher: SessionCipher) -> None:
        self.store = store
        self.cipher = cipher

    def load_session(self, account: str) -> str | None:
        with self.store.read() as session:
            state = session.get(AccountState, account)
            raw = state.session_json if state is not None else None
        if not raw:
            return None
        if not raw.startswith(SEALED_PREFIX):
            _replace(self.store, account, old=raw, new=self.cipher.seal(raw))
            return raw
        try:
            return self.cipher.open(raw)
        except InvalidToken:
            logger.error(
                "account %s: the stored network login cannot be decrypted: the key (%s) "
                "changed since it was saved. Logging in again with the configured "
                "credentials; if that fails, log the account in again and set fresh "
                "credentials (for X a new access and refresh token)",
                account,
                self.cipher.where,
            )
            return None

    def save_session(self, account: str, session_json: str) -> None:
        sealed = self.cipher.seal(session_json)
        with self.store.session() as session:
            state = session.get(AccountState, account) or AccountState(account=account)
            state.session_json = sealed
            session.add(state)


def seal_plain_sessions(store: Store, cipher: SessionCipher) -> int:
    """Encrypt every row still in plain text (from before encryption, or from an account
    no longer configured); returns how many."""
    with store.read() as session:
        rows = session.exec(
            select(AccountState.account, AccountState.session_json).where(
                col(AccountState.session_json).is_not(None),
                sa.not_(col(AccountState.session_json).startswith(SEALED_PREFIX)),
                col(AccountState.session_json) != "",
            )
        ).all()
    sealed = sum(
        _replace(store, account, old=raw, new=cipher.seal(raw)) for account, raw in rows if raw
    )
    if sealed:
        logger.info("encrypted %d network logins stored in plain text by an older release", sealed)
    return sealed


def _replace(store: Store, account: str, *, old: str, new: str) -> bool:
    """Compare and set: a login another instance saved meanwhile is not overwritten."""
    with store.session() as session:
        result = session.execute(
            sa.update(AccountState)
            .where(col(AccountState.account) == account, col(AccountState.session_json) == old)
            .values(session_json=new)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
