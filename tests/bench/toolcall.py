"""Row 2: a ``graphql_query`` tool call with ``AUTH_METHOD=oauth2`` ÷ the same call with a static token.

Two real shim processes, spawned and driven over stdio by the MCP SDK's client as an MCP client
would, against the same emulator (in its own process, so it shares no GIL with the client); calls alternate between them so drift hits both alike. The
floor is the emulator's own extra cost for checking a JWT instead of a static token (the same
GraphQL POST from a kept-alive httpx client, each token in turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import AsyncIterator, Mapping

import httpx
from mcp import ClientSession, StdioServerParameters, stdio_client

from cway_contract.daemon_client import DaemonClient
from tests.bench.common import ALICE, Row, emulator_process, ms, sign_in
from tests.helpers.daemon import daemon_env, process_env, running_daemon

QUERY = "query { loginInfo { id } }"
STATIC_TOKEN = "cway-static-alice-0001"
ROUNDS = 300
WARM = 30


@contextlib.asynccontextmanager
async def shim(env: Mapping[str, str]) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "cway_mcp_shim"], env=process_env(env), cwd=env["CWAY_TEST_BASE"]
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def one_call(session: ClientSession) -> float:
    start = time.perf_counter()
    result = await session.call_tool("graphql_query", {"query": QUERY})
    elapsed = time.perf_counter() - start
    if result.is_error:
        raise RuntimeError(f"graphql_query failed: {result.content}")
    return elapsed


def bench_tool_call() -> list[Row]:
    with emulator_process() as (emu_env, _):
        env = daemon_env(emu_env)
        with running_daemon(env, mode="process") as daemon:
            sign_in(daemon.socket_path)
            oauth_env = {**env, "CWAY_USERNAME": ALICE, "CWAY_MCP_AUTOSTART": "0"}
            static_env = {**env, "AUTH_METHOD": "static", "CWAY_API_TOKEN": STATIC_TOKEN}

            async def run() -> tuple[list[float], list[float], list[float], list[float]]:
                async with shim(oauth_env) as oauth, shim(static_env) as static:
                    for _ in range(WARM):
                        await one_call(oauth)
                        await one_call(static)
                    with_daemon: list[float] = []
                    with_static: list[float] = []
                    for _ in range(ROUNDS):
                        with_daemon.append(await one_call(oauth))
                        with_static.append(await one_call(static))
                async with DaemonClient(daemon.socket_path) as client:
                    jwt = (await client.bearer(ALICE)).access_token
                jwt_calls: list[float] = []
                static_calls: list[float] = []
                async with httpx.AsyncClient(timeout=30) as http:
                    for i in range(WARM + ROUNDS):
                        for token, bucket in ((jwt, jwt_calls), (STATIC_TOKEN, static_calls)):
                            start = time.perf_counter()
                            response = await http.post(
                                env["CWAY_API_URL"], json={"query": QUERY}, headers={"Authorization": f"Bearer {token}"}
                            )
                            response.raise_for_status()
                            if i >= WARM:
                                bucket.append(time.perf_counter() - start)
                return with_daemon, with_static, jwt_calls, static_calls

            with_daemon, with_static, jwt_calls, static_calls = asyncio.run(run())
    oauth_p50, static_p50 = statistics.median(with_daemon), statistics.median(with_static)
    ratio = oauth_p50 / static_p50
    jwt_extra = statistics.median(jwt_calls) - statistics.median(static_calls)
    return [
        Row(
            "graphql_query tool call, oauth2 ÷ static (emulator)",
            "≤ 1.10×",
            f"{ratio:.3f}× (p50 {ms(oauth_p50)} vs {ms(static_p50)}, +{ms(oauth_p50 - static_p50)} a call)",
            f"emulator's own JWT cost: {ms(jwt_extra)} a call ({jwt_extra / static_p50 * 100:.1f}% of a static call)",
            ratio <= 1.10,
        )
    ]
