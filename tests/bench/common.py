"""What every bench row shares: the row shape, percentiles, timing loops, signing in."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from cway_common.daemon_client import DaemonClient
from cway_emulator import EmulatorServer

ALICE = "alice@contoso.example"


@dataclass
class Row:
    """One line of the table; ``ok`` is None for information rows without a goal."""

    what: str
    goal: str
    measured: str
    floor: str
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("pass" if self.ok else "MISS")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def p50_p99(samples: list[float]) -> str:
    return f"p50 {ms(p50(samples))}, p99 {ms(p99(samples))}"


async def timed(n: int, fn: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


def sign_in(daemon_socket: Path, emu: EmulatorServer, username: str = ALICE) -> None:
    """A real sign-in through the daemon and the emulator's browser, then wait until it is stored."""

    async def run() -> None:
        async with DaemonClient(daemon_socket) as client:
            flow = await client.start_sign_in(username)
            assert flow.authorization_url
            location = emu.browser_sign_in(flow.authorization_url, username)
            async with httpx.AsyncClient() as browser:
                await browser.get(location)
            for _ in range(200):
                status = await client.sign_in_status(flow.flow_id)
                if status.state != "pending":
                    assert status.state == "completed", status
                    return
                await asyncio.sleep(0.05)
            raise TimeoutError("the sign-in did not finish")

    asyncio.run(run())


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return -1
