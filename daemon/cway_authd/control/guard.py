"""Bounded connections on the control socket: header and body timeouts, and a connection cap.

Only the owner gets past the peer check (:mod:`cway_authd.control.api`), but a buggy client of the
owner's is enough to hold connections forever: one that sends half its headers, or a
``Content-Length`` it never delivers, used to keep its descriptor (and, for a body, the request's
task) for as long as it liked (> 200 s observed), and enough of them exhaust the process's
descriptors. This protocol is the peer-checked httptools protocol plus the callback port's rules
(:mod:`cway_authd.web.callback_guard`), arranged so that the bearer hot path pays no timer per request:

* **Header timeout.** A request's headers must be complete within ``header_timeout`` seconds of
  the connection opening (or of the previous response on a kept-alive connection). Trickling
  bytes does not reset it.
* **Body timeout.** Once the headers are in, the body must be complete within ``body_timeout``
  seconds; a client that announces more than it sends is dropped, and the request waiting for the
  body sees a disconnect instead of waiting forever.
* **Connection cap.** At most ``max_connections`` connections are open at once. A new one
  beyond that evicts the connection that has waited longest *without a request in progress*, so
  stale idle sockets make room and no answer being computed is cut off; if every slot is busy,
  the newcomer is dropped.

The deadlines are not one ``call_later`` per request: each connection's deadline sits in an
insertion-ordered dict (one for "waiting for headers", one for "reading a body"); every deadline
in a dict has the same timeout, so the dict is also ordered by deadline, and one sweep timer per
server wakes at the earliest deadline and drops what is due. A request that arrives in one piece,
the common case, costs two dict updates and no timer.

Dropped connections are aborted (no answer) and counted; one summary line is logged per interval.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

from cway_authd.control.api import PeerCheckedHttpToolsProtocol

log = logging.getLogger("cway_authd.control")

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 10.0
#: The most connections the control socket keeps; :func:`control_connection_cap` lowers it to the fd limit.
DEFAULT_MAX_CONNECTIONS = 1024
REPORT_INTERVAL = 60.0

_OVER_CAP = "over the connection limit"
_SLOW_HEADERS = "headers not complete in time"
_SLOW_BODY = "body not complete in time"


def control_connection_cap(soft_limit: int | None = None) -> int:
    """Half the descriptors at most (the rest: the callback port, the store, outgoing HTTPS), at least 16."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_limit == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return min(DEFAULT_MAX_CONNECTIONS, max(16, soft_limit // 2))


class ControlSlots:
    """One server's open connections and their deadlines, shared by its protocol instances."""

    def __init__(self, max_connections: int, header_timeout: float, body_timeout: float) -> None:
        self.max_connections = max(1, max_connections)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.open: set[GuardedControlProtocol] = set()
        # protocol -> deadline (loop time); insertion order is deadline order (one timeout per dict)
        self.waiting: dict[GuardedControlProtocol, float] = {}
        self.reading: dict[GuardedControlProtocol, float] = {}
        self.dropped = {_OVER_CAP: 0, _SLOW_HEADERS: 0, _SLOW_BODY: 0}
        self._last_report = 0.0
        self._sweep: asyncio.TimerHandle | None = None

    def admit(self, protocol: GuardedControlProtocol) -> bool:
        """Make room for ``protocol``; False if it must be dropped itself."""
        if len(self.open) >= self.max_connections:
            self.count(_OVER_CAP)
            if not self.waiting:
                return False
            next(iter(self.waiting)).drop()  # the one that has waited longest without a request
        self.open.add(protocol)
        return True

    def wait_for_request(self, protocol: GuardedControlProtocol, now: float) -> None:
        self.waiting.pop(protocol, None)  # re-inserted at the end: its deadline is now the latest
        self.waiting[protocol] = deadline = now + self.header_timeout
        self._arm(protocol.loop, deadline)

    def read_body(self, protocol: GuardedControlProtocol, now: float) -> None:
        self.waiting.pop(protocol, None)
        self.reading[protocol] = deadline = now + self.body_timeout
        self._arm(protocol.loop, deadline)

    def forget(self, protocol: GuardedControlProtocol) -> None:
        self.open.discard(protocol)
        self.waiting.pop(protocol, None)
        self.reading.pop(protocol, None)

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Make sure a sweep runs by ``deadline`` (usually one already will: the earliest deadline comes first)."""
        sweep = self._sweep
        if sweep is None or deadline < sweep.when():
            if sweep is not None:
                sweep.cancel()
            self._sweep = loop.call_at(deadline, self._sweep_due, loop)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        deadlines = [d[next(iter(d))] for d in (self.waiting, self.reading) if d]
        if deadlines:
            self._sweep = loop.call_at(min(deadlines), self._sweep_due, loop)

    def _sweep_due(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        now = loop.time()
        for deadlines, reason in ((self.waiting, _SLOW_HEADERS), (self.reading, _SLOW_BODY)):
            while deadlines:
                protocol = next(iter(deadlines))
                if deadlines[protocol] > now:
                    break
                self.count(reason)
                protocol.drop()
        self._schedule(loop)

    def count(self, reason: str) -> None:
        self.dropped[reason] += 1
        now = time.monotonic()
        if now - self._last_report >= REPORT_INTERVAL:
            self._last_report = now
            counts = ", ".join(f"{n} {why}" for why, n in self.dropped.items() if n)
            log.warning(
                "control socket: dropped connections (%s) since the last report; at most %d are kept open, "
                "headers within %g s, bodies within %g s",
                counts,
                self.max_connections,
                self.header_timeout,
                self.body_timeout,
            )
            for key in self.dropped:
                self.dropped[key] = 0


class GuardedControlProtocol(PeerCheckedHttpToolsProtocol):
    """The peer-checked httptools protocol under :class:`ControlSlots` (bind them with :func:`control_protocol`)."""

    slots: ControlSlots

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dropped = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self._refused:  # another uid: already aborted by the peer check, never counted
            return
        if not self.slots.admit(self):
            self.drop()
            return
        self.slots.wait_for_request(self, self.loop.time())

    def connection_lost(self, exc: Exception | None) -> None:
        self.slots.forget(self)
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self.slots.read_body(self, self.loop.time())  # until on_message_complete, often in the same read
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.slots.reading.pop(self, None)
        super().on_message_complete()
        cycle = self.cycle
        if cycle is not None and cycle.response_complete and not self.transport.is_closing():
            self.slots.wait_for_request(self, self.loop.time())  # answered before its body ended: now idle

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or self in self.slots.reading:
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:  # no pipelined request started in its place
            self.slots.wait_for_request(self, self.loop.time())

    def drop(self) -> None:
        """Abort without an answer; the descriptor is freed at once."""
        if self._dropped:
            return
        self._dropped = True
        self.slots.forget(self)
        self.transport.abort()


def control_protocol(
    max_connections: int | None = None, header_timeout: float | None = None, body_timeout: float | None = None
) -> type[GuardedControlProtocol]:
    """A protocol class with its own slots (one per server). Unset values are this module's defaults as they
    are when the server is built (the fd-derived cap, 10 s, 10 s)."""
    slots = ControlSlots(
        control_connection_cap() if max_connections is None else max_connections,
        DEFAULT_HEADER_TIMEOUT if header_timeout is None else header_timeout,
        DEFAULT_BODY_TIMEOUT if body_timeout is None else body_timeout,
    )
    return type("GuardedControlProtocol", (GuardedControlProtocol,), {"slots": slots})
