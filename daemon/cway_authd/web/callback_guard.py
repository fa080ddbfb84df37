"""Bounded connections on the loopback callback port, so no local user can starve the daemon of fds.

Any local user can connect to ``127.0.0.1:PORT``. Without limits, 1 100 idle connections used up a
1 024-fd process: accept() failed with EMFILE on *both* listeners, the owner's token calls over the
Unix socket timed out, and asyncio logged a traceback per failed accept. This protocol, uvicorn's
h11 protocol plus three rules, keeps the callback listener's share of descriptors small and fixed:

* **Connection cap.** At most ``max_connections`` connections are open at once. When a new one
  would exceed it, the oldest connection that is *waiting* (no request in progress) is dropped to
  make room, so a flood of idle sockets cannot lock out the browser's real callback, which sends
  its request at once. If every slot is busy answering a request, the newcomer is dropped.
* **Header timeout.** A request's headers must be complete within ``header_timeout`` seconds of
  the connection opening (or of the previous response on a kept-alive connection); a slow or
  silent client is dropped. The timer is not reset by each byte, so trickling does not help.
* **Idle timeout.** uvicorn's keep-alive timeout closes a connection left idle after a response.

Dropped connections are aborted (RST, no answer) and counted; one summary line is logged per
interval instead of one line per connection, so a flood cannot fill the log either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("cway_authd.callback")

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_HEADER_TIMEOUT = 10.0
REPORT_INTERVAL = 60.0


class ConnectionSlots:
    """The callback listener's open connections, shared by every protocol instance of one server."""

    def __init__(self, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max(1, max_connections)
        self.header_timeout = header_timeout
        self.open: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()  # oldest first
        self.dropped = {"over the connection limit": 0, "too slow to send a request": 0}
        self._last_report = 0.0

    def admit(self, protocol: GuardedH11Protocol) -> bool:
        """Make room for ``protocol``; False if it must be dropped itself."""
        if len(self.open) >= self.max_connections:
            if not self.waiting:
                self.drop_count("over the connection limit")
                return False
            victim = next(iter(self.waiting))
            self.drop_count("over the connection limit")
            victim.drop()
        self.open[protocol] = None
        return True

    def drop_count(self, reason: str) -> None:
        self.dropped[reason] += 1
        now = time.monotonic()
        if now - self._last_report >= REPORT_INTERVAL:
            self._last_report = now
            counts = ", ".join(f"{n} {why}" for why, n in self.dropped.items() if n)
            log.warning(
                "callback listener: dropped connections (%s) since the last report; at most %d are kept open",
                counts,
                self.max_connections,
            )
            for key in self.dropped:
                self.dropped[key] = 0

    def forget(self, protocol: GuardedH11Protocol) -> None:
        self.open.pop(protocol, None)
        self.waiting.pop(protocol, None)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under :class:`ConnectionSlots` rules (bind ``slots`` with :func:`guarded_protocol`)."""

    slots: ConnectionSlots

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._dropped = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.slots.admit(self):
            self.drop()
            return
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self.slots.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._dropped:
            return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self in self.slots.waiting:
            self._cancel_header_timer()  # the request's headers are in: it is being answered
            self.slots.waiting.pop(self, None)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_request()  # a kept-alive connection waits (and may be evicted) like a new one

    def drop(self) -> None:
        """Abort without an answer: RST, and the descriptor is freed at once."""
        if self._dropped:
            return
        self._dropped = True
        self._cancel_header_timer()
        self.slots.forget(self)
        self.transport.abort()

    def _await_request(self) -> None:
        self.slots.waiting[self] = None
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.slots.header_timeout, self._header_timeout)

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self in self.slots.waiting:
            self.slots.drop_count("too slow to send a request")
            self.drop()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None


def guarded_protocol(
    max_connections: int = DEFAULT_MAX_CONNECTIONS, header_timeout: float = DEFAULT_HEADER_TIMEOUT
) -> type[GuardedH11Protocol]:
    """A protocol class with its own slots: one per server, so two servers never share a budget."""
    slots = ConnectionSlots(max_connections, header_timeout)
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"slots": slots})
