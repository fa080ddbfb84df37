"""Any local user flooding the loopback callback port cannot starve the owner's socket API.

The daemon runs as a real process with the fd limits of a systemd user session scaled down (soft
512, hard 1 024), and the test, playing the other local user, opens 1 100 TCP connections to the
callback port and leaves them idle: more than the daemon may ever hold. Meanwhile the owner keeps
asking for bearer tokens over the Unix socket. Before the callback listener had a connection cap,
the daemon ran out of descriptors, accept() failed on both listeners and every token call timed out.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import sys

import pytest

from cway_contract.daemon_client import DaemonClient
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import running_daemon

FLOOD = 1100
SOFT, HARD = 512, 1024
CALLS = 25
USER = "alice@contoso.example"


def _systemd_like_limits() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


def _open_files_limit(pid: int) -> int | None:
    if not sys.platform.startswith("linux"):
        return None
    with open(f"/proc/{pid}/limits") as f:
        line = next(ln for ln in f if ln.startswith("Max open files"))
    return int(line.split()[3])


@pytest.fixture
def room_for_the_flood() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = FLOOD + 256
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"this test process may open only {hard} files; the flood needs {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.mark.slow
@pytest.mark.usefixtures("room_for_the_flood")
def test_idle_connections_on_the_callback_port_do_not_starve_the_owner(
    emu: EmulatorServer, emu_env: dict[str, str]
) -> None:
    with running_daemon(emu_env, mode="process", preexec_fn=_systemd_like_limits) as daemon:
        browser_sign_in(daemon, emu, USER)
        limit = _open_files_limit(daemon.pid)
        assert limit in (None, HARD), f"the soft fd limit was not raised to the hard limit: {limit}"

        flood: list[socket.socket] = []
        try:
            for _ in range(FLOOD):  # non-blocking: all 1 100 are under way at once, none ever sends a byte
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", daemon.settings.redirect.port))
                flood.append(sock)
            ok, failed = asyncio.run(_owner_calls(daemon.socket_path))
            held = len(os.listdir(f"/proc/{daemon.pid}/fd")) if sys.platform.startswith("linux") else 0
        finally:
            for sock in flood:
                sock.close()
        assert (ok, failed) == (CALLS, 0), f"owner's bearer calls during the flood: {ok} ok, {failed} failed"
        assert held < SOFT, f"the daemon held {held} descriptors during the flood"

    log = daemon.stderr_text()
    assert "Traceback" not in log
    assert log.count("accept() failed") <= 1
    assert log.count("callback listener: dropped connections") <= 2  # one line per interval, not per connection


async def _owner_calls(socket_path: os.PathLike[str]) -> tuple[int, int]:
    ok = failed = 0
    async with DaemonClient(socket_path, timeout=5) as client:  # type: ignore[arg-type]
        for _ in range(CALLS):
            try:
                bearer = await client.bearer(USER)
            except Exception:
                failed += 1
                if failed == 3:  # starved: no need to wait out every timeout
                    break
            else:
                ok += bearer.username == USER
            await asyncio.sleep(0.05)
    return ok, failed
