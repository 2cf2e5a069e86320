"""One Bluesky dev-env (PLC, AppView, PDS) for every test in this folder, and per module the
bot between it and the fake Slack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bluesky.devenv import DevEnv, running_devenv
from tests.e2e.bluesky.world import World, accounts_toml
from tests.e2e.harness import scene


@pytest.fixture(scope="session")
def devenv() -> Iterator[DevEnv]:
    with running_devenv() as running:
        yield running


@pytest.fixture(scope="module")
def world(devenv: DevEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    brand = devenv.create_account("acmebrand")
    with scene(
        tmp_path_factory.mktemp("bluesky"),
        extra_accounts=accounts_toml(devenv, brand),
        extra_env={"ACME_BLUESKY_APP_PASSWORD": devenv.app_password(brand)},
    ) as running:
        yield World(running, devenv, brand)
