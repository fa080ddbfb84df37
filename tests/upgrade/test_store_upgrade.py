"""An upgrade keeps everyone signed in; a store from a newer release is refused and left as it is.

The state is what cway-mcp 0.1.0 wrote (tests/fixtures/upgrade/v0.1.0: four accounts, the key file,
a refresh journal holding alice's newest refresh token). The real daemon runs as a process on it,
with the real clock, against the emulator: every stored access token has long expired, so each
``POST /v1/token`` answer is a refresh made with the refresh token the old release stored, and the
emulator (which knows which of them are live and which were already spent) accepts only the right one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from cway_authd.store.format import MARKER_NAME, STORE_FORMAT
from cway_contract import __version__
from cway_contract.contract import BearerResponse
from cway_contract.daemon_client import DaemonClient
from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import DaemonStartFailed, daemon_env, process_env, running_daemon, short_tmpdir
from tests.upgrade.fixtures import accounts, copy_state, snapshot, teach_refresh_tokens

pytestmark = pytest.mark.slow


@pytest.fixture
def base() -> Iterator[Path]:
    path = short_tmpdir("cw-upgrade-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(base: Path, emu: EmulatorServer | None) -> dict[str, str]:
    env = daemon_env(emu.env() if emu else None, base=base)
    del env["CWAY_MCP_STORE_KEY"]  # the 0.1.0 store's key is its key file, keys/store.key
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # never the developer's keyring
    return env


def test_the_daemon_serves_every_account_a_0_1_0_store_holds_without_a_sign_in(base: Path) -> None:
    copy_state(base / "state")
    fixture = accounts()
    with EmulatorServer() as emu:
        teach_refresh_tokens(
            emu,
            {a["username"]: a["live_refresh_token"] for a in fixture},
            {a["username"]: a["spent_refresh_tokens"] for a in fixture},
        )
        env = _env(base, emu)
        with running_daemon(env, mode="process", cleanup=False) as daemon:
            listed = daemon.call(lambda c: c.accounts())
            assert sorted(a.username for a in listed) == sorted(a["username"] for a in fixture)
            for account in fixture:
                username = account["username"]
                bearer = daemon.call(partial(_bearer, username=username))
                assert bearer.username == username
                assert not bearer.access_token.startswith("FAKE-fixture"), "an expired stored token was handed out"
                # the new token is one Cway accepts for that user
                assert emu.emulator.cway.authenticate(bearer.access_token)["username"] == username
                # the refresh used the live token (alice's came from the journal), and only that one
                assert emu.emulator.cway.refresh[account["live_refresh_token"]].redeemed
            counters = emu.counters
            assert counters.get("idp_authorize", 0) == 0, "someone was sent to sign in"
            assert counters.get("cway_token_rejected", 0) == 0, counters
        marker = base / "state" / "tokens" / MARKER_NAME
        assert json.loads(marker.read_bytes()) == {"format": STORE_FORMAT, "written_by": f"cway-mcp {__version__}"}
        assert marker.stat().st_mode & 0o777 == 0o600
        assert daemon.exit_code == 0, daemon.stderr_text()


async def _bearer(client: DaemonClient, username: str) -> BearerResponse:
    return await client.bearer(username)


def _newer_store(base: Path) -> Path:
    state = copy_state(base / "state")
    marker = state / "tokens" / MARKER_NAME
    marker.write_text(json.dumps({"format": STORE_FORMAT + 1, "written_by": "cway-mcp 9.0.0"}))
    marker.chmod(0o600)
    return state


def test_a_store_from_a_newer_release_is_refused_in_one_line_and_left_untouched(base: Path) -> None:
    state = _newer_store(base)
    # a temp file left by a crash long ago: the store would normally remove it at start-up
    stale = state / "tokens" / ".leftover.tmp-1"
    stale.write_bytes(b"x")
    stale.chmod(0o600)
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    before = {name: snapshot(state / name) for name in ("tokens", "keys")}
    env = _env(base, None)
    with pytest.raises(DaemonStartFailed) as failed:
        with running_daemon(env, mode="process", cleanup=False):
            pass
    assert failed.value.exit_code == 2  # permanent: a service manager must not restart it
    lines = [line for line in failed.value.stderr.splitlines() if "newer than" in line]
    assert len(lines) == 1, failed.value.stderr
    assert f"format {STORE_FORMAT + 1}" in lines[0] and "cway-mcp 9.0.0" in lines[0]
    assert f"cway-mcp {__version__}" in lines[0] and f"(format {STORE_FORMAT})" in lines[0]
    assert "Traceback" not in failed.value.stderr
    after = {name: snapshot(state / name) for name in ("tokens", "keys")}
    assert after == before

    # The CLI, piped, says the same: doctor as a failed check, status in place of "start the daemon".
    cli_env = process_env({**env, "CWAY_MCP_AUTOSTART": "0"})
    cli = [sys.executable, "-m", "cway_authd.cli"]
    doctor = subprocess.run([*cli, "doctor"], env=cli_env, capture_output=True, text=True, timeout=120, check=False)
    assert doctor.returncode == 1
    assert any(
        line.startswith("✗ token store format:") and "cway-mcp 9.0.0" in line and __version__ in line
        for line in doctor.stdout.splitlines()
    ), doctor.stdout
    status = subprocess.run([*cli, "status"], env=cli_env, capture_output=True, text=True, timeout=60, check=False)
    assert status.returncode != 0
    assert "cway-mcp 9.0.0" in status.stderr and f"cway-mcp {__version__}" in status.stderr, status.stderr
    assert {name: snapshot(state / name) for name in ("tokens", "keys")} == before
