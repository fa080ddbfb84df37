"""The client side of the socket contract: every way a daemon can fail to answer is ``DaemonUnavailable``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from tests.helpers.daemon import short_tmpdir

from cway_contract.contract import ErrorCode
from cway_contract.daemon_client import DaemonClient, DaemonError, DaemonUnavailable

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def fake_daemon(reply: Reply) -> AsyncIterator[Path]:
    base = short_tmpdir()
    path = base / "d.sock"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            await reply(reader, writer)
        writer.close()

    server = await asyncio.start_unix_server(handle, str(path))
    try:
        yield path
    finally:
        server.close()
        path.unlink(missing_ok=True)
        base.rmdir()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    writer.transport.abort()


async def _half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"user')
    await writer.drain()


async def _not_the_contract(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 14\r\n\r\n{"surprise":1}')
    await writer.drain()


@pytest.mark.parametrize("reply", [_reset, _half_answer, _not_the_contract], ids=["reset", "half", "unknown-shape"])
async def test_a_daemon_that_fails_mid_answer_is_unavailable(reply: Reply) -> None:
    async with fake_daemon(reply) as path, DaemonClient(path, timeout=5) as client:
        with pytest.raises(DaemonUnavailable):
            await client.bearer("alice@contoso.example")


async def test_no_listener_and_no_socket_are_unavailable() -> None:
    base = short_tmpdir()
    path = base / "d.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))  # ours, so the owner check passes; never listening
        async with DaemonClient(path, timeout=5) as client:
            with pytest.raises(DaemonUnavailable, match="does not answer"):
                await client.health()
    path.unlink()
    async with DaemonClient(path, timeout=5) as client:
        with pytest.raises(DaemonUnavailable):
            await client.health()
    base.rmdir()


async def test_an_error_body_is_a_daemon_error_and_an_unknown_one_is_internal() -> None:
    bodies = iter(
        [
            b'{"error":"not_signed_in","message":"alice is not signed in","username":"alice"}',
            b"<html>oops</html>",
        ]
    )

    async def errors(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = next(bodies)
        writer.write(
            b"HTTP/1.1 401 Unauthorized\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    async with fake_daemon(errors) as path, DaemonClient(path, timeout=5) as client:
        with pytest.raises(DaemonError) as known:
            await client.bearer("alice")
        with pytest.raises(DaemonError) as unknown:
            await client.bearer("alice")
    assert known.value.code is ErrorCode.NOT_SIGNED_IN and known.value.status == 401
    assert unknown.value.code is ErrorCode.INTERNAL and "401" in str(unknown.value)


async def test_no_answer_in_time_is_unavailable() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with fake_daemon(hang) as path, DaemonClient(path, timeout=0.2) as client:
        with pytest.raises(DaemonUnavailable, match="in time"):
            await client.health()
