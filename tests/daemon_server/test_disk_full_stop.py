"""200 accounts refreshed onto a full disk, then a stop the way systemd does it: SIGTERM, and SIGKILL once
``TimeoutStopSec`` (here the default 45 s, ``CWAY_STOP_TIMEOUT_SECONDS``) has passed. Nothing may be lost.

The old shutdown tried each unsaved account three times, one after another, before the rescue
store: ~0.4 s an account, so past ~110 accounts systemd killed it mid-way (88 of 200 lost, no log).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cway_authd.store import FileTokenStore, resolve_store_key
from cway_contract.clock import SYSTEM_CLOCK
from cway_emulator.server import EmulatorServer
from tests.daemon_server.test_cli import cli
from tests.daemon_server.test_disk_full import fill, small_tmpfs
from tests.helpers.daemon import daemon_env, running_daemon, short_tmpdir
from tests.helpers.fleet import lost_accounts, seed_fleet

pytestmark = pytest.mark.slow


def rescued(env: dict[str, str]) -> list[str]:
    """The accounts whose records are in the rescue directory beside the socket (decrypted with the store key)."""
    directory = Path(env["CWAY_MCP_SOCKET"]).parent / "rescue"
    if not directory.is_dir():
        return []
    keys = resolve_store_key(Path(env["CWAY_MCP_STATE_DIR"]), env["CWAY_MCP_STORE_KEY"], use_keyring=False)
    return [r.username for r in asyncio.run(FileTokenStore(directory, keys, SYSTEM_CLOCK).list())]


ACCOUNTS = 200
STOP_TIMEOUT = 45


def test_two_hundred_unsaved_accounts_survive_a_sigterm_within_the_stop_timeout() -> None:
    base = short_tmpdir()
    with EmulatorServer(auto_approve=True) as emu, small_tmpfs(base / "state" / "tokens", size="4m") as disk:
        emu.knobs.update({"cway_access_lifetime": 8})
        env = daemon_env(
            {
                **emu.env(),
                "CWAY_MCP_SOCKET": str(base / "run" / "daemon.sock"),  # the rescue dir: another filesystem
                "CWAY_REFRESH_THRESHOLD_SECONDS": "4",
                "CWAY_STOP_TIMEOUT_SECONDS": str(STOP_TIMEOUT),
            },
            base=base,
        )
        names = seed_fleet(emu, env, ACCOUNTS)
        try:
            with running_daemon(env, mode="process", cleanup=False, timeout=60) as daemon:
                assert daemon.process is not None
                filler = fill(disk)
                deadline = time.monotonic() + 60
                while True:  # every account refreshed, and its save refused by the full disk
                    states = [a.state for a in daemon.call(lambda c: c.accounts())]
                    if states.count("unsaved") == ACCOUNTS or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                assert states.count("unsaved") == ACCOUNTS, sorted(set(states))
                status = cli(env, "status")
                assert status.returncode == 1, status.stdout  # not "all is well" while tokens live in memory only
                assert "held in memory only" in status.stdout

                daemon.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                try:
                    code: int | None = daemon.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:  # what systemd does at TimeoutStopSec
                    daemon.process.kill()
                    daemon.process.wait(10)
                    code = None
                took = time.monotonic() - signalled
                log = daemon.stderr_text()
            print(
                f"full-disk stop: {ACCOUNTS} unsaved accounts, SIGTERM to exit in {took:.1f} s (limit {STOP_TIMEOUT} s)"
            )
            assert code == 0, f"exit {code} after {took:.1f} s\n{log[-3000:]}"
            assert "could not save the refreshed tokens" not in log
            assert sorted(rescued(env)) == sorted(names)

            # Still full: the next daemon holds the rescued tokens in memory; a logout deletes the rescued copy.
            gone, kept = names[0], names[1:]
            with running_daemon(env, mode="process", cleanup=False, timeout=60) as again:
                assert again.call(lambda c: c.logout(gone)).removed
                assert sorted(rescued(env)) == sorted(kept)
                assert again.stop() == 0
            filler.unlink()
            with running_daemon(env, mode="process", cleanup=False, timeout=60) as third:
                assert gone not in {a.username for a in third.call(lambda c: c.accounts())}
                assert third.stop() == 0
            assert lost_accounts(emu, env, kept) == []
        finally:
            leftover = Path(disk) / "filler"
            if leftover.exists():
                leftover.unlink()
