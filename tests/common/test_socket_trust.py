"""The client trusts only a socket served by its own uid, checked after connecting, before sending a byte.

The swapped-socket case is made real: the socket file is ours (so an ``lstat`` owner check, the
racy check this replaces, passes), but the process listening on it runs as another uid, exactly
what a client sees when an attacker swaps the socket between ``lstat`` and ``connect``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cway_contract.daemon_client import DaemonClient, DaemonUnavailable
from cway_contract.socket_trust import UntrustedSocket, parent_chain_problem, verify_daemon_socket

NOBODY = 65534
FORGED_TOKEN = "forged-token-from-another-uid"
_FORGED_BODY = json.dumps(
    {"username": "alice@contoso.example", "access_token": FORGED_TOKEN, "expires_at": "2099-01-01T00:00:00Z"}
).encode()
_FORGED_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_FORGED_BODY), _FORGED_BODY)
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="serving a socket as another uid needs root")


@contextmanager
def forged_daemon(path: Path, *, as_uid: int | None) -> Iterator[list[int]]:
    """A one-shot HTTP server on ``path`` (a socket file we own) that answers with a forged token.

    The socket is bound here, by us; a forked child switches to ``as_uid`` (if given) and only then
    calls ``listen()``, which is when the kernel records the listener's credentials. The list it
    yields receives, after the block, the number of request bytes the forged server got.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    report_r, report_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        got = 0
        try:
            if as_uid is not None:
                os.setgroups([])
                os.setgid(as_uid)
                os.setuid(as_uid)
            listener.listen(4)
            os.write(ready_w, b"L")  # listening now: a connect() can no longer be refused
            listener.settimeout(20)
            conn, _ = listener.accept()
            conn.settimeout(20)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            got = len(data)
            if data:
                conn.sendall(_FORGED_ANSWER)
            conn.close()
        finally:
            os.write(report_w, str(got).encode())
            os._exit(0)
    listener.close()
    os.close(report_w)
    os.close(ready_w)
    with os.fdopen(ready_r, "rb") as ready:
        ready.read(1)  # the child has called listen() (or died: then EOF, and the test fails on connect)
    received: list[int] = []
    try:
        yield received
    finally:
        os.waitpid(pid, 0)
        with os.fdopen(report_r, "rb") as report:
            received.append(int(report.read() or b"-1"))


@pytest.fixture
def private_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    return directory


@needs_root
@pytest.mark.slow
async def test_a_socket_served_by_another_uid_is_refused_before_a_byte_is_sent(private_dir: Path) -> None:
    path = private_dir / "daemon.sock"
    with forged_daemon(path, as_uid=NOBODY) as received:
        assert os.lstat(path).st_uid == os.geteuid()  # the lstat check alone would have trusted it
        async with DaemonClient(path, timeout=10) as client:
            with pytest.raises(DaemonUnavailable, match=f"served by uid {NOBODY}, not by you") as caught:
                await client.bearer("alice@contoso.example")
    assert FORGED_TOKEN not in str(caught.value)
    assert received == [0]  # the request (and anything pasted in it) never reached the forged server


@needs_root
@pytest.mark.slow
async def test_the_same_server_run_by_our_own_uid_is_trusted(private_dir: Path) -> None:
    """The control: the forged server is reachable and believed when it runs as us, so the test above can fail."""
    path = private_dir / "daemon.sock"
    with forged_daemon(path, as_uid=None) as received:
        async with DaemonClient(path, timeout=10) as client:
            bearer = await client.bearer("alice@contoso.example")
    assert bearer.access_token == FORGED_TOKEN
    assert received[0] > 0


async def test_a_socket_in_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103 - the unsafe directory under test
    path = shared / "daemon.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)  # the kernel completes connect() from the backlog: our own uid serves it
        async with DaemonClient(path, timeout=5) as client:
            with pytest.raises(DaemonUnavailable, match=r"shared \(mode 0777\) is writable by everyone") as caught:
                await client.health()
    assert "CWAY_MCP_SOCKET" in str(caught.value)
    assert "chmod" not in str(caught.value)


def test_verify_accepts_our_own_socketpair_in_a_private_dir(private_dir: Path) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        verify_daemon_socket(left, private_dir / "daemon.sock")


def test_verify_refuses_a_socket_without_peer_credentials(private_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, pytest.raises(UntrustedSocket, match="cannot tell"):
        verify_daemon_socket(tcp, private_dir / "daemon.sock")


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (0o700, None),
        (0o755, None),
        (0o1777, None),  # /tmp: others cannot rename or remove what they do not own
        (0o777, "writable by everyone"),
        (0o775, "writable by its group"),
    ],
)
def test_parent_chain_modes(tmp_path: Path, mode: int, problem: str | None) -> None:
    parent = tmp_path / "p"
    (parent / "run").mkdir(parents=True, mode=0o700)
    os.chmod(parent, mode)
    found = parent_chain_problem(parent / "run" / "daemon.sock")
    assert found is None if problem is None else problem in (found or "")


@needs_root
def test_parent_chain_owned_by_another_user_is_a_problem(tmp_path: Path) -> None:
    parent = tmp_path / "p"
    (parent / "run").mkdir(parents=True, mode=0o700)
    os.chown(parent, NOBODY, NOBODY)
    assert stat.S_IMODE(os.stat(parent).st_mode) & 0o022 == 0
    assert f"belongs to uid {NOBODY}" in (parent_chain_problem(parent / "run" / "daemon.sock") or "")


def test_a_symlinked_parent_is_judged_where_it_leads(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103 - the unsafe directory under test
    (shared / "run").mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(shared / "run")
    assert "writable by everyone" in (parent_chain_problem(link / "daemon.sock") or "")
