"""The control socket: modes, stale and live sockets, foreign uids, signals."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cway_authd.control.peercred import PeerCredentialsUnavailable, peer_credentials
from cway_authd.runner import run_daemon
from cway_authd.store import StoreLock
from tests.helpers.daemon import RunningDaemon, process_env, running_daemon, settings_from_env


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_socket_is_0600_in_a_0700_dir(daemon: RunningDaemon) -> None:
    st = os.lstat(daemon.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert st.st_uid == os.geteuid()
    assert _mode(daemon.socket_path) == 0o600
    assert _mode(daemon.socket_path.parent) == 0o700
    assert daemon.call(lambda c: c.health()).pid == os.getpid()


def test_refuses_a_group_writable_socket_dir(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    run_dir = Path(env["CWAY_MCP_SOCKET"]).parent
    run_dir.mkdir(mode=0o700)
    os.chmod(run_dir, 0o770)  # noqa: S103 - the misconfiguration under test
    settings = settings_from_env(env)
    with caplog.at_level(logging.ERROR):
        code = asyncio.run(run_daemon(settings))
    assert code == 4  # bad permissions: the unit does not restart it
    assert "socket directory refused" in caplog.text and "chmod 700" in caplog.text
    assert not settings.socket_path.exists()
    assert _mode(run_dir) == 0o770  # checked, never silently repaired


def test_stale_socket_is_replaced(env: dict[str, str]) -> None:
    path = Path(env["CWAY_MCP_SOCKET"])
    path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # bound, never listening, then closed: a crashed daemon's leftover
    stale.close()
    os.chmod(path, 0o640)  # a mark: the replacement comes out 0600 (the inode number may be reused)
    with running_daemon(env, cleanup=False) as daemon:
        assert _mode(path) == 0o600
        assert daemon.call(lambda c: c.health()).pid == os.getpid()
    assert not path.exists()


def test_a_starting_daemons_socket_is_not_taken_for_a_stale_one(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Daemon A holds the state-dir lock and has bound its socket but not yet called listen():
    # a connect is refused, exactly as for a dead daemon's leftover. A second daemon started at that
    # moment (two MCP clients autostarting at once) must not unlink A's socket.
    settings = settings_from_env(env)
    path = settings.socket_path
    path.parent.mkdir(mode=0o700)
    with StoreLock(settings.state_dir), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as starting:
        starting.bind(str(path))
        inode = os.lstat(path).st_ino
        with caplog.at_level(logging.ERROR):
            assert asyncio.run(run_daemon(settings)) == 3  # already running
        assert "another cway-auth daemon" in caplog.text
        assert os.lstat(path).st_ino == inode  # A's socket is still there


def test_a_live_daemon_is_never_clobbered(daemon: RunningDaemon) -> None:
    inode = os.lstat(daemon.socket_path).st_ino
    second = subprocess.run(
        [sys.executable, "-m", "cway_authd.cli", "daemon"],
        env=process_env(daemon.env),
        cwd=daemon.env["CWAY_TEST_BASE"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 3  # already running
    assert f"already running, pid {os.getpid()}" in second.stderr
    assert "Traceback" not in second.stderr
    assert os.lstat(daemon.socket_path).st_ino == inode
    assert daemon.call(lambda c: c.health()).pid == os.getpid()


def test_a_non_socket_at_the_socket_path_is_refused(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    path = Path(env["CWAY_MCP_SOCKET"])
    path.parent.mkdir(mode=0o700)
    path.write_text("not a socket")
    with caplog.at_level(logging.ERROR):
        assert asyncio.run(run_daemon(settings_from_env(env))) == 4
    assert "is not a socket" in caplog.text
    assert path.read_text() == "not a socket"


_CONNECT_AS = textwrap.dedent(
    """
    import os, socket, sys
    path, uid = sys.argv[1], int(sys.argv[2])
    if uid >= 0:
        os.setgroups([]); os.setgid(uid); os.setuid(uid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
    except OSError as exc:
        print("CONNECT-FAILED", exc.errno); sys.exit(0)
    try:
        s.sendall(b"GET /v1/health HTTP/1.1\\r\\nHost: cway-authd\\r\\nConnection: close\\r\\n\\r\\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    except OSError as exc:
        print("RESET", exc.errno); sys.exit(0)
    print("ANSWER" if data else "CLOSED", data[:12].decode(errors="replace"))
    """
)


def _connect_as(path: Path, uid: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _CONNECT_AS, str(path), str(uid)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another uid")
def test_a_connection_from_another_uid_is_refused(daemon: RunningDaemon, caplog: pytest.LogCaptureFixture) -> None:
    path = daemon.socket_path
    dirs = [path.parent, path.parent.parent]
    # With the normal modes the kernel keeps uid 65534 out before the daemon is even asked.
    assert _connect_as(path, 65534).startswith("CONNECT-FAILED")
    saved = {p: _mode(p) for p in [*dirs, path]}
    try:
        for d in dirs:
            os.chmod(d, 0o711)  # noqa: S103 - deliberately opened for the test
        os.chmod(path, 0o666)  # noqa: S103 - now only the peer check stands between uid 65534 and a token
        with caplog.at_level(logging.WARNING, logger="cway_authd.control"):
            foreign = _connect_as(path, 65534)
            own = _connect_as(path, -1)  # control: the same request from our own uid is answered
    finally:
        for p, mode in saved.items():
            os.chmod(p, mode)
    assert foreign.startswith(("CLOSED", "RESET")), foreign
    assert own.startswith("ANSWER HTTP/1.1 200"), own
    assert "refused a control connection from uid 65534" in caplog.text


def test_sigterm_stops_cleanly_and_removes_the_socket(env: dict[str, str]) -> None:
    with running_daemon(env, mode="process") as daemon:
        assert daemon.process is not None
        assert daemon.call(lambda c: c.health()).pid == daemon.pid
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(30) == 0
        assert not daemon.socket_path.exists()
        log = daemon.stderr_text()
        assert "SIGTERM received" in log and "stopped" in log
        assert "Traceback" not in log


def test_peer_credentials_of_a_socketpair_are_ours() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        creds = peer_credentials(left)
    assert creds.uid == os.geteuid()
    assert creds.pid == os.getpid()
    assert creds.gid == os.getegid()


def test_peer_credentials_refuse_a_tcp_socket() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, pytest.raises(PeerCredentialsUnavailable):
        peer_credentials(tcp)


def test_port_in_use_is_reported_plainly(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_from_env(env)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", settings.redirect.port))
        squatter.listen(1)
        with caplog.at_level(logging.ERROR):
            assert asyncio.run(run_daemon(settings)) == 5  # port in use
    assert f"port {settings.redirect.port} (AZURE_REDIRECT_URI) is in use by another program" in caplog.text
    assert not settings.socket_path.exists()
