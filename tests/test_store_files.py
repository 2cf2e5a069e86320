"""The SQLite file holds customers' posts and names: only the bot's user may read it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Conversation, Store


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common default (022), under which files are world-readable unless made otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_a_new_database_and_its_directory_are_private_to_the_bot(tmp_path: Path) -> None:
    database = tmp_path / "data" / "socialbridge.db"
    store = Store(f"sqlite:///{database}")
    try:
        store.upgrade()
        with store.session() as session:  # a write, so that the WAL file exists
            session.add(Conversation(account="a", network="x", remote_root="r", slack_channel="C"))
        assert _mode(database.parent) == 0o700
        assert _mode(database) == 0o600
        for companion in ("socialbridge.db-wal", "socialbridge.db-shm"):
            assert _mode(database.parent / companion) == 0o600
    finally:
        store.dispose()
