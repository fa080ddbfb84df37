"""Rows for ``cway-mcp serve``: a tool call through the remote server vs. the stdio shim, and
requests per second one replica sustains.

Everything real and on loopback: a temporary PostgreSQL cluster, the emulator, one replica
(spawned ``cway-mcp serve``) signed into with the SDK's OAuth client, and for the comparison a
spawned stdio shim with the real daemon. Calls alternate between the two so drift hits both
alike. Throughput: ``CLIENTS`` concurrent clients send ``graphql_query`` calls (stateless JSON-RPC
POSTs, as a hosted assistant's connector would) for ``THROUGHPUT_CALLS`` calls.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time

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

ROUNDS = 150
WARM = 20
CLIENTS = 16
THROUGHPUT_CALLS = 800


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
            try:
                with running_daemon(denv, mode="process") as daemon:
                    sign_in(daemon.socket_path)
                    shim_env = {**denv, "CWAY_USERNAME": ALICE, "CWAY_MCP_AUTOSTART": "0"}
                    remote, stdio, rps, failed = asyncio.run(_measure(public + "/mcp", shim_env))
            finally:
                replica.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    remote_p50, stdio_p50 = statistics.median(remote), statistics.median(stdio)
    return [
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
