"""Shared fixtures for the daemon-core tests: settings in a tmp state dir, a manual clock, fast retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.fernet import Fernet

from cway_authd.core import CallbackOutcome, DaemonCore
from cway_authd.refresh.engine import RetryPolicy
from cway_contract.clock import ManualClock
from cway_contract.config import Settings, load_settings
from cway_contract.contract import SignInStatus
from cway_emulator import EmulatorServer
from tests.helpers.daemon import free_port

MOCK_AUTHORITY = "https://login.example.test/tenant-1/v2.0"
MOCK_API_URL = "https://cway.example.test/graphql"
MOCK_TOKEN_URL = "https://cway.example.test/oauth/token"


class SleepRecorder:
    """An injectable ``sleep`` that returns at once and remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def clock() -> ManualClock:
    # Start at the real time: the emulator and ID-token checks use real "iat"/"exp".
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def fast_retry(sleeps: SleepRecorder) -> RetryPolicy:
    return RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, budget=5.0, sleep=sleeps)


@pytest.fixture
def store_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def make_settings(tmp_path: Path, store_key: str) -> Callable[..., Settings]:
    config = tmp_path / "config.toml"
    config.write_text("")

    def make(env: dict[str, str] | None = None, **overrides: str) -> Settings:
        values = {
            "CWAY_MCP_CONFIG": str(config),
            "AUTH_METHOD": "oauth2",
            "AZURE_CLIENT_ID": "client-123",
            "AZURE_AUTHORITY": MOCK_AUTHORITY,
            "CWAY_API_URL": MOCK_API_URL,
            "CWAY_TOKEN_URL": MOCK_TOKEN_URL,
            "AZURE_REDIRECT_URI": "http://127.0.0.1:8765/callback",
            "CWAY_MCP_STATE_DIR": str(tmp_path / "state"),
            "CWAY_MCP_SOCKET": str(tmp_path / "d.sock"),
            "CWAY_MCP_STORE_KEY": store_key,
            "CWAY_MCP_HTTP_TIMEOUT": "2",
        }
        values.update(env or {})
        values.update(overrides)
        return load_settings(values, component="daemon", cwd=tmp_path)

    return make


# ---- emulator-backed fixtures ------------------------------------------------------------------


ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
CAROL = "carol@contoso.example"


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[EmulatorServer]:
    """The emulator shares the test's ManualClock, so both sides agree on expiry."""
    async with EmulatorServer(clock=clock, auto_approve=True) as server:
        yield server


@pytest.fixture
def redirect_uri(emu: EmulatorServer) -> str:
    uri = f"http://127.0.0.1:{free_port()}/callback"
    emu.register_redirect_uri(uri)
    return uri


@pytest.fixture
def emu_settings(
    make_settings: Callable[..., Settings], emu: EmulatorServer, redirect_uri: str
) -> Callable[..., Settings]:
    def make(**overrides: str) -> Settings:
        return make_settings({**emu.env(), "AZURE_REDIRECT_URI": redirect_uri}, **overrides)

    return make


CoreFactory = Callable[..., Awaitable[DaemonCore]]


@pytest.fixture
async def open_core(
    emu_settings: Callable[..., Settings], clock: ManualClock, fast_retry: RetryPolicy
) -> AsyncIterator[CoreFactory]:
    """Open (and start) cores; every core still open at the end is stopped."""
    opened: list[DaemonCore] = []

    async def factory(*, start: bool = True, retry: RetryPolicy | None = None, **overrides: str) -> DaemonCore:
        core = await DaemonCore.open(emu_settings(**overrides), clock=clock, retry=retry or fast_retry)
        opened.append(core)
        if start:
            await core.start()
            await core.wait_started()
        return core

    yield factory
    for core in opened:
        await core.stop()


@pytest.fixture
async def core(open_core: CoreFactory) -> DaemonCore:
    return await open_core()


@dataclass
class SignInResult:
    status: SignInStatus
    params: dict[str, str]
    outcome: CallbackOutcome
    final: SignInStatus


async def browser(emu: EmulatorServer, url: str, as_user: str | None = None, *, approve: bool = True) -> dict[str, str]:
    """Play the browser; return the redirect's query (what the callback listener would receive)."""
    if as_user is not None or not approve:
        emu.knobs.auto_approve = False
    from cway_emulator import browser_sign_in_async

    location = await browser_sign_in_async(url, as_user, approve=approve)
    return dict(parse_qsl(urlsplit(location).query))


async def sign_in(
    core: DaemonCore, emu: EmulatorServer, username: str | None, as_user: str | None = None
) -> SignInResult:
    status = await core.start_sign_in(username)
    assert status.state == "pending" and status.authorization_url
    params = await browser(emu, status.authorization_url, as_user)
    outcome = await core.handle_callback(params)
    return SignInResult(status, params, outcome, core.sign_in_status(status.flow_id))


async def gather_all(*aws: Awaitable[object]) -> list[object]:
    return list(await asyncio.gather(*aws))
