"""The shim under a client we did not write: MCP Inspector's CLI mode (0.15.0, the last release that
runs on Node 20). It must list the tools, answer ``whoami`` for a signed-in account, and answer a
sign-in-needed call with a plain tool error rather than a protocol error it would hang on.

Inspector is installed at set-up by ``make test`` / ``make demo`` (``.tools/``, from the npm
registry); the test itself touches nothing beyond loopback and is skipped, with the reason, where
that install could not happen (no Node.js/npm).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon

pytestmark = pytest.mark.slow

#: Installed by the Makefile (``$(INSPECTOR_STAMP)``); ``CWAY_TEST_INSPECTOR`` points elsewhere.
INSPECTOR_BIN = Path(
    os.environ.get(
        "CWAY_TEST_INSPECTOR", Path(__file__).resolve().parents[2] / ".tools/node_modules/.bin/mcp-inspector"
    )
)
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


def client_env() -> dict[str, str]:
    """Inspector's own environment: none of our settings (it passes the shim's with ``-e``)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("CWAY_", "AZURE_", "AUTH_"))}


@pytest.fixture(scope="module")
def inspector_bin() -> Path:
    if not INSPECTOR_BIN.exists():
        pytest.skip(f"MCP Inspector is not installed at {INSPECTOR_BIN} (make test installs it where npm exists)")
    if shutil.which("node") is None:
        pytest.skip("node is not installed (MCP Inspector runs on Node.js)")
    return INSPECTOR_BIN


def inspector(inspector_bin: Path, env: Mapping[str, str], *method: str) -> dict[str, object]:
    """One Inspector CLI run against a freshly spawned shim; returns its JSON answer."""
    flags = [arg for key in SHIM_SETTINGS if key in env for arg in ("-e", f"{key}={env[key]}")]
    flags += ["-e", f"CWAY_USERNAME={env['CWAY_USERNAME']}", "-e", "CWAY_MCP_AUTOSTART=0"]
    command = [str(inspector_bin), "--cli", *flags, sys.executable, "-m", "cway_mcp_shim", *method]
    done = subprocess.run(
        command,
        env=client_env(),
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
    inspector_bin: Path, emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    sign_in_directly(daemon, emu, ALICE)
    alice_env = {**env, "CWAY_USERNAME": ALICE}

    listed = inspector(inspector_bin, alice_env, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}  # type: ignore[attr-defined]
    assert {"login", "complete_login", "logout", "whoami", "list_authenticated_users", "list_projects"} <= names

    who = inspector(inspector_bin, alice_env, "--method", "tools/call", "--tool-name", "whoami")
    assert who.get("isError") in (None, False), who
    assert who["structuredContent"]["username"] == ALICE  # type: ignore[index]
    assert "Contoso Print" in who["content"][0]["text"]  # type: ignore[index]

    # Not signed in: a plain tool error with the URL (Inspector would hang on a -32042 error).
    bob = inspector(
        inspector_bin,
        {**env, "CWAY_USERNAME": "bob@contoso.example"},
        "--method",
        "tools/call",
        "--tool-name",
        "whoami",
    )
    assert bob["isError"] is True
    assert "/sign-in/" in bob["content"][0]["text"]  # type: ignore[index]  # the short local sign-in link
