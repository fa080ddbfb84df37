"""Every directory the product creates is 0700 under any umask, and the daemon's own log file is private and rotated."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cway_contract.private_files import PrivateRotatingFileHandler, make_private_dirs
from tests.helpers.daemon import _wait_for_socket, daemon_env, process_env, settings_from_env, short_tmpdir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_a_daemon_started_under_umask_000_creates_only_0700_dirs_and_a_0600_log() -> None:
    base = short_tmpdir()
    try:
        env = daemon_env(
            {
                "CWAY_MCP_STATE_DIR": str(base / "s1" / "s2" / "state"),
                "CWAY_MCP_SOCKET": str(base / "r1" / "run" / "d.sock"),
            },
            base=base,
        )
        log_file = base / "l1" / "logs" / "daemon.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "cway_authd.cli", "daemon", "--log-file", str(log_file)],
            env=process_env(env),
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: os.umask(0),
        )
        try:
            _wait_for_socket(settings_from_env(env).socket_path, lambda: process.poll() is None, 30)
            _wait_for_ready(log_file, process)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        created = [base / name for name in ("s1", "s1/s2", "s1/s2/state", "r1", "r1/run", "l1", "l1/logs")]
        assert {str(d.relative_to(base)): oct(_mode(d)) for d in created} == {
            str(d.relative_to(base)): oct(0o700) for d in created
        }
        assert _mode(log_file) == 0o600
        assert "ready: control socket" in log_file.read_text()
        assert stderr == b""  # with --log-file the daemon says everything in its own file
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wait_for_ready(log_file: Path, process: subprocess.Popen[bytes]) -> None:
    """Until the daemon logs that it serves (its signal handlers are in place from then on)."""
    deadline = time.monotonic() + 30
    while "ready: control socket" not in (log_file.read_text() if log_file.exists() else ""):
        assert process.poll() is None and time.monotonic() < deadline, "the daemon did not become ready"
        time.sleep(0.05)


def test_existing_parents_are_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)  # noqa: S103 - a shared parent, as ~ often is
    old = os.umask(0)
    try:
        created = make_private_dirs(shared / "a" / "b")
    finally:
        os.umask(old)
    assert created == [shared / "a", shared / "a" / "b"]
    assert _mode(shared) == 0o755
    assert _mode(shared / "a") == _mode(shared / "a" / "b") == 0o700


def test_the_log_file_is_rotated_by_size_and_every_file_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "daemon.log"
    handler = PrivateRotatingFileHandler(path, maxBytes=1000, backupCount=2, encoding="utf-8")
    logger = logging.Logger("rotation-test")
    logger.addHandler(handler)
    try:
        for i in range(500):
            logger.warning("line %04d of a flood that must not fill the disk", i)
    finally:
        handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    assert all(_mode(tmp_path / name) == 0o600 and (tmp_path / name).stat().st_size <= 1000 for name in files)
    assert "line 0499" in path.read_text()
