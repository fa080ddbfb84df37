"""The shim as a process: daemon autostart (on, off, failing), its exit on bad configuration, and
what it imports. No daemon fixture here: these tests start from "nothing is running"."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cway_contract.daemon_client import DaemonClient, DaemonUnavailable
from tests.shim.harness import kill_daemon_pid, shim_session, text_of

ALICE = "alice@contoso.example"
FORBIDDEN_IN_SHIM = ("fastapi", "uvicorn", "apscheduler", "cway_authd", "cway_emulator")
#: Loaded on first use only: graphql-core validates graphql_query documents, not every start;
#: websockets carries the AI tools' subscriptions.
LAZY_IN_SHIM = ("graphql", "websockets")


async def daemon_pid(socket_path: Path) -> int | None:
    try:
        async with DaemonClient(socket_path, timeout=5) as client:
            return (await client.health()).pid
    except DaemonUnavailable:
        return None


@contextlib.asynccontextmanager
async def reaping_autostarted_daemon(env: dict[str, str]) -> AsyncIterator[None]:
    """Whatever happens in the block, stop a daemon that a shim started on this socket."""
    try:
        yield
    finally:
        pid = await daemon_pid(Path(env["CWAY_MCP_SOCKET"]))
        if pid is not None and pid != os.getpid():
            await asyncio.to_thread(kill_daemon_pid, pid)


@pytest.mark.slow
async def test_autostart_starts_one_daemon_for_two_shims(env: dict[str, str]) -> None:
    socket_path = Path(env["CWAY_MCP_SOCKET"])
    assert not socket_path.exists()
    autostart_env = {**env, "CWAY_MCP_AUTOSTART": "1"}
    async with (
        reaping_autostarted_daemon(env),
        shim_session({**autostart_env, "CWAY_USERNAME": ALICE}) as first,
        shim_session(autostart_env) as second,
    ):
        # Both shims find no daemon at the same moment; both start one; one daemon wins.
        answers = await asyncio.gather(first.ok("list_authenticated_users"), second.ok("list_authenticated_users"))
        assert all(a.structured_content == {"count": 0, "accounts": []} for a in answers)
        pid = await daemon_pid(socket_path)
        assert pid is not None and pid != os.getpid()
        assert "Cway sign-in needed for alice@contoso.example" in await first.error("whoami")
        log = Path(env["CWAY_MCP_STATE_DIR"]) / "daemon.log"
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert await daemon_pid(socket_path) is None  # the reaper stopped it


@pytest.mark.slow
async def test_autostart_off_says_how_to_start_the_daemon(env: dict[str, str]) -> None:
    async with shim_session({**env, "CWAY_MCP_AUTOSTART": "0", "CWAY_USERNAME": ALICE}) as shim:
        texts = [await shim.error("list_projects"), await shim.error("whoami")]
    for text in texts:
        assert "The cway-auth daemon is not running" in text
        assert "CWAY_MCP_AUTOSTART=0" in text
        assert "`cway-auth daemon`" in text
        assert "`cway-auth service install`" in text
    assert not Path(env["CWAY_MCP_SOCKET"]).exists()


@pytest.mark.slow
async def test_a_daemon_that_cannot_start_is_reported(env: dict[str, str]) -> None:
    broken = {k: v for k, v in env.items() if k != "AZURE_CLIENT_ID"}  # the daemon refuses to start without it
    async with reaping_autostarted_daemon(env), shim_session({**broken, "CWAY_MCP_AUTOSTART": "1"}) as shim:
        text = await shim.error("list_authenticated_users")
    assert "The cway-auth daemon could not start" in text
    assert "AZURE_CLIENT_ID" in text
    assert "`cway-auth daemon`" in text


def test_version_and_help_answer_without_starting_a_server() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "cway_mcp_shim", "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("cway-mcp ")
    usage = subprocess.run(
        [sys.executable, "-m", "cway_mcp_shim", "--help"], capture_output=True, text=True, timeout=60
    )
    assert usage.returncode == 0 and "CWAY_USERNAME" in usage.stdout


def test_the_shim_imports_no_daemon_or_web_server_code() -> None:
    """What ``cway-mcp`` loads: its entry point refuses the SDK's optional uvicorn, then imports the server."""
    code = (
        "import sys; from cway_mcp_shim.__main__ import skip_optional_uvicorn; skip_optional_uvicorn(); "
        "import cway_mcp_shim.server; "
        "print(sorted(m for m, module in sys.modules.items() if module is not None and "
        f"m.split('.')[0] in {set(FORBIDDEN_IN_SHIM + LAZY_IN_SHIM)!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_importing_the_shim_package_leaves_uvicorn_importable() -> None:
    """Only the entry point refuses uvicorn; importing the package has no such side effect."""
    code = "import cway_mcp_shim.server, cway_mcp_shim.__main__, uvicorn.main; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


async def test_a_tool_error_is_never_a_traceback(env: dict[str, str]) -> None:
    async with shim_session({**env, "CWAY_MCP_AUTOSTART": "0"}) as shim:
        result = await shim.call("get_project", {"project_id": "not-a-uuid"})
        texts = [text_of(result), await shim.error("list_projects")]
    assert result.is_error
    assert not any("Traceback" in t for t in texts)
