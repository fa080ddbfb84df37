"""File descriptors: use the whole allowance, keep the callback port's share small, and never flood the log.

* :func:`raise_fd_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard limit at start. The soft
  limit is often 1 024 (the systemd user default) while the hard limit is far higher; a daemon
  that holds sockets for many clients should not run out while the kernel would allow more.
* :func:`callback_connection_cap` derives how many connections the loopback callback listener
  may hold from the (raised) soft limit, so most descriptors stay available for the owner's Unix
  socket, the token store and outgoing HTTPS whatever happens on the TCP port.
* :class:`AcceptErrorFilter` replaces asyncio's traceback per failed ``accept()`` (EMFILE and
  friends) with one line per interval that says how many accepts failed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

from cway_authd.web.callback_guard import DEFAULT_MAX_CONNECTIONS

log = logging.getLogger("cway_authd.runner")

REPORT_INTERVAL = 60.0
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def raise_fd_limit() -> int:
    """Raise the soft open-file limit to the hard limit (as far as the kernel allows); return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if target == resource.RLIM_INFINITY:
        target = _nr_open()  # "unlimited" hard limit: the kernel's per-process ceiling
    if soft != resource.RLIM_INFINITY and target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError) as exc:  # e.g. macOS refuses more than OPEN_MAX for the soft limit
            log.info("open-file limit stays at %d (could not raise it to %d: %s)", soft, target, exc)
            return soft
        log.info("open-file limit raised from %d to %d", soft, target)
        return target
    return soft


def _nr_open() -> int:
    try:
        with open("/proc/sys/fs/nr_open") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 10240  # macOS OPEN_MAX, a safe ceiling elsewhere too


def callback_connection_cap(soft_limit: int | None = None) -> int:
    """At most an eighth of the descriptors for the callback port, and never more than the default cap."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_limit == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(4, min(DEFAULT_MAX_CONNECTIONS, soft_limit // 8))


class AcceptErrorFilter:
    """An asyncio exception handler: failed accepts for lack of resources become one line per interval."""

    def __init__(self, previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None) -> None:
        self._previous = previous
        self._suppressed = 0
        self._last_report = float("-inf")

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS and "accept" in str(context.get("message", "")):
            self._suppressed += 1
            now = time.monotonic()
            if now - self._last_report >= REPORT_INTERVAL:
                log.error(
                    "accept() failed %d time(s) since the last report: %s (%s); new connections wait and are retried",
                    self._suppressed,
                    errno.errorcode.get(exc.errno or 0, exc.errno),
                    exc.strerror,
                )
                self._last_report = now
                self._suppressed = 0
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)


def filter_accept_errors(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Install :class:`AcceptErrorFilter` on ``loop``; return a function that puts the old handler back."""
    previous = loop.get_exception_handler()
    loop.set_exception_handler(AcceptErrorFilter(previous))
    return lambda: loop.set_exception_handler(previous)
