"""``make bench``: the speed and memory numbers, printed as a table. Never a pass/fail.

What is measured, and why it matters to a person:
- shim import and cold start: every MCP client spawns ``cway-mcp``; a slow start is a slow first answer;
- bearer latency over the socket: paid before every Cway call;
- concurrent bearer requests on an expiring account: the refresh must happen once, quickly;
- token store load/save: paid on every refresh and at daemon start;
- daemon resident memory: it runs all day.

Run against the embedded emulator on loopback, in a temporary directory.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from cway_authd.store import FileTokenStore, TokenRecord, resolve_store_key
from cway_common.clock import SYSTEM_CLOCK
from cway_common.daemon_client import DaemonClient
from cway_common.redact import fingerprint
from cway_emulator import EmulatorServer
from tests.helpers.daemon import daemon_env, running_daemon, short_tmpdir

ALICE = "alice@contoso.example"
Row = tuple[str, str, str]


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms"


def bench_shim_start() -> list[Row]:
    rows: list[Row] = []
    imports = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import cway_mcp_shim.server"], check=True)
        imports.append(time.perf_counter() - start)
    rows.append(("shim: python + import cway_mcp_shim.server", f"{min(imports) * 1000:.0f} ms", "best of 5"))
    floor = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import mcp.server.mcpserver"], check=True)
        floor.append(time.perf_counter() - start)
    rows.append(("floor: python + import mcp.server.mcpserver", f"{min(floor) * 1000:.0f} ms", "best of 5"))
    return rows


async def timed(n: int, fn: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


def sign_in(daemon_socket: Path, emu: EmulatorServer, username: str) -> None:
    async def run() -> None:
        async with DaemonClient(daemon_socket) as client:
            flow = await client.start_sign_in(username)
            assert flow.authorization_url
            location = emu.browser_sign_in(flow.authorization_url, username)
            async with httpx.AsyncClient() as browser:
                await browser.get(location)
            for _ in range(100):
                if (await client.sign_in_status(flow.flow_id)).state != "pending":
                    return
                await asyncio.sleep(0.05)

    asyncio.run(run())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def bench_daemon() -> list[Row]:
    rows: list[Row] = []
    with EmulatorServer(auto_approve=True) as emu:
        env = daemon_env(emu.env())
        emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
        with running_daemon(env, mode="process") as daemon:
            rows.append(("daemon RSS, idle, no accounts", f"{rss_kib(daemon.pid) / 1024:.1f} MiB", ""))
            sign_in(daemon.socket_path, emu, ALICE)

            async def latency() -> list[float]:
                async with DaemonClient(daemon.socket_path) as client:
                    await client.bearer(ALICE)
                    return await timed(500, lambda: client.bearer(ALICE))

            rows.append(("bearer over the socket (cached token)", percentiles(asyncio.run(latency())), "500 calls"))

            async def herd() -> tuple[float, int]:
                async with DaemonClient(daemon.socket_path) as client:
                    before = emu.counters.get("cway_token_refresh", 0)
                    emu.knobs.cway_access_lifetime = 3600
                    refused = fingerprint((await client.bearer(ALICE)).access_token)
                    start = time.perf_counter()  # 200 callers whose token Cway just refused, as shims report it
                    await asyncio.gather(*(client.force_refresh(ALICE, rejected=refused) for _ in range(200)))
                    return time.perf_counter() - start, emu.counters.get("cway_token_refresh", 0) - before

            elapsed, refreshes = asyncio.run(herd())
            rows.append(
                ("200 concurrent refreshes after a 401", f"{elapsed * 1000:.0f} ms", f"{refreshes} call(s) at Cway")
            )
            rows.append(("daemon RSS, 1 account, after 700 calls", f"{rss_kib(daemon.pid) / 1024:.1f} MiB", ""))
    return rows


def bench_store() -> list[Row]:
    base = short_tmpdir("cw-bench-")
    keys = resolve_store_key(base, Fernet.generate_key().decode(), use_keyring=False)
    store = FileTokenStore(base / "tokens", keys, SYSTEM_CLOCK)
    now = SYSTEM_CLOCK.now()

    def record(i: int) -> TokenRecord:
        return TokenRecord(
            username=f"user{i}@contoso.example",
            access_token="a" * 900,
            refresh_token="r" * 300,
            access_expires_at=now + timedelta(hours=1),
            refresh_expires_at=now + timedelta(hours=40),
            created_at=now,
        )

    async def run() -> tuple[list[float], list[float], float]:
        saves = [await _time(store.save(record(i))) for i in range(200)]
        loads = [await _time(store.load(f"user{i}@contoso.example")) for i in range(200)]
        start = time.perf_counter()
        await store.list()
        return saves, loads, time.perf_counter() - start

    saves, loads, listing = asyncio.run(run())
    return [
        ("store save (encrypt + fsync + rename)", percentiles(saves), "200 records"),
        ("store load (read + decrypt)", percentiles(loads), "200 records"),
        ("store list (daemon start)", f"{listing * 1000:.0f} ms", "200 records"),
    ]


async def _time(awaitable: Awaitable[object]) -> float:
    start = time.perf_counter()
    await awaitable
    return time.perf_counter() - start


def main() -> int:
    rows = bench_shim_start() + bench_store() + bench_daemon()
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'what':<{width[0]}}  {'result':<{width[1]}}  notes")
    print(f"{'-' * width[0]}  {'-' * width[1]}  {'-' * width[2]}")
    for what, result, notes in rows:
        print(f"{what:<{width[0]}}  {result:<{width[1]}}  {notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
