"""Rate-limited audit lines for events that anyone on the machine can cause.

The loopback callback port is open to every local user, and a callback with a made-up ``state``
used to write one ``sign_in_failed`` line each: 20 000 junk callbacks added 1.7 MB, so the whole
rotated history (about 20 MB) could be pushed out in minutes and the record of who got which
token lost. Events that carry no proof of who caused them go through :class:`UnauthenticatedEvents`:
the first ``burst`` of each window are written as usual (a real person's mistyped or stale link
stays visible), the rest are only counted, and one ``unauthenticated_events_suppressed`` line per
window says how many were left out and why. A flood therefore writes at most ``burst + 1`` lines
per window (11 per 10 minutes by default, about 130 KB a day), so it would take months, not
minutes, to rotate the real history away.

All time comes from the injected clock; the summary of a window is written when the next such
event arrives after it, or when the daemon stops.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Protocol

from cway_contract import Clock

DEFAULT_BURST = 10
DEFAULT_WINDOW = timedelta(minutes=10)
SUMMARY_EVENT = "unauthenticated_events_suppressed"


class _Audit(Protocol):
    def event(self, event: str, **fields: Any) -> None: ...


class UnauthenticatedEvents:
    """At most ``burst`` lines per ``window`` for unauthenticated events, plus one summary line."""

    def __init__(
        self, audit: _Audit, clock: Clock, *, burst: int = DEFAULT_BURST, window: timedelta = DEFAULT_WINDOW
    ) -> None:
        self._audit = audit
        self._clock = clock
        self._burst = burst
        self._window = window
        self._window_start: datetime | None = None
        self._written = 0
        self._suppressed: Counter[str] = Counter()

    def event(self, event: str, *, reason: str, **fields: Any) -> None:
        now = self._clock.now()
        if self._window_start is None or now - self._window_start >= self._window:
            self.flush(now)
            self._window_start = now
            self._written = 0
        if self._written < self._burst:
            self._written += 1
            self._audit.event(event, reason=reason, unauthenticated=True, **fields)
        else:
            self._suppressed[f"{event}:{reason}"] += 1

    def flush(self, now: datetime | None = None) -> None:
        """Write the summary of what was left out since the window began (nothing if nothing was)."""
        if not self._suppressed:
            return
        self._audit.event(
            SUMMARY_EVENT,
            count=sum(self._suppressed.values()),
            by_reason=dict(self._suppressed),
            since=self._window_start.isoformat() if self._window_start else None,
            until=(now or self._clock.now()).isoformat(),
        )
        self._suppressed.clear()
