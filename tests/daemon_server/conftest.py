"""Fixtures for driving the real daemon: hermetic settings, the emulator, a running daemon, a sign-in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from cway_contract.contract import SignInStatus
from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon, daemon_env, running_daemon


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """Settings for a daemon with no reachable IdP (enough for socket and API-shape tests)."""
    values = daemon_env()
    yield values
    shutil.rmtree(values["CWAY_TEST_BASE"], ignore_errors=True)


@pytest.fixture
def daemon(env: dict[str, str]) -> Iterator[RunningDaemon]:
    with running_daemon(env) as running:
        yield running


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(auto_approve=True) as server:
        yield server


@pytest.fixture
def emu_env(emu: EmulatorServer) -> Iterator[dict[str, str]]:
    values = daemon_env(emu.env())
    emu.register_redirect_uri(values["AZURE_REDIRECT_URI"])
    yield values
    shutil.rmtree(values["CWAY_TEST_BASE"], ignore_errors=True)


@pytest.fixture
def emu_daemon(emu_env: dict[str, str]) -> Iterator[RunningDaemon]:
    with running_daemon(emu_env) as running:
        yield running


@dataclass(frozen=True)
class SignedIn:
    status: SignInStatus
    redirect_url: str
    callback: httpx.Response


def browser_sign_in(daemon: RunningDaemon, emu: EmulatorServer, username: str | None = None) -> SignedIn:
    """Start a flow over the socket, "use the browser" at the emulator, follow the redirect to the daemon."""
    flow = daemon.call(lambda c: c.start_sign_in(username))
    assert flow.state == "pending" and flow.authorization_url
    location = emu.browser_sign_in(flow.authorization_url, username)
    assert location.startswith(daemon.settings.redirect.uri + "?")
    callback = httpx.get(location, trust_env=False, timeout=30)
    status = daemon.call(lambda c: c.sign_in_status(flow.flow_id))
    return SignedIn(status=status, redirect_url=location, callback=callback)
