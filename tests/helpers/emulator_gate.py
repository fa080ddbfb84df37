"""Hold the emulator's Cway token endpoint until the test says so: a synchronisation point, not a sleep.

The emulator runs in the test process, so the route's ``gate`` (latency and fault injection) is
wrapped: every call to the route group waits until :meth:`EndpointGate.release`, and the test can
wait until a given number of calls have arrived. Each wait has a deadline, so a broken scenario
fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from cway_emulator import cway_backend

DEADLINE_SECONDS = 30.0


class EndpointGate:
    """Holds every call to ``group`` (default: Cway's token endpoint) until :meth:`release`.

    With ``hold=False`` it only counts the calls as they arrive (and lets them straight on).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, group: str = "cway_token", *, hold: bool = True) -> None:
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self._arrived = 0
        self._changed = threading.Condition()
        real_gate = cway_backend.gate

        async def held(emu: Any, route_group: str, shape: Any) -> Any:
            if route_group == group:
                with self._changed:
                    self._arrived += 1
                    self._changed.notify_all()
                if not self.released.is_set():
                    await asyncio.to_thread(self.released.wait, DEADLINE_SECONDS)
            return await real_gate(emu, route_group, shape)

        monkeypatch.setattr(cway_backend, "gate", held)

    def wait_for(self, arrivals: int) -> None:
        """Block until ``arrivals`` calls are being held (call it with ``asyncio.to_thread`` from a loop)."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: self._arrived >= arrivals, timeout=DEADLINE_SECONDS)
            assert arrived, f"{self._arrived} of {arrivals} calls reached the endpoint"

    async def arrived(self, arrivals: int) -> None:
        await asyncio.to_thread(self.wait_for, arrivals)

    def release(self) -> None:
        self.released.set()
