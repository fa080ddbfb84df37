"""Rows for ``cway-mcp serve``: against a bare SDK server (the floor), and vs. the stdio shim.

The floor (:mod:`tests.bench.remote_floor`) is a bare ``MCPServer`` in its own process, stateless
JSON, logging at WARNING, whose one tool POSTs the same query to the same emulator with a static
token. The replica and the floor are measured side by side in the same run: single calls
alternate between them, and throughput blocks alternate too (the median of three blocks each),
so the machine's drift falls on both. The ratio is the measure; absolute figures mean little
with the emulator on the same two cores.

Everything real and on loopback: a temporary PostgreSQL cluster, the emulator, one replica
(spawned ``cway-mcp serve``) signed into with the SDK's OAuth client, and for the comparison a
spawned stdio shim with the real daemon. Calls alternate between the two so drift hits both
alike. Throughput: ``CLIENTS`` concurrent clients send ``graphql_query`` calls (stateless JSON-RPC
POSTs, as a hosted assistant's connector would) for ``THROUGHPUT_CALLS`` calls.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from cway_emulator import EmulatorServer
from tests.bench.common import ALICE, Row, ms, sign_in
from tests.bench.toolcall import QUERY, one_call, shim
from tests.helpers.daemon import daemon_env, free_port, running_daemon, short_tmpdir
from tests.helpers.postgres import find_pg_bin, temporary_cluster
from tests.helpers.remote import (
    McpSession,
    MemoryTokenStorage,
    OAuthBrowser,
    oauth_client,
    post_tool_call,
    remote_env,
    start_replica,
)
from tests.helpers.repo import REPO, with_emulator_path

ROUNDS = 150
WARM = 20
CLIENTS = 16
THROUGHPUT_CALLS = 800
BLOCKS = 3
FLOOR_ROUNDS = 300


async def _token(url: str) -> str:
    storage = MemoryTokenStorage()
    async with McpSession(url, oauth_client(url, OAuthBrowser(ALICE), storage)):
        pass
    assert storage.tokens is not None
    return storage.tokens.access_token


async def _post_call(http: httpx.AsyncClient, url: str, token: str) -> bool:
    response = await post_tool_call(http, url, token, "graphql_query", {"query": QUERY})
    if response.status_code != 200:
        raise RuntimeError(f"remote graphql_query failed: {response.text[:300]}")
    # A tool error here is the emulator dropping a kept-alive connection under load; counted, not fatal.
    return not response.json()["result"].get("isError")


def bench_remote() -> list[Row]:
    if find_pg_bin() is None:
        return [Row("remote server rows", "-", "skipped: no PostgreSQL server binaries", "-")]
    base = short_tmpdir("cw-bench-remote-")
    try:
        with temporary_cluster() as cluster, EmulatorServer(auto_approve=True) as emu:
            port = free_port()
            public = f"http://127.0.0.1:{port}"
            emu.register_redirect_uri(public + "/oauth/callback")
            renv = remote_env(
                base,
                emu.env(),
                public_url=public,
                database_url=cluster.create_database(),
                key=Fernet.generate_key().decode(),
            )
            denv = daemon_env(emu.env())
            emu.register_redirect_uri(denv["AZURE_REDIRECT_URI"])
            replica = start_replica(renv, port)
            floor: tuple[subprocess.Popen[bytes], str] | None = None
            try:
                floor = _start_floor(emu.env()["CWAY_API_URL"], emu.issue_static_token(ALICE), base)
                token = asyncio.run(_token(public + "/mcp"))
                floor_rows = asyncio.run(_against_floor(public + "/mcp", floor[1], token))
                with running_daemon(denv, mode="process") as daemon:
                    sign_in(daemon.socket_path)
                    shim_env = {**denv, "CWAY_USERNAME": ALICE, "CWAY_MCP_AUTOSTART": "0"}
                    remote, stdio, rps, failed = asyncio.run(_measure(public + "/mcp", shim_env))
            finally:
                if floor is not None:
                    floor[0].terminate()
                    floor[0].wait(10)
                replica.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    remote_p50, stdio_p50 = statistics.median(remote), statistics.median(stdio)
    return [
        *floor_rows,
        Row(
            "graphql_query tool call: remote server (HTTP, one replica) ÷ stdio shim + daemon",
            "information",
            f"{remote_p50 / stdio_p50:.2f}× (p50 {ms(remote_p50)} vs {ms(stdio_p50)})",
            "the remote call adds HTTP, the OAuth token lookup and the Cway token read in PostgreSQL",
        ),
        Row(
            "remote server throughput, one replica (graphql_query, stateless JSON-RPC)",
            "information",
            f"{rps:.0f} requests/s ({CLIENTS} concurrent clients, {THROUGHPUT_CALLS} calls, {failed} tool errors)",
            "each call also costs the emulator one GraphQL request on the same 2 cores",
        ),
    ]


def _start_floor(api_url: str, token: str, base: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (base / "floor.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.remote_floor", str(port), api_url, token],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=with_emulator_path(dict(os.environ)),
        cwd=REPO,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(url, json={}, timeout=1)  # any answer: it listens (a GET would open a stream)
            return process, url
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                process.wait(10)
                raise RuntimeError("the floor server did not start") from None
            time.sleep(0.05)


async def _throughput(http: httpx.AsyncClient, url: str, token: str, calls: int) -> tuple[float, int]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(calls):
        queue.put_nowait(n)
    failed = 0

    async def worker() -> None:
        nonlocal failed
        while not queue.empty():
            queue.get_nowait()
            failed += not await _post_call(http, url, token)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return calls / (time.perf_counter() - start), failed


async def _against_floor(url: str, floor_url: str, token: str) -> list[Row]:
    remote: list[float] = []
    floor: list[float] = []
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=CLIENTS)) as http:
        for i in range(WARM + FLOOR_ROUNDS):
            for target, bucket in ((url, remote), (floor_url, floor)):
                start = time.perf_counter()
                await _post_call(http, target, token)
                if i >= WARM:
                    bucket.append(time.perf_counter() - start)
        remote_rps: list[float] = []
        floor_rps: list[float] = []
        failed = 0
        await _throughput(http, url, token, CLIENTS * 4)  # warm the pools at full concurrency
        await _throughput(http, floor_url, token, CLIENTS * 4)
        for _ in range(BLOCKS):
            for target, bucket in ((floor_url, floor_rps), (url, remote_rps)):
                rps, errors = await _throughput(http, target, token, THROUGHPUT_CALLS)
                bucket.append(rps)
                failed += errors
    ratio_p50 = statistics.median(remote) / statistics.median(floor)
    ratio_rps = statistics.median(remote_rps) / statistics.median(floor_rps)
    return [
        Row(
            f"remote server throughput ÷ bare SDK server, {CLIENTS} clients (graphql_query, median of {BLOCKS} blocks)",
            "≥ 0.90×",
            f"{ratio_rps:.2f}× ({statistics.median(remote_rps):.0f} vs {statistics.median(floor_rps):.0f} calls/s; "
            f"{failed} tool errors)",
            f"bare SDK MCPServer, static token: {statistics.median(floor_rps):.0f} calls/s",
            ratio_rps >= 0.90,
        ),
        Row(
            "remote server, one caller, p50 ÷ bare SDK server",
            "≤ 1.20×",
            f"{ratio_p50:.2f}× (p50 {ms(statistics.median(remote))} vs {ms(statistics.median(floor))})",
            f"bare SDK MCPServer, static token: p50 {ms(statistics.median(floor))}",
            ratio_p50 <= 1.20,
        ),
    ]


async def _measure(url: str, shim_env: dict[str, str]) -> tuple[list[float], list[float], float, int]:
    token = await _token(url)
    remote: list[float] = []
    stdio: list[float] = []
    async with (
        McpSession(url, headers={"Authorization": f"Bearer {token}"}) as session,
        shim(shim_env) as local,
    ):
        for i in range(WARM + ROUNDS):
            start = time.perf_counter()
            result = await session.call_tool("graphql_query", {"query": QUERY})
            elapsed = time.perf_counter() - start
            if result.is_error:
                raise RuntimeError(f"remote graphql_query failed: {result.content}")
            local_elapsed = await one_call(local)
            if i >= WARM:
                remote.append(elapsed)
                stdio.append(local_elapsed)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(THROUGHPUT_CALLS):
        queue.put_nowait(n)

    failed = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal failed
        while not queue.empty():
            queue.get_nowait()
            failed += not await _post_call(http, url, token)

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=CLIENTS)) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - start
    return remote, stdio, THROUGHPUT_CALLS / elapsed, failed
