"""Ask the daemon for the bearer when a Cway tool call arrives, not when its first request leaves.

Why: the shim asks the daemon for the bearer before every Cway call (it keeps no token), and
that hop (~0.5 ms: the daemon's own work in its own process) used to be paid on top of
everything the shim does before sending: checking the arguments, building the tool, validating
a ``graphql_query`` document against the schema (milliseconds). Sent first, the daemon's answer
is ready by the time the gateway wants it, so the hop costs the shim almost nothing.

It changes nothing about *which* token is used or how errors look:

* :meth:`BearerPrefetch.started` (the request middleware, for a Cway tool in ``oauth2`` mode)
  sends ``POST /v1/token`` for the account the call names (``username``, else ``CWAY_USERNAME``,
  else the daemon's choice) and waits until it is written (at most :data:`SEND_WAIT_SECONDS`), so
  the daemon works on it while the tool does its own work;
* :func:`take` hands that answer to the *first* :class:`~cway_mcp_shim.daemon_bearer.DaemonBearer` of the
  same request asking for the *same* account, as the first attempt of
  :meth:`~cway_mcp_shim.daemon_access.DaemonAccess.bearer`: a daemon error or an unreachable daemon
  goes through the same mapping and recovery as an ordinary request. Any other caller (another
  account, a second call, a background job after the request) asks the daemon itself;
* an answer nobody took (the tool failed before calling Cway) is dropped when the request ends;
  its outcome is retrieved so it is never logged as an unhandled task error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from typing import Any

from cway_contract import BearerResponse
from cway_mcp_shim.daemon_access import DaemonAccess

#: How long a tool call waits at most for its early request to be written (connecting is usually µs).
SEND_WAIT_SECONDS = 0.1


class _Prefetched:
    """One request's early bearer answer, taken at most once."""

    __slots__ = ("task", "username")

    def __init__(self, username: str | None, task: asyncio.Task[BearerResponse]) -> None:
        self.username = username
        self.task: asyncio.Task[BearerResponse] | None = task


_current: ContextVar[_Prefetched | None] = ContextVar("cway_bearer_prefetch", default=None)


def take(username: str | None) -> asyncio.Task[BearerResponse] | None:
    """The early answer for ``username`` if this request has one nobody took yet; it is then gone."""
    prefetched = _current.get()
    if prefetched is None or prefetched.task is None or prefetched.username != username:
        return None
    task, prefetched.task = prefetched.task, None
    return task


class BearerPrefetch:
    """Which tool calls get an early bearer request, and for which account."""

    def __init__(self, daemon: DaemonAccess, tools: frozenset[str], default_username: str | None) -> None:
        self.daemon = daemon
        self.tools = tools
        self.default_username = default_username

    def account_for(self, tool: str, arguments: Mapping[str, Any]) -> tuple[bool, str | None]:
        """``(prefetch?, username)``: the account the call's :class:`DaemonBearer` will ask for."""
        if tool not in self.tools:
            return False, None
        named = arguments.get("username")
        if named is not None and not isinstance(named, str):
            return False, None  # the tool's own validation answers that
        return True, named or self.default_username

    @contextlib.asynccontextmanager
    async def started(self, tool: str, arguments: Mapping[str, Any]) -> AsyncIterator[None]:
        wanted, username = self.account_for(tool, arguments)
        if not wanted:
            yield
            return
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[None] = loop.create_future()

        def on_its_way(*_: object) -> None:
            if not sent.done():
                sent.set_result(None)

        task = loop.create_task(self.daemon.client.bearer(username, on_sent=on_its_way))
        task.add_done_callback(on_its_way)  # failed before sending (no daemon): nothing to wait for
        timer = loop.call_later(SEND_WAIT_SECONDS, on_its_way)  # a daemon slow to accept must not hold the tool
        prefetched = _Prefetched(username, task)
        token = _current.set(prefetched)
        try:
            await sent  # the request is written (or failed): now the tool's own work overlaps the daemon's
            timer.cancel()
            yield
        finally:
            timer.cancel()
            _current.reset(token)
            unused, prefetched.task = prefetched.task, None
            if unused is not None:
                unused.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[BearerResponse]) -> None:
    if not task.cancelled():
        task.exception()
