"""The daemon's record of where it listens, and when a client trusts it."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

from tests.helpers.daemon import short_tmpdir

from cway_contract.config import load_settings
from cway_contract.discovery import DaemonRecord, daemon_socket, read_record, remove_record, write_record


def listening_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1)
    return sock


def settings_for(base: Path, **extra: str):  # type: ignore[no-untyped-def]
    env = {"CWAY_MCP_CONFIG": "", "CWAY_MCP_STATE_DIR": str(base / "state"), "HOME": str(base), **extra}
    (base / "cfg.toml").touch()
    env["CWAY_MCP_CONFIG"] = str(base / "cfg.toml")
    return load_settings(env, component="shim", cwd=base)


def test_a_live_daemons_record_is_followed_and_private() -> None:
    base = short_tmpdir()
    settings = settings_for(base)
    settings.state_dir.mkdir(mode=0o700)
    elsewhere = base / "d.sock"
    with listening_socket(elsewhere):
        write_record(settings.state_dir, DaemonRecord(os.getpid(), elsewhere, "http://localhost:1/callback"))
        record_file = settings.state_dir / "daemon.json"
        assert stat.S_IMODE(record_file.stat().st_mode) == 0o600
        assert read_record(settings.state_dir) == DaemonRecord(os.getpid(), elsewhere, "http://localhost:1/callback")
        assert daemon_socket(settings) == elsewhere
        # An explicit CWAY_MCP_SOCKET wins: no discovery at all.
        explicit = settings_for(base, CWAY_MCP_SOCKET=str(base / "mine.sock"))
        assert daemon_socket(explicit) == base / "mine.sock"
        remove_record(settings.state_dir, os.getpid() + 1)  # not ours to remove
        assert record_file.exists()
        remove_record(settings.state_dir, os.getpid())
        assert not record_file.exists()


def test_a_dead_daemons_record_or_a_missing_socket_is_ignored() -> None:
    base = short_tmpdir()
    settings = settings_for(base)
    settings.state_dir.mkdir(mode=0o700)
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(done.stdout)
    with listening_socket(base / "d.sock"):
        write_record(settings.state_dir, DaemonRecord(dead_pid, base / "d.sock"))
        assert daemon_socket(settings) == settings.socket_path
    write_record(settings.state_dir, DaemonRecord(os.getpid(), base / "gone.sock"))
    assert daemon_socket(settings) == settings.socket_path
    (base / "plain-file").write_text("")
    write_record(settings.state_dir, DaemonRecord(os.getpid(), base / "plain-file"))
    assert daemon_socket(settings) == settings.socket_path
