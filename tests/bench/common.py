"""What every bench row shares: the row shape, percentiles, timing loops, signing in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from cway_contract.daemon_client import DaemonClient
from cway_emulator import browser_sign_in
from tests.helpers.daemon import free_port

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


@contextlib.contextmanager
def emulator_process() -> Iterator[tuple[dict[str, str], str]]:
    """``python -m cway_emulator`` in its own process: the timed rows must not share a GIL with it.

    Yields the environment that points at it and the redirect URI it accepts.
    """
    redirect_uri = f"http://localhost:{free_port()}/callback"
    argv = [sys.executable, "-m", "cway_emulator", "--auto-approve", "--quiet", "--redirect-uri", redirect_uri]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stdout is not None and process.stderr is not None
    try:
        err = b""
        deadline = time.monotonic() + 60
        while b"Ctrl-C" not in err:  # printed after every export line
            ready, _, _ = select.select([process.stderr], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(process.stderr.fileno(), 65536) if ready else b""
            if not chunk:
                raise RuntimeError(f"the emulator did not start: {err.decode(errors='replace')}")
            err += chunk
        out = os.read(process.stdout.fileno(), 65536).decode()
        env = dict(line[len("export ") :].split("=", 1) for line in out.splitlines() if line.startswith("export "))
        yield {**env, "AZURE_REDIRECT_URI": redirect_uri}, redirect_uri
    finally:
        process.terminate()
        process.wait(20)


def sign_in(daemon_socket: Path, username: str = ALICE) -> None:
    """A real sign-in through the daemon and the emulator's browser, then wait until it is stored."""

    async def run() -> None:
        async with DaemonClient(daemon_socket) as client:
            flow = await client.start_sign_in(username)
            assert flow.authorization_url
            location = await asyncio.to_thread(browser_sign_in, flow.authorization_url, username)
            async with httpx.AsyncClient(trust_env=False) as browser:
                await browser.get(location)
            for _ in range(400):
                status = await client.sign_in_status(flow.flow_id)
                if status.state != "pending":
                    assert status.state == "completed", status
                    return
                await asyncio.sleep(0.05)
            raise TimeoutError("the sign-in did not finish")

    asyncio.run(run())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux ``/proc``; 10 ms resolution).

    On a shared, saturated machine wall time mostly measures the queue for a core; CPU time is
    what the process itself spent, so the rows report it beside the wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return -1
