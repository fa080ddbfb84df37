"""The shim under a client we did not write: MCP Inspector's CLI mode (0.15.0, the last release that
runs on Node 20). It must list the tools, answer ``whoami`` for a signed-in account, and answer a
sign-in-needed call with a plain tool error rather than a protocol error it would hang on.

Skipped (with the reason) when ``npx`` is missing or the package cannot be fetched. The npm cache
lives under /tmp (``CWAY_TEST_NPM_CACHE`` overrides it), so CI can keep it between runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

import httpx
import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon

pytestmark = pytest.mark.slow

INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"
NPM_CACHE = os.environ.get("CWAY_TEST_NPM_CACHE", "/tmp/cway-mcp-npm-cache")
INSTALL_TIMEOUT = 300
CALL_TIMEOUT = 120
ALICE = "alice@contoso.example"
SHIM_SETTINGS = (
    "HOME",
    "AUTH_METHOD",
    "CWAY_API_URL",
    "CWAY_MCP_CONFIG",
    "CWAY_MCP_SOCKET",
    "CWAY_MCP_STATE_DIR",
    "AZURE_REDIRECT_URI",
    "CWAY_MCP_OPEN_BROWSER",
)


def npm_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CWAY_", "AZURE_", "AUTH_"))}
    env.update(npm_config_cache=NPM_CACHE, npm_config_update_notifier="false", npm_config_fund="false")
    return env


@pytest.fixture(scope="module")
def npx() -> str:
    exe = shutil.which("npx")
    if exe is None:
        pytest.skip("npx is not installed (Node.js is needed for MCP Inspector)")
    try:
        done = subprocess.run(
            [exe, "-y", INSPECTOR, "--cli", "--help"],
            env=npm_env(),
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"installing {INSPECTOR} took more than {INSTALL_TIMEOUT} s")
    if done.returncode != 0:
        reason = [ln for ln in (done.stderr + done.stdout).splitlines() if "error" in ln.lower()][:2]
        pytest.skip(f"{INSPECTOR} cannot be installed from the registry: {' '.join(reason) or done.returncode}")
    return exe


def inspector(npx: str, env: Mapping[str, str], *method: str) -> dict[str, object]:
    """One Inspector CLI run against a freshly spawned shim; returns its JSON answer."""
    flags = [arg for key in SHIM_SETTINGS if key in env for arg in ("-e", f"{key}={env[key]}")]
    flags += ["-e", f"CWAY_USERNAME={env['CWAY_USERNAME']}", "-e", "CWAY_MCP_AUTOSTART=0"]
    command = [npx, "-y", INSPECTOR, "--cli", *flags, sys.executable, "-m", "cway_mcp_shim", *method]
    done = subprocess.run(
        command,
        env=npm_env(),
        cwd=env["CWAY_TEST_BASE"],
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"inspector failed ({done.returncode}): {done.stderr[-2000:]}"
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def sign_in_directly(daemon: RunningDaemon, emu: EmulatorServer, username: str) -> None:
    status = daemon.call(lambda c: c.start_sign_in(username))
    assert status.authorization_url
    location = emu.browser_sign_in(status.authorization_url, username)
    assert httpx.get(location, trust_env=False, timeout=30).status_code == 200


def test_inspector_cli_lists_tools_and_calls_whoami(
    npx: str, emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    sign_in_directly(daemon, emu, ALICE)
    alice_env = {**env, "CWAY_USERNAME": ALICE}

    listed = inspector(npx, alice_env, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}  # type: ignore[attr-defined]
    assert {"login", "complete_login", "logout", "whoami", "list_authenticated_users", "list_projects"} <= names

    who = inspector(npx, alice_env, "--method", "tools/call", "--tool-name", "whoami")
    assert who.get("isError") in (None, False), who
    assert who["structuredContent"]["username"] == ALICE  # type: ignore[index]
    assert "Contoso Print" in who["content"][0]["text"]  # type: ignore[index]

    # Not signed in: a plain tool error with the URL (Inspector would hang on a -32042 error).
    bob = inspector(
        npx, {**env, "CWAY_USERNAME": "bob@contoso.example"}, "--method", "tools/call", "--tool-name", "whoami"
    )
    assert bob["isError"] is True
    assert emu.authorize_url in bob["content"][0]["text"]  # type: ignore[index]
