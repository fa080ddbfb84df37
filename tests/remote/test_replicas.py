"""Two replicas of ``cway-mcp serve`` on one PostgreSQL database, as behind a load balancer.

* 200 concurrent tool calls split across both replicas, for a user whose Cway token is due,
  cause exactly one refresh at Cway (the row lock is the single flight across processes);
* a replica killed with SIGKILL in the middle of a refresh loses nothing committed: the other
  replica serves the users it had refreshed without refreshing again, and takes over the
  interrupted one at once (PostgreSQL released the dead replica's row lock).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet, MultiFernet

from cway_authd.store import TokenRecord
from cway_contract.clock import SYSTEM_CLOCK
from cway_emulator.fixtures import ALICE, DAVE
from cway_emulator.server import EmulatorServer
from cway_remote.pg_store import PgTokenStore, account_key
from tests.helpers.remote import McpSession, MemoryTokenStorage, OAuthBrowser, Replica, oauth_client, start_replica

pytestmark = pytest.mark.slow


class _Keys:
    def __init__(self, key: str) -> None:
        self.multifernet = MultiFernet([Fernet(key.encode())])


def _store(pool: asyncpg.Pool, key: str) -> PgTokenStore:
    return PgTokenStore(pool, _Keys(key), SYSTEM_CLOCK, due_at=lambda r: r.access_expires_at - timedelta(minutes=5))


async def _record(database_url: str, key: str, username: str) -> TokenRecord | None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        return await _store(pool, key).load(username)
    finally:
        await pool.close()


async def _make_due(database_url: str, key: str, username: str) -> None:
    """The user's Cway access token now expires in a minute: inside the refresh threshold."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        store = _store(pool, key)
        record = await store.load(username)
        assert record is not None
        now = SYSTEM_CLOCK.now()
        await store.save(
            record.replace(
                access_expires_at=now + timedelta(seconds=60),
                created_at=now - timedelta(hours=1),
                last_refreshed_at=None,
            )
        )
    finally:
        await pool.close()


async def _sign_in(replica: Replica, username: str) -> str:
    url = replica.url + "/mcp"
    storage = MemoryTokenStorage()
    async with McpSession(url, oauth_client(url, OAuthBrowser(username), storage)):
        pass
    assert storage.tokens is not None
    return storage.tokens.access_token


async def _call(
    http: httpx.AsyncClient, replica: Replica, token: str, tool: str = "list_organisations"
) -> dict[str, Any]:
    """One stateless JSON-RPC ``tools/call`` straight to a replica's /mcp."""
    response = await http.post(
        replica.url + "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body["result"]


def _wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.02)


async def test_200_concurrent_calls_on_two_replicas_cause_one_refresh(
    serve_env: dict[str, str], public_port: int, emu: EmulatorServer, database_url: str, store_key: str
) -> None:
    a = start_replica(serve_env, public_port)
    b = start_replica(serve_env)
    try:
        token = await _sign_in(a, ALICE)
        await _make_due(database_url, store_key, ALICE)
        emu.knobs.update({"latency": {"cway_token": 0.3}})  # a slow refresh: every caller overlaps it
        before = emu.counters.get("cway_token_refresh", 0)
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            results = await asyncio.gather(*(_call(http, (a, b)[i % 2], token) for i in range(200)))
        assert all(not r.get("isError") for r in results), [r for r in results if r.get("isError")][:1]
        assert emu.counters.get("cway_token_refresh", 0) - before == 1
        record = await _record(database_url, store_key, ALICE)
        assert record is not None and record.last_refreshed_at is not None
    finally:
        a.stop()
        b.stop()


async def test_a_replica_killed_mid_refresh_loses_nothing_committed(
    serve_env: dict[str, str], public_port: int, emu: EmulatorServer, database_url: str, store_key: str
) -> None:
    a = start_replica(serve_env, public_port)
    b = start_replica(serve_env)
    try:
        alice, dave = await _sign_in(a, ALICE), await _sign_in(a, DAVE)
        await _make_due(database_url, store_key, ALICE)
        await _make_due(database_url, store_key, DAVE)
        async with httpx.AsyncClient(timeout=60) as http:
            assert not (await _call(http, a, alice)).get("isError")  # A refreshes Alice and commits
        committed = await _record(database_url, store_key, ALICE)
        assert committed is not None and committed.last_refreshed_at is not None

        # A starts Dave's refresh; Cway is slow (10 s); A dies while holding Dave's row. Its request is
        # still waiting at Cway when B asks with the same committed refresh token, so B's is redeemed
        # first (the emulator refuses a refresh token's reuse, as a strict Cway would).
        emu.knobs.update({"latency": {"cway_token": 10.0}})
        refreshes = emu.counters.get("cway_token_refresh", 0)
        in_flight = threading.Thread(target=_call_sync, args=(a, dave), daemon=True)
        in_flight.start()
        _wait_for(lambda: emu.counters.get("cway_token_refresh", 0) > refreshes)
        a.kill()
        emu.knobs.update({"latency": {}})

        async with httpx.AsyncClient(timeout=60) as http:
            # Alice: B uses the tokens A committed, with no refresh of its own.
            before = emu.counters.get("cway_token_refresh", 0)
            assert not (await _call(http, b, alice)).get("isError")
            assert emu.counters.get("cway_token_refresh", 0) == before
            assert await _record(database_url, store_key, ALICE) == committed
            # Dave: the dead replica's row lock is gone; B refreshes from the committed record.
            answer = await asyncio.wait_for(_call(http, b, dave), timeout=30)
            assert not answer.get("isError"), answer
        dave_now = await _record(database_url, store_key, DAVE)
        assert dave_now is not None and dave_now.last_refreshed_at is not None
    finally:
        a.stop()
        b.stop()


def _call_sync(replica: Replica, token: str) -> None:
    try:
        httpx.post(
            replica.url + "/mcp",
            content=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/call",
                    "params": {"name": "list_organisations", "arguments": {}},
                }
            ),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            },
            timeout=30,
        )
    except httpx.HTTPError:
        pass  # the replica was killed under it: that is the point


def test_account_key_is_the_file_store_name() -> None:
    from cway_authd.store import record_file_name

    assert record_file_name(ALICE) == account_key(ALICE) + ".token"
