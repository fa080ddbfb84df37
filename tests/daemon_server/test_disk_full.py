"""A full disk under a real daemon process: the refreshed tokens are served, kept, and never lost silently.

The state dir is a small tmpfs mounted for the test (needs root, else the test is skipped), filled
to the last byte after the daemon has started. Then the background refresh happens for real
(short token lifetimes, real clock), its save fails with ENOSPC, and the daemon is stopped with
SIGTERM the way systemd stops it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cway_contract.contract import AccountInfo
from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon, daemon_env, running_daemon, short_tmpdir
from tests.helpers.fleet import lost_accounts, seed_fleet, stored_records

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def small_tmpfs(mount_point: Path, size: str = "512k") -> Iterator[Path]:
    mount_point.parent.mkdir(mode=0o700, exist_ok=True)
    mount_point.mkdir(mode=0o700)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        mount_point.rmdir()
        pytest.skip("cannot mount a tmpfs here (needs root); the disk-full path is also covered in-process")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem says ENOSPC; returns it (delete it to free the space)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert os.statvfs(directory).f_bavail == 0
    return filler


def wait_for(daemon: RunningDaemon, state: str, timeout: float = 30) -> AccountInfo:
    deadline = time.monotonic() + timeout
    while True:
        [info] = daemon.call(lambda c: c.accounts())
        if info.state == state or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(auto_approve=True) as server:
        server.knobs.update({"cway_access_lifetime": 6})
        yield server


@pytest.mark.parametrize("rescue_possible", [True, False], ids=["rescue-dir-ok", "rescue-dir-full-too"])
def test_disk_full_then_sigterm(emu: EmulatorServer, rescue_possible: bool) -> None:
    base = short_tmpdir()
    # The token files live on the small tmpfs. The rescue location is the socket's dir: on another
    # filesystem, or on the same full one.
    with small_tmpfs(base / "state" / "tokens") as disk:
        socket = (base if rescue_possible else disk) / "run" / "daemon.sock"
        env = daemon_env(
            {**emu.env(), "CWAY_MCP_SOCKET": str(socket), "CWAY_REFRESH_THRESHOLD_SECONDS": "3"}, base=base
        )
        [name] = seed_fleet(emu, env, 1)
        on_disk = stored_records(env)[name]
        try:
            with running_daemon(env, mode="process", cleanup=False) as daemon:
                filler = fill(disk)
                info = wait_for(daemon, "unsaved")
                assert info.state == "unsaved", info
                assert info.last_error and "ENOSPC" in info.last_error
                served = daemon.call(lambda c: c.bearer(name))  # the fresh access token is served
                assert served.access_token != on_disk.access_token
                assert emu.emulator.cway.authenticate(served.access_token)["username"] == name
                assert stored_records(env)[name].access_token == on_disk.access_token  # still the old one
                code = daemon.stop()
            log = daemon.stderr_text()
            filler.unlink()
            if rescue_possible:
                assert code == 0, log
                assert "rescue location" in log and name in log
                with running_daemon(env, mode="process", cleanup=False) as again:
                    [after] = again.call(lambda c: c.accounts())
                    assert after.state in ("ok", "refreshing"), after
                assert lost_accounts(emu, env, [name]) == []
            else:
                assert code != 0, log
                assert f"could not save the refreshed tokens of {name} anywhere" in log
                assert "ENOSPC" in log and f"{name} must sign in again" in log
        finally:
            filler_path = disk / "filler"
            if filler_path.exists():
                filler_path.unlink()
    shutil.rmtree(base, ignore_errors=True)


def test_the_error_text_names_the_errno() -> None:
    from cway_authd.store.durability import describe_save_error

    assert describe_save_error(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device (ENOSPC)"
    assert describe_save_error(ValueError("secret-looking text")) == "ValueError"
