"""The callback listener's protocol: a connection cap that evicts idle sockets first, and a header timeout."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from cway_authd.fd_budget import AcceptErrorFilter, callback_connection_cap
from cway_authd.web.callback_guard import guarded_protocol

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    config = uvicorn.Config(
        _app, http=guarded_protocol(max_connections=2, header_timeout=0.5), log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    await task
    sock.close()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), timeout=10) == b""
    except ConnectionResetError:
        return True


async def test_a_new_connection_evicts_the_oldest_idle_one(port: int) -> None:
    first = await asyncio.open_connection("127.0.0.1", port)
    second = await asyncio.open_connection("127.0.0.1", port)
    third_reader, third_writer = await asyncio.open_connection("127.0.0.1", port)
    third_writer.write(REQUEST)
    assert (await asyncio.wait_for(third_reader.read(1024), timeout=10)).startswith(b"HTTP/1.1 200")
    assert await _closed_by_server(first[0])  # the oldest idle connection made room
    second[1].write(REQUEST)  # the other one was left alone and is still served
    assert (await asyncio.wait_for(second[0].read(1024), timeout=10)).startswith(b"HTTP/1.1 200")
    for _, writer in (first, second, (third_reader, third_writer)):
        writer.close()


async def test_a_client_that_trickles_its_headers_is_dropped(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\n")
    closed = asyncio.create_task(_closed_by_server(reader))
    while not closed.done():  # keep sending bytes: the header timer must not be reset by them
        writer.write(b"X-Slow: 1\r\n")
        await asyncio.sleep(0.05)
    assert closed.result()
    writer.close()


def test_the_cap_follows_the_fd_limit() -> None:
    assert callback_connection_cap(1024) == 64
    assert callback_connection_cap(256) == 32
    assert callback_connection_cap(16) == 4


def test_failed_accepts_are_one_line_per_interval_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        passed_on: list[dict[str, object]] = []
        handler = AcceptErrorFilter(lambda _loop, context: passed_on.append(context))
        emfile = OSError(errno.EMFILE, "Too many open files")
        with caplog.at_level(logging.ERROR, logger="cway_authd.runner"):
            for _ in range(500):  # what asyncio reports once per failed accept() while out of descriptors
                handler(loop, {"message": "socket.accept() out of system resource", "exception": emfile})
        other = {"message": "something else", "exception": ValueError("x")}
        handler(loop, other)
    finally:
        loop.close()
    lines = [r for r in caplog.records if "accept() failed" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None and "EMFILE" in lines[0].getMessage()
    assert passed_on == [other]  # anything else still reaches the previous handler
