"""How the daemon spends its stop timeout, so that a stop ends before the service manager's SIGKILL.

Why: systemd kills a unit that has not stopped within ``TimeoutStopSec`` (launchd: ``ExitTimeOut``).
The old shutdown had no notion of that limit: it let requests finish (up to 35 s), then tried each
unsaved account's save three times, one after another, before the rescue store; with a full disk
and 200 accounts that took 75 s, and under ``TimeoutStopSec=45`` 88 accounts were lost without a
log line. Now one setting, ``CWAY_STOP_TIMEOUT_SECONDS``, is written into the unit by ``cway-auth
service install`` *and* read by the daemon, which splits it:

* ``margin`` (15 %, at least 3 s): never used, room for the interpreter to exit and for a slow disk;
* ``save`` (25 %, at most 10 s): keeping every unsaved account (the rescue pass, then the retries);
* ``drain``: the rest, for in-flight requests and refreshes to finish (a rotated refresh token must
  not be abandoned mid-flight).

At 45 s: drain 28 s, save 10 s, margin 7 s. The rescue pass runs first at SIGTERM too, before the
drain, so whatever is unsaved at that moment is safe however long the drain takes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cway_contract import DEFAULT_STOP_TIMEOUT_SECONDS, Settings


@dataclass(frozen=True)
class ShutdownBudget:
    stop_timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS

    @classmethod
    def for_settings(cls, settings: Settings) -> ShutdownBudget:
        return cls(float(settings.stop_timeout_seconds))

    @property
    def margin(self) -> float:
        return max(3.0, 0.15 * self.stop_timeout)

    @property
    def save(self) -> float:
        return min(10.0, 0.25 * self.stop_timeout)

    @property
    def drain(self) -> float:
        return max(1.0, self.stop_timeout - self.margin - self.save)

    def start(self, now: float | None = None) -> ShutdownClock:
        """The deadlines of a stop that begins ``now`` (``time.monotonic()``)."""
        began = time.monotonic() if now is None else now
        return ShutdownClock(began, began + self.drain, began + self.stop_timeout - self.margin)


@dataclass(frozen=True)
class ShutdownClock:
    """One stop's deadlines on the monotonic clock."""

    began: float
    drain_until: float
    save_until: float

    def drain_left(self) -> float:
        return max(0.0, self.drain_until - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.began
