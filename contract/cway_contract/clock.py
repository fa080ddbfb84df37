"""One clock for the whole process, injectable so that expiry can be tested without sleeping.

Every timestamp in cway-mcp is timezone-aware UTC. Code that needs "now" takes a ``Clock``
rather than calling ``datetime.now`` itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: tests use it to jump past an expiry."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = ensure_utc(when)


def ensure_utc(when: datetime) -> datetime:
    """Refuse naive datetimes instead of guessing their zone."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("naive datetime: cway-mcp uses timezone-aware UTC everywhere")
    return when.astimezone(UTC)


SYSTEM_CLOCK: Clock = SystemClock()
