"""Times and durations for people: shared by ``cway-auth``, the local status page and the shim's
auth tools, so "39h 45m" reads the same wherever a person (or a model relaying it) sees it.
"""

from __future__ import annotations

from datetime import datetime

from cway_contract.clock import SYSTEM_CLOCK


def format_duration(seconds: float) -> str:
    """``143_100`` → ``"39h 45m"``; ``90`` → ``"1m 30s"``; the sign is dropped (callers word it).

    Hours are not rolled into days on purpose: Cway's refresh token lives about 40 hours, and
    "39h 45m" reads better than "1d 15h 45m" next to that.
    """
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def format_remaining(when: datetime | None, now: datetime | None = None) -> str:
    """How long until ``when``: ``"in 39h 45m"``, ``"expired 3m 10s ago"``, or ``"unknown"``."""
    if when is None:
        return "unknown"
    delta = (when - (now or SYSTEM_CLOCK.now())).total_seconds()
    if delta >= 0:
        return f"in {format_duration(delta)}"
    return f"expired {format_duration(delta)} ago"


def format_time(when: datetime | None) -> str:
    """An absolute time in the local zone, to the second, with its offset."""
    if when is None:
        return "unknown"
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def format_left(seconds: float | None) -> str:
    """What is left of a validity period: ``"39h 45m"``, ``"expired"`` or ``"unknown"``."""
    if seconds is None:
        return "unknown"
    return "expired" if seconds <= 0 else format_duration(seconds)
