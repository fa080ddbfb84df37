"""``cway-auth`` like ``gh auth``: unbuffered progress, a daemon started by login, status/whoami truth,
default account, ``logout --all``, ``--json`` shapes (errors too), client config snippets, and the
warning when the environment overrides the config file. Real subprocesses against a real daemon."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from cway_contract.daemon_client import DaemonClient, DaemonError, DaemonUnavailable
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.daemon_server.test_cli import cli
from tests.helpers.daemon import RunningDaemon, process_env

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"


def read_lines_until(stream: object, predicate, timeout: float = 60.0) -> list[str]:  # type: ignore[no-untyped-def]
    """Lines from a pipe until one matches ``predicate`` (read in a thread, so a stuck pipe fails the test)."""
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)
            if predicate(line):
                found.set()
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert found.wait(timeout), "never saw the line; got: " + "".join(lines)
    return lines


@pytest.mark.slow
def test_login_through_a_pipe_under_python_E_shows_the_url_at_once_and_starts_the_daemon(
    emu: EmulatorServer, emu_env: dict[str, str]
) -> None:
    # pipx/uv launchers run `python -E`, so PYTHONUNBUFFERED cannot help; `| cat` makes stdout a pipe.
    env = process_env(emu_env)
    command = f'"$0" -E -m cway_authd.cli login {ALICE} --no-browser --timeout 120 | cat'
    process = subprocess.Popen(
        ["/bin/sh", "-c", command, sys.executable],
        env=env,
        cwd=emu_env["CWAY_TEST_BASE"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    socket_path = Path(emu_env["CWAY_MCP_SOCKET"])
    try:
        lines = read_lines_until(process.stdout, lambda line: line.strip().startswith("http"))
        assert process.poll() is None  # still waiting for the sign-in, and the URL is already through the pipe
        assert any("starting one" in line for line in lines)  # no daemon answered: login started it
        url = next(line.strip() for line in lines if line.strip().startswith("http"))
        location = emu.browser_sign_in(url, ALICE)
        assert httpx.get(location, trust_env=False, timeout=30).status_code == 200
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, "".join(lines) + rest
        assert f"Signed in as {ALICE}" in rest
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        pid = _daemon_pid(socket_path)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            _wait_gone(pid)


def _daemon_pid(socket_path: Path) -> int | None:
    import asyncio

    async def ask() -> int:
        async with DaemonClient(socket_path, timeout=5) as client:
            return (await client.health()).pid

    try:
        return asyncio.run(ask())
    except (DaemonUnavailable, DaemonError):
        return None


def _wait_gone(pid: int) -> None:
    for _ in range(600):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_help_shows_the_login_timeout_and_the_exit_codes(env: dict[str, str]) -> None:
    login_help = cli(env, "login", "--help")
    assert "give up after S seconds (default: 300)" in login_help.stdout
    main_help = cli(env, "--help")
    assert "exit codes:" in main_help.stdout and "3    the daemon is not reachable" in main_help.stdout


def test_errors_are_json_too(env: dict[str, str]) -> None:
    done = cli(env, "whoami", "--json")
    assert done.returncode == 3
    body = json.loads(done.stdout)
    assert body["error"]["code"] == "daemon_unavailable" and body["error"]["exit_code"] == 3
    assert set(body["error"]) >= {"code", "message", "exit_code"}
    bad = cli(env, "status", "--json", extra={"AZURE_REDIRECT_URI": "https://evil.example/cb"})
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["error"]["code"] == "configuration"


@pytest.mark.slow
def test_status_and_whoami_tell_the_truth_about_an_account_that_needs_a_sign_in(
    emu: EmulatorServer, emu_daemon: RunningDaemon
) -> None:
    env = emu_daemon.env
    browser_sign_in(emu_daemon, emu, ALICE)
    ok = cli(env, "status", "--json")
    assert ok.returncode == 0, ok.stderr
    payload = json.loads(ok.stdout)
    assert set(payload) == {"daemon", "accounts", "default_account", "settings", "warnings"}
    assert payload["settings"]["Cway URL"] == {
        "name": "CWAY_API_URL",
        "value": emu.cway_api_url,
        "source": "environment",
    }
    emu.revoke_user(ALICE)  # a password reset: the refresh is refused from now on
    with contextlib.suppress(DaemonError):
        emu_daemon.call(lambda c: c.force_refresh(ALICE))
    status = cli(env, "status")
    assert status.returncode == 1, status.stdout  # like `gh auth status`
    assert "sign-in needed" in status.stdout and f"cway-auth login {ALICE}" in status.stdout
    whoami = cli(env, "whoami")
    assert whoami.returncode == 1
    assert "Signed in as" not in whoami.stdout and f"{ALICE}: sign-in needed" in whoami.stdout
    as_json = json.loads(cli(env, "whoami", "--json").stdout)
    assert as_json["username"] == ALICE and as_json["state"] == "needs_sign_in"


@pytest.mark.slow
def test_switch_sets_the_default_account_and_logout_all_signs_everyone_out(
    emu: EmulatorServer, emu_daemon: RunningDaemon
) -> None:
    env = emu_daemon.env
    browser_sign_in(emu_daemon, emu, ALICE)
    browser_sign_in(emu_daemon, emu, BOB)
    ambiguous = cli(env, "whoami", "--json")
    assert ambiguous.returncode == 1
    assert json.loads(ambiguous.stdout)["error"]["accounts"] == [ALICE, BOB]
    assert cli(env, "switch", "nobody@contoso.example").returncode == 1  # only a signed-in account
    switched = cli(env, "switch", BOB, "--json")
    assert switched.returncode == 0 and json.loads(switched.stdout) == {"default_account": BOB}
    assert json.loads(cli(env, "whoami", "--json").stdout)["username"] == BOB
    # The daemon itself uses the default for a request that names no account (a shim without CWAY_USERNAME).
    assert emu_daemon.call(lambda c: c.bearer(None)).username == BOB
    out = cli(env, "logout", "--all", "--json")
    assert out.returncode == 0, out.stdout
    results = json.loads(out.stdout)["results"]
    assert sorted(r["username"] for r in results) == [ALICE, BOB] and all(r["removed"] for r in results)
    assert emu_daemon.call(lambda c: c.accounts()) == []
    assert json.loads(cli(env, "switch", "--json").stdout) == {"default_account": None}


@pytest.mark.parametrize(("client", "key"), [("claude", "mcpServers"), ("vscode", "servers"), ("cursor", "mcpServers")])
def test_client_config_snippets(env: dict[str, str], client: str, key: str) -> None:
    done = cli(env, "client-config", client, "--username", ALICE)
    assert done.returncode == 0, done.stderr
    server = json.loads(done.stdout)[key]["cway"]
    assert Path(server["command"]).is_absolute() and Path(server["command"]).name == "cway-mcp"
    assert server["env"] == {"CWAY_USERNAME": ALICE}
    assert (server.get("type") == "stdio") == (client == "vscode")
    assert "merge this into" in done.stderr
    as_json = json.loads(cli(env, "client-config", client, "--username", ALICE, "--json").stdout)
    assert as_json["snippet"][key]["cway"] == server and as_json["config_file"]


def test_client_config_for_the_inspector_is_a_command(env: dict[str, str]) -> None:
    done = cli(env, "client-config", "inspector", "--username", ALICE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "npx -y @modelcontextprotocol/inspector@0.15.0 -e CWAY_USERNAME=alice@contoso.example /"
    )


def test_an_environment_override_of_the_config_file_is_warned_about(env: dict[str, str]) -> None:
    config = Path(env["CWAY_MCP_CONFIG"])
    config.write_text('AZURE_CLIENT_ID = "the-cway-app"\n')
    # AZURE_CLIENT_ID in the environment (the Azure SDK's service-principal variable) differs.
    done = cli(env, "doctor", "--json")
    payload = json.loads(done.stdout)
    assert done.returncode == 1
    override = [c for c in payload["checks"] if c["what"] == "configuration override"]
    assert len(override) == 1 and "overrides AZURE_CLIENT_ID='the-cway-app'" in override[0]["detail"]
    assert "CWAY_AZURE_CLIENT_ID" in override[0]["fix"]
    assert payload["settings"]["client id"]["source"] == "environment"
    text = cli(env, "doctor")
    assert "✗ configuration override: AZURE_CLIENT_ID=" in text.stdout
    assert "client id:" in text.stdout and "[environment]" in text.stdout
    # CWAY_AZURE_CLIENT_ID wins over both, and then nothing is surprising.
    fixed = cli(env, "doctor", "--json", extra={"CWAY_AZURE_CLIENT_ID": "the-cway-app"})
    fixed_payload = json.loads(fixed.stdout)
    assert not [c for c in fixed_payload["checks"] if c["what"] == "configuration override"]
    assert fixed_payload["settings"]["client id"] == {
        "name": "AZURE_CLIENT_ID",
        "value": "the-cway-app",
        "source": "environment as CWAY_AZURE_CLIENT_ID",
    }
    status = cli(env, "status")
    assert "warning: AZURE_CLIENT_ID=" in status.stderr


@pytest.mark.slow
def test_login_counts_down_on_a_terminal(emu_daemon: RunningDaemon) -> None:
    import pty

    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cway_authd.cli", "login", ALICE, "--no-browser", "--timeout", "3"],
        env=process_env(emu_daemon.env),
        cwd=emu_daemon.env["CWAY_TEST_BASE"],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    output = b""
    with contextlib.suppress(OSError):  # EIO once the process has exited and the pty is drained
        while chunk := os.read(primary, 4096):
            output += chunk
    os.close(primary)
    assert process.wait(30) == 1
    text = output.decode()
    assert "(up to 0:03; Ctrl-C to stop)" in text
    assert "\r  0:03 left" in text and "\r  0:01 left" in text  # redrawn in place, second by second
    assert "gave up waiting after 3s" in text


def test_doctor_does_not_pass_a_missing_tenant(env: dict[str, str]) -> None:
    no_authority = {k: v for k, v in env.items() if k not in ("AZURE_AUTHORITY", "AZURE_TENANT_ID")}
    done = cli(no_authority, "doctor", "--json")
    tenant = [c for c in json.loads(done.stdout)["checks"] if c["what"] == "tenant"]
    assert tenant and tenant[0]["ok"] is False and "AZURE_TENANT_ID" in tenant[0]["fix"]
    given = cli({**no_authority, "AZURE_TENANT_ID": "contoso"}, "doctor", "--json")
    tenant = [c for c in json.loads(given.stdout)["checks"] if c["what"] == "tenant"]
    assert tenant[0]["ok"] is True and tenant[0]["detail"].startswith("contoso (environment); authority https://")
