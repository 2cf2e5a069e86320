"""Databases for tests: a SQLite file per test, and a PostgreSQL schema per test when
TEST_DATABASE_URL is set (CI sets it), so every store test runs on both."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from bot.store.db import normalize_url

BACKENDS = ["sqlite", "postgresql"]


def postgres_base_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return normalize_url(url) if url else None


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL of the given backend; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'socialbridge.db'}"
        return
    base = postgres_base_url()
    if base is None:
        raise RuntimeError("TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
