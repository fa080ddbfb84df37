"""The shim finds the running daemon whatever environment the MCP client passes.

Desktop clients spawn the shim with a trimmed environment: the MCP SDK's stdio client passes only
HOME, LOGNAME, PATH, SHELL, TERM and USER (``mcp.client.stdio.get_default_environment()``) plus
the config's ``env`` block. These tests spawn the shim with exactly that, while a daemon started
from a full desktop session (``XDG_RUNTIME_DIR=/run/user/<uid>``, or an explicit socket) runs, and
check that the shim talks to that daemon instead of autostarting a second one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.stdio import get_default_environment

from cway_contract.contract import RUN_USER_ROOT
from cway_contract.daemon_client import DaemonClient, DaemonUnavailable
from tests.helpers.daemon import free_port, short_tmpdir
from tests.shim.harness import Shim

pytestmark = pytest.mark.slow

#: Serialises the one test that must use the machine's real /run/user/<uid> across parallel runs.
RUN_USER_TEST_LOCK = Path("/tmp/cway-mcp-run-user-test.lock")


def write_user_config(home: Path) -> Path:
    """The person's config.toml where a client with no XDG_CONFIG_HOME finds it: ~/.config/cway-mcp/."""
    config = home / ".config" / "cway-mcp" / "config.toml"
    config.parent.mkdir(parents=True)
    port = free_port()
    config.write_text(
        'AZURE_CLIENT_ID = "00000000-0000-0000-0000-00000000c11e"\n'
        f'AZURE_REDIRECT_URI = "http://localhost:{port}/callback"\n'
        'AZURE_AUTHORITY = "http://127.0.0.1:9/tenant/v2.0"\n'
        'CWAY_API_URL = "http://127.0.0.1:9/graphql"\n'
        f'CWAY_MCP_STORE_KEY = "{Fernet.generate_key().decode()}"\n'
        "CWAY_MCP_OPEN_BROWSER = 0\n"
    )
    return config


@contextlib.contextmanager
def desktop_daemon(home: Path, extra: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``cway-auth daemon`` as a desktop session starts it: HOME, PATH and ``extra`` (no test overrides)."""
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1", **extra}
    log = (home / "daemon-test.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "cway_authd.cli", "daemon"], env=env, cwd=home, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)
        log.close()


async def wait_for_health(socket_path: Path, process: subprocess.Popen[bytes], home: Path) -> int:
    import asyncio

    for _ in range(400):
        if process.poll() is not None:
            raise AssertionError((home / "daemon-test.log").read_text())
        with contextlib.suppress(DaemonUnavailable):
            async with DaemonClient(socket_path, timeout=5) as client:
                return (await client.health()).pid
        await asyncio.sleep(0.05)
    raise AssertionError(f"no daemon on {socket_path}: " + (home / "daemon-test.log").read_text())


@contextlib.asynccontextmanager
async def trimmed_shim(home: Path, monkeypatch: pytest.MonkeyPatch, env_block: dict[str, str]):  # type: ignore[no-untyped-def]
    """The shim spawned as the MCP SDK's stdio client spawns it: its default environment + the env block."""
    monkeypatch.setenv("HOME", str(home))  # the SDK copies HOME from this process
    env = {**get_default_environment(), **env_block}
    assert set(env) <= {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", *env_block}
    params = StdioServerParameters(command=sys.executable, args=["-m", "cway_mcp_shim"], env=env, cwd=str(home))
    with (home / "shim.log").open("a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield Shim(session)


async def assert_no_second_daemon(shim: Shim, home: Path) -> None:
    answer = await shim.ok("list_authenticated_users")
    assert answer.structured_content == {"count": 0, "accounts": []}
    # An autostarted daemon writes <state dir>/daemon.log; the shim must not have started one.
    assert not (home / ".local" / "state" / "cway-mcp" / "daemon.log").exists()
    assert "could not start" not in (home / "shim.log").read_text()


@pytest.fixture
def home() -> Iterator[Path]:
    base = short_tmpdir()
    (base / "home").mkdir()
    write_user_config(base / "home")
    yield base / "home"
    shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def real_run_user_dir() -> Iterator[Path]:
    """This machine's /run/user/<uid>, created for the test (and removed after) where it is missing."""
    uid = os.geteuid()
    runtime = RUN_USER_ROOT / str(uid)
    RUN_USER_TEST_LOCK.touch(mode=0o600, exist_ok=True)
    with RUN_USER_TEST_LOCK.open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        created = False
        if not runtime.exists():
            try:
                runtime.mkdir(mode=0o700)
            except OSError as exc:
                pytest.skip(f"{runtime} does not exist and cannot be created here ({exc.strerror})")
            created = True
        try:
            if (runtime / "cway-mcp" / "daemon.sock").exists():
                pytest.skip(f"a cway-mcp daemon socket already exists in {runtime}; not disturbing it")
            yield runtime
        finally:
            if created:
                shutil.rmtree(runtime, ignore_errors=True)


async def test_a_trimmed_environment_finds_the_daemon_of_the_desktop_session(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with real_run_user_dir() as runtime, desktop_daemon(home, {"XDG_RUNTIME_DIR": str(runtime)}) as process:
        socket_path = runtime / "cway-mcp" / "daemon.sock"
        assert await wait_for_health(socket_path, process, home) == process.pid
        async with trimmed_shim(home, monkeypatch, {"CWAY_USERNAME": "alice@contoso.example"}) as shim:
            await assert_no_second_daemon(shim, home)
        assert process.poll() is None


async def test_a_trimmed_environment_follows_the_daemon_holding_the_state_dir(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The daemon listens somewhere no rule predicts; only its record in the state dir says where.
    socket_path = home.parent / "elsewhere" / "d.sock"
    with desktop_daemon(home, {"CWAY_MCP_SOCKET": str(socket_path)}) as process:
        assert await wait_for_health(socket_path, process, home) == process.pid
        async with trimmed_shim(home, monkeypatch, {}) as shim:
            await assert_no_second_daemon(shim, home)
        assert process.poll() is None


async def test_a_shim_started_first_follows_a_daemon_that_starts_later(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_path = home.parent / "later" / "d.sock"
    async with trimmed_shim(home, monkeypatch, {}) as shim:
        # The shim looked for a daemon at start and found none; one starts now, somewhere else.
        with desktop_daemon(home, {"CWAY_MCP_SOCKET": str(socket_path)}) as process:
            assert await wait_for_health(socket_path, process, home) == process.pid
            await assert_no_second_daemon(shim, home)
