from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.dburls import BACKENDS, database_url, postgres_base_url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("postgresql_only")
        metafunc.parametrize("backend", ["postgresql"] if only else BACKENDS)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "postgresql" and postgres_base_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set; PostgreSQL store tests need it")
    with database_url(backend, tmp_path) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    yield store
    store.dispose()
