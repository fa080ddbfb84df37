"""A small HTTP/1.1 client for the daemon's Unix socket: kept-alive connections and nothing else.

Why not httpx here: the shim asks the daemon for the bearer before *every* Cway call, and a
general-purpose client costs more than the daemon's whole answer — httpx adds 1.2–1.7 ms a call
over the same socket, and building one costs ~25 ms because it prepares a TLS context that a Unix
socket never uses. This client speaks just the HTTP/1.1 the daemon answers with (``Content-Length``
or chunked bodies, keep-alive), so the routes stay ordinary, OpenAPI-described HTTP for every other
client, and the hop costs little more than the socket itself.

* **Connections are kept alive** and reused; concurrent requests each take an idle connection or
  open another one; at most ``max_idle`` are kept afterwards.
* **Every new connection is checked**: ``before_connect`` may look at the socket file first, and
  ``on_connect`` (given the connected socket) runs before a byte is sent: that is where the caller
  verifies who is on the other end. Either refuses by raising; the exception reaches the caller.
* **A stale connection** (the daemon closed it while idle, e.g. its keep-alive timeout, or it was
  restarted) is dropped before use when the loop has already seen its end; when the end is only
  seen on use (no byte of an answer read), the request is sent once more on a fresh connection —
  the daemon never read it, so repeating it is safe whatever the method.
* Failures are :class:`SocketHttpError` (connect, read, write, malformed answer) or
  :class:`SocketHttpTimeout`; a connection in an unknown state (error, timeout, cancellation) is
  closed, never reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
READ_LIMIT = 256 * 1024


class SocketHttpError(Exception):
    """The request could not be sent or its answer not read; the message names the failure."""


class SocketHttpTimeout(SocketHttpError):
    """No complete answer within the timeout."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


class _StaleConnection(Exception):
    """A reused connection ended before any byte of the answer: the request was not read."""


class _Connection:
    __slots__ = ("loop", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.loop = asyncio.get_running_loop()
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return self.loop is asyncio.get_running_loop() and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    async def exchange(
        self, request: bytes, *, reused: bool, on_sent: Callable[[], None] | None = None
    ) -> tuple[Answer, bool]:
        """Send ``request``; return the answer and whether the connection may be reused."""
        self.writer.write(request)
        if on_sent is not None:
            on_sent()
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if reused and not exc.partial:
                raise _StaleConnection from None
            raise
        except (ConnectionResetError, BrokenPipeError):
            if reused:
                raise _StaleConnection from None
            raise
        status, headers = _parse_head(head)
        keep_alive = headers.get("connection", "").lower() != "close"
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        elif "content-length" in headers:
            length = _int_header(headers["content-length"])
            if length > MAX_BODY_BYTES:
                raise SocketHttpError(f"answer too large ({length} bytes)")
            body = await self.reader.readexactly(length)
        else:  # the answer runs to the end of the connection
            body = await self.reader.read(-1)
            keep_alive = False
        return Answer(status, body), keep_alive

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = _int_header(size_line.split(b";", 1)[0].decode("latin-1"), base=16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers: none are used
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise SocketHttpError(f"answer too large (over {MAX_BODY_BYTES} bytes)")
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


class UnixHttpClient:
    """HTTP/1.1 over the Unix socket at ``path``; ``host`` is sent as the ``Host`` header only."""

    def __init__(
        self,
        path: Path,
        *,
        timeout: float,
        before_connect: Callable[[], None] | None = None,
        on_connect: Callable[[socket.socket], None] | None = None,
        host: str = "cway-authd",
        max_idle: int = 4,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self._before_connect = before_connect
        self._on_connect = on_connect
        self._host = host
        self._max_idle = max_idle
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(
        self, method: str, target: str, body: bytes | None = None, *, on_sent: Callable[[], None] | None = None
    ) -> Answer:
        """``on_sent`` is called once the request is handed to the socket (each time it is, after a stale connection)."""
        message = self._message(method, target, body)
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    conn, reused = self._take_idle(), True
                    if conn is None:
                        conn, reused = await self._connect(), False
                    try:
                        answer, keep = await conn.exchange(message, reused=reused, on_sent=on_sent)
                    except _StaleConnection:
                        conn.close()
                        continue  # the daemon closed it while idle: the request was never read
                    except BaseException:
                        conn.close()  # unknown state (error, timeout, cancellation): never reused
                        raise
                    self._give_back(conn, keep)
                    return answer
        except TimeoutError:
            raise SocketHttpTimeout(f"no answer within {self.timeout:g} s") from None
        except asyncio.IncompleteReadError:
            raise SocketHttpError("the connection closed mid-answer") from None
        except asyncio.LimitOverrunError:
            raise SocketHttpError("the answer's head is too long") from None
        except OSError as exc:  # ConnectionResetError, BrokenPipeError, ConnectionRefusedError, ...
            raise SocketHttpError(type(exc).__name__) from None

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _message(self, method: str, target: str, body: bytes | None) -> bytes:
        head = f"{method} {target} HTTP/1.1\r\nHost: {self._host}\r\nAccept: application/json\r\n"
        if body is None and method in ("GET", "DELETE", "HEAD"):
            return (head + "\r\n").encode("ascii")
        payload = body or b""
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        return head.encode("ascii") + payload

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _give_back(self, conn: _Connection, keep: bool) -> None:
        if keep and not self._closed and len(self._idle) < self._max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    async def _connect(self) -> _Connection:
        if self._before_connect is not None:
            self._before_connect()
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, str(self.path))
            if self._on_connect is not None:
                self._on_connect(sock)
            reader, writer = await asyncio.open_connection(sock=sock, limit=READ_LIMIT)
        except BaseException:
            sock.close()
            raise
        return _Connection(reader, writer)


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, _, rest = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise SocketHttpError("not an HTTP/1.1 answer")
    status = _int_header(parts[1].decode("latin-1"))
    headers: dict[str, str] = {}
    for line in rest.split(b"\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise SocketHttpError("malformed header line in the answer")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return status, headers


def _int_header(text: str, base: int = 10) -> int:
    try:
        value = int(text.strip(), base)
    except ValueError:
        raise SocketHttpError(f"malformed number in the answer: {text[:20]!r}") from None
    if value < 0:
        raise SocketHttpError("negative length in the answer")
    return value
