"""The daemon socket's HTTP client: kept-alive connections, stale ones replaced, every failure a clear error.

Each test serves a real Unix socket with a small scripted asyncio server, so what the client does
on the wire (how many connections, which bytes) is what is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from tests.helpers.daemon import short_tmpdir

from cway_contract.socket_http import SocketHttpError, SocketHttpTimeout, UnixHttpClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return head + await reader.readexactly(int(line.split(b":")[1]))
    return head


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[Path, list[int]]]:
    """Serve ``handler`` on a fresh socket; yields its path and a list that counts connections."""
    base = short_tmpdir()
    path = base / "s.sock"
    connections: list[int] = []

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_unix_server(counted, str(path))
    try:
        yield path, connections
    finally:
        server.close()
        path.unlink(missing_ok=True)
        base.rmdir()


async def keep_alive_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()


async def test_requests_share_one_kept_alive_connection() -> None:
    async with serving(keep_alive_ok) as (path, connections):
        client = UnixHttpClient(path, timeout=5)
        answers = [await client.request("POST", "/v1/token", b"{}") for _ in range(5)]
        await client.aclose()
    assert [a.status for a in answers] == [200] * 5 and answers[0].body == b'{"ok":true}'
    assert len(connections) == 1


async def test_concurrent_requests_each_get_a_connection() -> None:
    async with serving(keep_alive_ok) as (path, connections):
        client = UnixHttpClient(path, timeout=5, max_idle=2)
        answers = await asyncio.gather(*(client.request("GET", "/v1/health") for _ in range(6)))
        again = await client.request("GET", "/v1/health")
        await client.aclose()
    assert all(a.status == 200 for a in [*answers, again])
    assert len(connections) == 6  # six at once: six connections; the seventh request reused a kept one


async def test_a_connection_the_daemon_closed_while_idle_is_replaced() -> None:
    """The daemon's keep-alive timeout (or a restart) closed the idle connection: the request still goes through."""
    seen: list[bytes] = []

    async def one_answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()

    async with serving(one_answer_then_close) as (path, connections):
        client = UnixHttpClient(path, timeout=5)
        first = await client.request("POST", "/v1/token", b'{"username":"a"}')
        second = await client.request("POST", "/v1/token", b'{"username":"a"}')
        await client.aclose()
    assert first.status == second.status == 200
    assert len(connections) == 2 and len(seen) == 2  # each request was read exactly once


async def test_chunked_answers_are_read() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n')
        await writer.drain()

    async with serving(chunked) as (path, _):
        client = UnixHttpClient(path, timeout=5)
        answer = await client.request("GET", "/x")
        await client.aclose()
    assert answer.status == 404 and answer.body == b'{"a":1}' and not answer.is_success


@pytest.mark.parametrize(
    "reply",
    [b"", b'HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{"partial', b"garbage\r\n\r\n"],
    ids=["closed-before-answering", "closed-mid-body", "not-http"],
)
async def test_a_broken_answer_is_an_error(reply: bytes) -> None:
    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async with serving(broken) as (path, _):
        client = UnixHttpClient(path, timeout=5)
        with pytest.raises(SocketHttpError):
            await client.request("GET", "/v1/health")
        await client.aclose()


async def test_no_answer_in_time_is_a_timeout_and_the_connection_is_dropped() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async with serving(silent) as (path, _):
        client = UnixHttpClient(path, timeout=0.2)
        with pytest.raises(SocketHttpTimeout):
            await client.request("GET", "/v1/health")
        assert client._idle == []
        await client.aclose()


async def test_nothing_listening_is_an_error() -> None:
    base = short_tmpdir()
    path = base / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # bound, never listening: connect is refused
        client = UnixHttpClient(path, timeout=5)
        with pytest.raises(SocketHttpError, match="ConnectionRefusedError"):
            await client.request("GET", "/v1/health")
    with pytest.raises(SocketHttpError, match="FileNotFoundError"):
        await UnixHttpClient(base / "missing.sock", timeout=5).request("GET", "/v1/health")
    path.unlink()
    base.rmdir()


async def test_the_connection_check_runs_before_a_byte_is_sent() -> None:
    received: list[bytes] = []
    ended = asyncio.Event()

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read())
        ended.set()

    class Refused(Exception):
        pass

    checked: list[socket.socket] = []

    def refuse(sock: socket.socket) -> None:
        checked.append(sock)
        raise Refused("not our daemon")

    async with serving(record) as (path, connections):
        client = UnixHttpClient(path, timeout=5, on_connect=refuse)
        with pytest.raises(Refused):
            await client.request("POST", "/v1/sign-in/complete", b'{"code":"secret-code"}')
        await asyncio.wait_for(ended.wait(), 5)  # the server saw the connection end
    assert len(checked) == 1 and checked[0].family == socket.AF_UNIX
    assert received == [b""] and len(connections) == 1
