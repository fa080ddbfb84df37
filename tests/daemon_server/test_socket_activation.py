"""Socket activation for real: the daemon takes a listening socket passed as systemd passes it.

The test plays systemd's part: it binds the 0600 socket in a 0700 directory, starts ``cway-auth
daemon`` with the socket as fd 3 and ``LISTEN_FDS=1`` / ``LISTEN_PID=<the daemon's pid>`` (set by a
launcher that then execs the daemon, as systemd sets them between fork and exec), and listens on a
``NOTIFY_SOCKET`` for ``READY=1``. A client connects *before* the daemon runs, as a shim does when
its connection is what makes systemd start the service, and is answered once it does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cway_contract.discovery import read_record
from tests.helpers.daemon import process_env

pytestmark = pytest.mark.slow

#: What systemd does between fork and exec: the socket to fd 3, LISTEN_PID = this pid, then exec.
LAUNCH = (
    "import os, sys; fd = int(sys.argv[1]); os.dup2(fd, 3); fd != 3 and os.close(fd); "
    "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
    "os.execv(sys.executable, [sys.executable, '-m', 'cway_authd.cli', 'daemon'])"
)


def bind_like_systemd(path: Path, mode: int = 0o600) -> socket.socket:
    path.parent.mkdir(mode=0o700)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    os.chmod(path, mode)
    sock.listen(16)
    return sock


@contextlib.contextmanager
def activated_daemon(env: dict[str, str], listener: socket.socket, notify: Path) -> Iterator[subprocess.Popen[str]]:
    full = process_env({k: v for k, v in env.items() if k != "CWAY_MCP_SOCKET"})
    full["NOTIFY_SOCKET"] = str(notify)
    fd = listener.fileno()
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(fd)],
        env=full,
        cwd=env["CWAY_TEST_BASE"],
        pass_fds=(fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def http_over(sock: socket.socket, path: str) -> tuple[int, dict[str, object]]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: cway-authd\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_the_daemon_serves_on_the_passed_socket_and_says_ready(env: dict[str, str]) -> None:
    base = Path(env["CWAY_TEST_BASE"])
    path = base / "rt" / "cway-mcp" / "daemon.sock"
    path.parent.parent.mkdir(mode=0o700)
    listener = bind_like_systemd(path)
    notify_path = base / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify, listener:
        notify.bind(str(notify_path))
        notify.settimeout(15)
        # The shim's connection comes first; it waits in the backlog until the daemon accepts it.
        early = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        early.settimeout(60)
        early.connect(str(path))
        with activated_daemon(env, listener, notify_path) as process, early:
            listener.close()  # the daemon holds its own copy now, as with systemd
            try:
                message = notify.recv(4096).decode()
            except TimeoutError:
                process.kill()
                raise AssertionError(process.communicate()[0]) from None
            assert "READY=1" in message.splitlines(), message
            assert f"MAINPID={process.pid}" in message
            status, health = http_over(early, "/v1/health")
            assert status == 200 and health["pid"] == process.pid
            assert health["socket_path"] == str(path)
            record = read_record(Path(env["CWAY_MCP_STATE_DIR"]))
            assert record is not None and record.socket_path == path and record.supervisor == "systemd"
            process.send_signal(signal.SIGTERM)
            assert notify.recv(4096).decode() == "STOPPING=1"
            output, _ = process.communicate(timeout=60)
            assert process.returncode == 0, output
    assert path.exists()  # the service manager's socket: the daemon does not remove it


def test_a_passed_socket_others_can_reach_is_refused_and_not_restarted(env: dict[str, str]) -> None:
    base = Path(env["CWAY_TEST_BASE"])
    path = base / "rt" / "daemon.sock"
    with bind_like_systemd(path, mode=0o666) as listener:
        with activated_daemon(env, listener, base / "no-notify.sock") as process:
            output, _ = process.communicate(timeout=60)
        assert process.returncode == 4, output  # RestartPreventExitStatus: a person has to fix it
        assert "not an owner-only socket (mode 0666)" in output and "SocketMode=0600" in output
        assert "Traceback" not in output
