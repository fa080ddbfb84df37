"""Fixtures for the shim's end-to-end tests: one emulator per module, a hermetic environment and
a real daemon per test. The shim itself is spawned by each test through ``harness.shim_session``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon, daemon_env, running_daemon


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # load_settings() in this process must never read the developer's config file.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def env(emu: EmulatorServer) -> Iterator[dict[str, str]]:
    """Settings shared by the daemon and the shims of one test (fresh emulator data and counters)."""
    emu.reset()
    values = daemon_env(emu.env())
    emu.register_redirect_uri(values["AZURE_REDIRECT_URI"])
    yield values
    shutil.rmtree(values["CWAY_TEST_BASE"], ignore_errors=True)


@pytest.fixture
def daemon(env: dict[str, str]) -> Iterator[RunningDaemon]:
    with running_daemon(env, cleanup=False) as running:
        yield running
