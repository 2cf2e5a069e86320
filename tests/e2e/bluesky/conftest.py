"""One Bluesky dev-env (PLC, AppView, PDS) for every test in this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bluesky.devenv import DevEnv, running_devenv


@pytest.fixture(scope="session")
def devenv() -> Iterator[DevEnv]:
    with running_devenv() as running:
        yield running
