"""``cway-auth`` as a user runs it: a real subprocess against a real daemon."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import RunningDaemon, process_env

REPO = Path(__file__).resolve().parents[2]


def cli(
    env: Mapping[str, str], *args: str, stdin: str | None = None, extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = process_env(env)
    full.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "cway_authd.cli", *args],
        env=full,
        cwd=env["CWAY_TEST_BASE"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["login", "--timeout", "abc"], ["whoami", "--bogus"]])
def test_usage_errors_exit_2(env: dict[str, str], args: list[str]) -> None:
    done = cli(env, *args)
    assert done.returncode == 2
    assert "usage: cway-auth" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_error_is_one_line_without_traceback(env: dict[str, str]) -> None:
    done = cli(env, "status", extra={"AZURE_REDIRECT_URI": "https://evil.example/callback"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "AZURE_REDIRECT_URI" in lines[0] and "loopback" in lines[0]


def test_daemon_not_running_says_how_to_start_it(env: dict[str, str]) -> None:
    done = cli(env, "whoami")
    assert done.returncode == 3
    assert "cway-auth daemon" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_whoami_token_never_print_a_token(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    signed = browser_sign_in(emu_daemon, emu)
    username = signed.status.username
    assert username
    token = emu_daemon.call(lambda c: c.bearer(None)).access_token

    whoami = cli(emu_daemon.env, "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert f"Signed in as {username}" in whoami.stdout
    assert re.search(r"access token:\s+expires .+ \(in \d+m \d+s\)", whoami.stdout), whoami.stdout
    assert re.search(r"sign-in valid:\s+until Cway refuses its refresh token", whoami.stdout), whoami.stdout
    as_json = json.loads(cli(emu_daemon.env, "whoami", username, "--json").stdout)
    assert as_json["username"] == username and as_json["state"] == "ok"

    status = cli(emu_daemon.env, "status")
    assert status.returncode == 0 and username in status.stdout and "ACCOUNT" in status.stdout
    status_json = json.loads(cli(emu_daemon.env, "status", "--json").stdout)
    assert status_json["daemon"]["pid"] == os.getpid() and status_json["accounts"][0]["username"] == username

    masked = cli(emu_daemon.env, "token")
    assert masked.returncode == 0 and "sha256:" in masked.stdout

    for done in (whoami, status, masked):
        for stream in (done.stdout, done.stderr):
            assert token not in stream and token[:20] not in stream

    revealed = cli(emu_daemon.env, "token", "--reveal")
    assert revealed.stdout.strip() == token
    assert "warning" in revealed.stderr and token not in revealed.stderr


def test_login_with_browser_step_then_logout(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    full = process_env(emu_daemon.env)
    login = subprocess.Popen(
        [sys.executable, "-m", "cway_authd.cli", "login", "--no-browser", "--timeout", "60"],
        env=full,
        cwd=emu_daemon.env["CWAY_TEST_BASE"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert login.stdout is not None
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            line = login.stdout.readline()
            assert line, login.stderr.read() if login.stderr else ""
            if line.strip().startswith("http"):
                url = line.strip()
        location = emu.browser_sign_in(url)
        assert httpx.get(location, trust_env=False, timeout=30).status_code == 200
        out, err = login.communicate(timeout=30)
    finally:
        if login.poll() is None:
            login.kill()
            login.wait()
    assert login.returncode == 0, err
    assert "Signed in as " in out
    assert "code=" not in out and "code_verifier" not in out

    logout = cli(emu_daemon.env, "logout")
    assert logout.returncode == 0, logout.stderr
    assert emu_daemon.call(lambda c: c.accounts()) == []


def test_complete_reads_the_redirect_url_from_stdin(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    flow = emu_daemon.call(lambda c: c.start_sign_in(None))
    assert flow.authorization_url
    location = emu.browser_sign_in(flow.authorization_url)
    done = cli(emu_daemon.env, "complete", "-", stdin=location + "\n")
    assert done.returncode == 0, done.stderr
    assert "Signed in as " in done.stdout
    again = cli(emu_daemon.env, "complete", "-", stdin=location + "\n")
    assert again.returncode == 1 and "Traceback" not in again.stderr


def test_complete_needs_code_and_state_together(env: dict[str, str]) -> None:
    done = cli(env, "complete", "--code", "abc")
    assert done.returncode == 1 and "--code and --state" in done.stderr


def test_doctor_all_green_with_daemon_and_emulator(emu_daemon: RunningDaemon) -> None:
    done = cli(emu_daemon.env, "doctor")
    assert done.returncode == 0, done.stdout
    assert "✗" not in done.stdout
    for what in ("configuration", "state directory", "socket directory", "daemon", "store key", "identity provider"):
        assert f"✓ {what}:" in done.stdout
    assert "served by the cway-auth daemon" in done.stdout


def test_doctor_reports_a_missing_daemon(env: dict[str, str]) -> None:
    done = cli(env, "doctor")
    assert done.returncode == 1
    assert "✗ daemon: not reachable" in done.stdout and "fix: start it with `cway-auth daemon`" in done.stdout
    assert "✓ redirect port" in done.stdout


def test_doctor_names_the_config_file_it_reads(env: dict[str, str]) -> None:
    without = {k: v for k, v in env.items() if k != "CWAY_MCP_CONFIG"}
    done = cli(without, "doctor")
    where = subprocess.run(  # the platform's config dir, as the loader picks it under this HOME
        [sys.executable, "-c", "import platformdirs; print(platformdirs.user_config_dir('cway-mcp'))"],
        capture_output=True,
        text=True,
        env=without,
        check=True,
    ).stdout.strip()
    assert f"config file: {Path(where) / 'config.toml'}" in done.stdout, done.stdout
    explicit = cli(env, "doctor")
    assert f"config file: {env['CWAY_MCP_CONFIG']}" in explicit.stdout, explicit.stdout


def test_cli_module_does_not_import_the_daemon_machinery() -> None:
    probe = "import sys, cway_authd.cli; print(sorted(m for m in ('uvicorn', 'fastapi', 'apscheduler') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
