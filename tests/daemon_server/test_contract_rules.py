"""The contract's small rules, on the real daemon: blank usernames, the documented 401, and where a socket may live.

* The OpenAPI document admits exactly the usernames the daemon accepts: one rule (``is_blank_username``)
  is both the daemon's check and the document's ``minLength``/``pattern``.
* Every status the token routes answer is documented (401 ``not_signed_in`` among them).
* The daemon refuses to serve where every client would refuse its socket (a directory above it
  that others can write to), with one line and exit status 4; and a client that refuses a socket
  says what is wrong there instead of advising to start a daemon that may well be running.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from jsonschema import Draft202012Validator
from mcp.server.mcpserver.exceptions import ToolError

from cway_contract.config import load_settings
from cway_contract.contract import ErrorCode, Route
from cway_mcp_shim.daemon_access import DaemonAccess
from tests.helpers.daemon import RunningDaemon, process_env

WHITE_SPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
BLANK = ["", *WHITE_SPACE, " \t\u3000\n"]
NOT_BLANK = ["a", " alice@example.com ", "\u3000x\u3000", "team/x", "\u200b", "\ufeff", "0"]


def _client(path: Path) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://cway-authd", timeout=15)


def test_the_openapi_document_admits_exactly_the_usernames_the_daemon_accepts(daemon: RunningDaemon) -> None:
    with _client(daemon.socket_path) as client:
        spec = client.get(Route.OPENAPI).json()
        body_schema = Draft202012Validator(spec["components"]["schemas"]["TokenRequest"])
        account = spec["paths"]["/v1/accounts/{username}"]["get"]["parameters"][0]
        assert account["name"] == "username"
        path_schema = Draft202012Validator(account["schema"])
        disagreements = []
        for name in BLANK + NOT_BLANK:
            token = client.post(Route.TOKEN, json={"username": name})
            refused = token.status_code == 400 and token.json()["error"] == ErrorCode.BAD_REQUEST.value
            if body_schema.is_valid({"username": name}) == refused:
                disagreements.append(("POST /v1/token", name, token.status_code))
            whoami = client.get(f"{Route.ACCOUNTS}/{quote(name, safe='')}")
            refused = whoami.status_code == 400
            if path_schema.is_valid(name) == refused:
                disagreements.append(("GET /v1/accounts/{username}", name, whoami.status_code))
    assert not disagreements, disagreements


@pytest.mark.parametrize("route", [Route.TOKEN, Route.TOKEN_REFRESH])
def test_every_status_of_the_token_routes_is_documented(daemon: RunningDaemon, route: str) -> None:
    with _client(daemon.socket_path) as client:
        documented = client.get(Route.OPENAPI).json()["paths"][route]["post"]["responses"]
        answers = {
            client.post(route, json={}).status_code,  # no account at all: 401 not_signed_in
            client.post(route, json={"username": "nobody@example.com"}).status_code,  # 401 too
            client.post(route, json={"username": 42}).status_code,  # 400
            client.post(route, content=b"{" * 70_000).status_code,  # 413
        }
    assert answers == {400, 401, 413}
    assert {str(status) for status in answers} <= set(documented), documented
    assert "422" not in documented  # a request that fails validation gets 400, never FastAPI's 422


def test_the_daemon_refuses_to_serve_where_no_client_would_trust_its_socket(env: dict[str, str]) -> None:
    base = Path(env["CWAY_TEST_BASE"])
    shared = base / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103 - the misconfiguration under test: anyone could swap the socket
    socket_path = shared / "run" / "daemon.sock"
    env["CWAY_MCP_SOCKET"] = str(socket_path)
    done = subprocess.run(
        [sys.executable, "-m", "cway_authd.cli", "daemon"],
        env=process_env(env),
        cwd=base,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4, done.stderr  # bad permissions: the service manager does not restart it
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line or "ERROR" in line.split(":")[0]]
    assert len(errors) == 1, done.stderr
    assert f"no client would trust a socket at {socket_path}" in errors[0]
    assert f"{shared} (mode 0777) is writable by everyone" in errors[0]
    assert "Traceback" not in done.stderr
    assert not socket_path.exists()


@pytest.fixture
def loosened(daemon: RunningDaemon) -> Iterator[Path]:
    """The running daemon's base directory, opened to everyone after it started: every client now refuses the socket."""
    base = Path(daemon.env["CWAY_TEST_BASE"])
    os.chmod(base, 0o777)  # noqa: S103 - the situation under test
    yield base
    os.chmod(base, 0o700)


def test_the_cli_says_why_it_refuses_the_socket_not_to_start_a_daemon(daemon: RunningDaemon, loosened: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cway_authd.cli", "status"],
        env=process_env(daemon.env),
        cwd=daemon.env["CWAY_TEST_BASE"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert f"{loosened} (mode 0777) is writable by everyone" in said
    assert "starting a daemon will not help" in said
    assert not re.search(r"\bstart the daemon", said) and "`cway-auth daemon`" not in said
    assert "Traceback" not in said


def test_the_shim_says_why_it_refuses_the_socket_and_starts_no_daemon(daemon: RunningDaemon, loosened: Path) -> None:
    env = {**daemon.env, "CWAY_MCP_AUTOSTART": "1"}
    settings = load_settings(env, component="shim", cwd=Path(env["CWAY_TEST_BASE"]))
    access = DaemonAccess(settings)

    async def ask() -> None:
        try:
            await access.bearer(None)
        finally:
            await access.aclose()

    with pytest.raises(ToolError) as refused:
        asyncio.run(ask())
    message = str(refused.value)
    assert f"{loosened} (mode 0777) is writable by everyone" in message
    assert "starting a daemon will not help" in message
    assert "Start it with" not in message and "could not start" not in message
    assert not (settings.state_dir / "daemon.log").exists()  # no daemon was spawned
