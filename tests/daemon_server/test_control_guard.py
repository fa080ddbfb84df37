"""The control socket's guard on the real daemon: header and body timeouts, the connection cap, 413.

The daemon runs for real (thread mode, its own socket); only its timeouts and cap are made short
or small here, through the module defaults the runner reads when it builds the server (10 s and
the fd-derived cap in production). Every client below is a raw Unix socket, because the point is
what a client that misbehaves at the byte level costs the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cway_authd.control import guard as control_guard
from cway_contract.contract import ErrorCode, Route
from cway_contract.daemon_client import DaemonClient, DaemonUnavailable
from tests.helpers.daemon import RunningDaemon, running_daemon

TIMEOUT = 0.5
CAP = 4
HEALTH = b"GET /v1/health HTTP/1.1\r\nHost: cway-authd\r\n\r\n"


@pytest.fixture
def guarded(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningDaemon]:
    monkeypatch.setattr(control_guard, "DEFAULT_HEADER_TIMEOUT", TIMEOUT)
    monkeypatch.setattr(control_guard, "DEFAULT_BODY_TIMEOUT", TIMEOUT)
    monkeypatch.setattr(control_guard, "DEFAULT_MAX_CONNECTIONS", CAP)
    with running_daemon(env) as daemon:
        yield daemon


def _connect(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(15)
    conn.connect(str(path))
    return conn


def _closed_by_daemon(conn: socket.socket, within: float = 15) -> float:
    """Seconds until the daemon closes ``conn`` without an answer; fails if it answers or keeps it open."""
    start = time.monotonic()
    conn.settimeout(within)
    try:
        data = conn.recv(65536)
    except ConnectionResetError:
        data = b""
    except TimeoutError:
        pytest.fail(f"the daemon kept the connection open for {within} s")
    assert data == b"", data[:80]
    return time.monotonic() - start


def _answer(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(v) for k, _, v in (ln.partition(b":") for ln in head.split(b"\r\n")) if k.lower() == b"content-length"
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk
        body += chunk
    return head + b"\r\n\r\n" + body


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_client_that_trickles_its_headers_is_dropped(guarded: RunningDaemon) -> None:
    with _connect(guarded.socket_path) as conn:
        conn.sendall(b"GET /v1/health HTTP/1.1\r\n")
        start = time.monotonic()
        conn.settimeout(0.05)
        closed = False
        while not closed and time.monotonic() - start < 15:  # a byte now and then must not reset the timer
            try:
                conn.sendall(b"X-Slow: 1\r\n")
                closed = conn.recv(1) == b""
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        assert closed, "a client trickling its headers was kept for 15 s"


def test_a_silent_connection_is_dropped(guarded: RunningDaemon) -> None:
    with _connect(guarded.socket_path) as conn:
        assert _closed_by_daemon(conn) < 15


def test_a_short_body_is_dropped_and_the_request_never_answered(guarded: RunningDaemon) -> None:
    with _connect(guarded.socket_path) as conn:
        conn.sendall(
            b"POST /v1/sign-in/complete HTTP/1.1\r\nHost: cway-authd\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"code": '
        )
        _closed_by_daemon(conn)
    with _connect(guarded.socket_path) as conn:  # and the token route, which reads its own body
        conn.sendall(b"POST /v1/token HTTP/1.1\r\nHost: cway-authd\r\nContent-Length: 50\r\n\r\n{")
        _closed_by_daemon(conn)
    assert guarded.call(lambda c: c.health()).pid  # the daemon itself is fine


def test_a_kept_alive_connection_is_closed_after_its_answer_when_idle(guarded: RunningDaemon) -> None:
    with _connect(guarded.socket_path) as conn:
        conn.sendall(HEALTH)
        assert _status(_answer(conn)) == 200
        conn.sendall(b"GET /v1/health HTTP/1.1\r\n")  # the next request's headers never finish
        _closed_by_daemon(conn)


def test_over_the_cap_the_oldest_idle_connection_makes_room(guarded: RunningDaemon) -> None:
    idle = [_connect(guarded.socket_path) for _ in range(CAP)]
    time.sleep(0.05)
    try:
        with _connect(guarded.socket_path) as newcomer:
            newcomer.sendall(HEALTH)
            assert _status(_answer(newcomer)) == 200
        _closed_by_daemon(idle[0], within=TIMEOUT / 2)  # evicted at once, not by its own timeout
    finally:
        for conn in idle:
            conn.close()


def test_busy_connections_are_not_evicted_and_a_newcomer_over_the_cap_is_dropped(guarded: RunningDaemon) -> None:
    busy = [_connect(guarded.socket_path) for _ in range(CAP)]
    try:
        for conn in busy:  # each is reading a body: a request in progress, not idle
            conn.sendall(b"POST /v1/sign-in HTTP/1.1\r\nHost: cway-authd\r\nContent-Length: 2\r\n\r\n{")
        time.sleep(0.1)
        with _connect(guarded.socket_path) as newcomer:
            assert _closed_by_daemon(newcomer, within=TIMEOUT / 2) < TIMEOUT
    finally:
        for conn in busy:
            conn.close()


# ---- the body limit (same daemon; its defaults are the production ones) ----------------------------


def _post(path: Path, route: str, head: bytes, body: bytes = b"") -> bytes:
    with _connect(path) as conn:
        conn.sendall(b"POST " + route.encode() + b" HTTP/1.1\r\nHost: cway-authd\r\n" + head + b"\r\n" + body)
        return _answer(conn)


@pytest.mark.parametrize("route", [Route.SIGN_IN_COMPLETE, Route.SIGN_IN, Route.TOKEN, Route.TOKEN_REFRESH])
def test_a_declared_oversized_body_is_refused_with_413_before_it_is_sent(daemon: RunningDaemon, route: str) -> None:
    answer = _post(daemon.socket_path, route, b"Content-Type: application/json\r\nContent-Length: 60000000\r\n")
    assert _status(answer) == 413, answer[:200]
    assert b"connection: close" in answer.lower()
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"] == ErrorCode.BAD_REQUEST.value


@pytest.mark.parametrize("route", [Route.SIGN_IN_COMPLETE, Route.TOKEN])
def test_a_streamed_body_past_the_limit_gets_413(daemon: RunningDaemon, route: str) -> None:
    chunk = b"x" * 16384
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"  # 80 KiB, chunked
    answer = _post(daemon.socket_path, route, b"Transfer-Encoding: chunked\r\n", chunks)
    assert _status(answer) == 413, answer[:200]


def test_a_60_mb_body_gets_413(daemon: RunningDaemon) -> None:
    import httpx

    transport = httpx.HTTPTransport(uds=str(daemon.socket_path))
    with httpx.Client(transport=transport, base_url="http://cway-authd", timeout=30) as client:
        for route in (Route.SIGN_IN_COMPLETE, Route.TOKEN):
            response = client.post(route, content=b" " * 60_000_000, headers={"content-type": "application/json"})
            assert response.status_code == 413, response.text
            assert response.json()["error"] == ErrorCode.BAD_REQUEST.value


# ---- the cap on a real daemon process with a systemd-like fd limit ----------------------------------

FLOOD = 1100
SOFT, HARD = 512, 1024


def _systemd_like_limits() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the daemon's descriptors in /proc")
@pytest.mark.usefixtures("room_for_the_flood")
def test_a_flood_of_idle_connections_by_the_owner_is_capped(env: dict[str, str]) -> None:
    """1 100 connections that never send a byte: the daemon keeps at most its cap, and still answers."""
    with running_daemon(env, mode="process", preexec_fn=_systemd_like_limits) as daemon:
        flood: list[socket.socket] = []
        try:
            for _ in range(FLOOD):
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    conn.connect(str(daemon.socket_path))
                flood.append(conn)
            ok, failed = asyncio.run(_owner_calls(daemon.socket_path))
            held = len(os.listdir(f"/proc/{daemon.pid}/fd"))
        finally:
            for conn in flood:
                conn.close()
        log = daemon.stderr_text()
    assert (ok, failed) == (CALLS, 0), f"owner's calls during the flood: {ok} ok, {failed} failed"
    cap = control_guard.control_connection_cap(HARD)  # the daemon raised its soft limit to the hard one
    assert held <= cap + 64, f"the daemon held {held} descriptors (cap {cap})"
    assert "control socket: dropped connections" in log and "over the connection limit" in log
    assert "Traceback" not in log


CALLS = 25


async def _owner_calls(path: Path) -> tuple[int, int]:
    ok = failed = 0
    for _ in range(CALLS):
        try:
            async with DaemonClient(path, timeout=10) as client:
                await client.health()
            ok += 1
        except DaemonUnavailable:
            failed += 1
    return ok, failed


@pytest.fixture
def room_for_the_flood() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = FLOOD + 256
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"this test process may open only {hard} files; the flood needs {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
