"""The floors: the same hop done by the simplest means, to show what the product adds.

* :class:`MiniHttp` — a minimal HTTP/1.1 client over one kept-alive Unix-socket connection
  (no pool, no TLS context, no models): what any client must at least spend against a server;
* :func:`bare_starlette` — a Starlette app with one fixed route, served by uvicorn (httptools, as
  the daemon's socket) over its own Unix socket in a child process: what any ASGI server must spend;
* :func:`echo_server` — raw asyncio echo over a Unix socket in a child process: what the socket,
  the loop and waking another process cost (the hop the design requires, with no work in it; on
  a shared VM its p99 alone can be near a millisecond).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

BARE_APP = """
import asyncio, socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
BODY = {"username": "alice@contoso.example", "access_token": "x" * 900, "token_type": "Bearer",
        "expires_at": "2030-01-01T00:00:00Z"}
async def token(request):
    await request.body()
    return JSONResponse(BODY)
app = Starlette(routes=[Route("/v1/token", token, methods=["POST"])])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(sys.argv[1])
sock.listen(128)
config = uvicorn.Config(app, http="httptools", ws="none", lifespan="off", log_config=None, access_log=False)
asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
"""


class MiniHttp:
    """One kept-alive HTTP/1.1 connection; ``request`` returns the body (Content-Length responses only)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, path: Path) -> MiniHttp:
        reader, writer = await asyncio.open_unix_connection(str(path))
        return cls(reader, writer)

    async def request(self, method: str, target: str, body: bytes = b"") -> bytes:
        head = f"{method} {target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        self.writer.write(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return await self.reader.readexactly(length)

    async def aclose(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


@contextlib.contextmanager
def bare_starlette(path: Path) -> Iterator[Path]:
    """A bare Starlette app on ``path`` in a child process, for the ``with`` block."""
    with _child(BARE_APP, path, "the bare Starlette app") as ready:
        yield ready


@contextlib.contextmanager
def _child(program: str, path: Path, what: str) -> Iterator[Path]:
    """``python -c program path`` until the ``with`` block ends; yields once it listens on ``path``."""
    process = subprocess.Popen([sys.executable, "-c", program, str(path)], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not path.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.02)
        yield path
    finally:
        process.terminate()
        process.wait(10)


ECHO_APP = """
import asyncio, sys
async def handle(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
    writer.close()
async def main():
    server = await asyncio.start_unix_server(handle, sys.argv[1])
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def echo_server(path: Path) -> AsyncIterator[Path]:
    """Raw asyncio echo on ``path`` in a child process: every chunk read is written back."""
    with _child(ECHO_APP, path, "the echo server") as ready:
        yield ready


async def echo_round_trips(path: Path, n: int, size: int) -> list[float]:
    """``n`` round trips of ``size`` bytes through :func:`echo_server`."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    payload = b"x" * size
    samples = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            writer.write(payload)
            await reader.readexactly(size)
            samples.append(time.perf_counter() - start)
    finally:
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.01)  # let the server's handler see the end of the stream and finish
    return samples
