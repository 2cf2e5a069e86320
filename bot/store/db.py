"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick the psycopg driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


class Store:
    """The database: one engine, short transactions, nothing cached in memory."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = _make_engine(self.url)
        # SQLite lets one writer in at a time and makes the others poll with growing sleeps
        # (1, 2, 5, 10 ... 100 ms: https://sqlite.org/c3ref/busy_timeout.html), which shows
        # up as tens of milliseconds of latency. Within one process, writers queue on a
        # lock instead and are woken the moment it is free.
        self._writer: contextlib.AbstractContextManager[object] = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        )
        # Reads need no write lock: on SQLite they begin DEFERRED (see _on_begin).
        self._read_engine = self.engine.execution_options(sqlite_deferred=True)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with (
            self._writer,
            Session(self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: on SQLite it does not take the write lock."""
        with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (what `socialbridge db upgrade` runs)."""
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def create_private_file(path: Path) -> None:
    """Make the database file 0600 in a directory made 0700 before SQLite opens it: it holds
    customers' posts and names. SQLite gives its -wal and -shm files the database file's
    mode (findCreateFileMode in its os_unix.c). What already exists is left as it is."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _make_engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        # No pre-ping: it is a round trip before every transaction (a quarter of a reply's
        # statements). Connections are recycled before servers and proxies drop idle ones
        # (PgBouncer's server_idle_timeout is 600 s), and a connection that died anyway is
        # reported by the statement itself, which the outbox retries like any error.
        # https://docs.sqlalchemy.org/en/20/core/pooling.html#setting-pool-recycle
        return sa.create_engine(url, pool_recycle=300, pool_size=10, max_overflow=10)
    database = sa.engine.make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        create_private_file(Path(database))
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=10
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
        # "begin" below can take the write lock up front.
        # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # BEGIN IMMEDIATE: a deferred transaction that reads and then writes can fail with
        # SQLITE_BUSY at once instead of waiting (https://sqlite.org/lang_transaction.html).
        # Store.read() transactions never write, so they begin deferred and take no lock.
        if connection.get_execution_options().get("sqlite_deferred"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
