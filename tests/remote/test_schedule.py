"""The scheduled refresh of the remote server: two replicas (two refreshers, two pools) on one database
against the emulator's Cway. Due rows are shared out with ``SKIP LOCKED``, each refreshed once; a
transient Cway failure postpones a row and keeps its tokens; a fatal one deletes the row and revokes
the user's server tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from cway_authd.store import KeyMaterial, TokenRecord
from cway_contract.clock import SYSTEM_CLOCK
from cway_emulator.browser import browser_sign_in_async
from cway_emulator.fixtures import ALICE, BOB, DAVE
from cway_emulator.server import EmulatorServer
from cway_remote import db
from cway_remote.exchange import CwayExchange
from cway_remote.pg_store import PgTokenStore, account_key
from cway_remote.refresh import RemoteRefresher, refresh_due_at
from tests.helpers.daemon import daemon_env, settings_from_env

THRESHOLD = timedelta(minutes=5)


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[list[asyncpg.Pool]]:
    made = [await db.create_pool(database_url, max_size=3) for _ in range(2)]
    await db.migrate(made[0])
    yield made
    for pool in made:
        await pool.close()


def due_record(emu: EmulatorServer, username: str) -> TokenRecord:
    """Real Cway tokens from the emulator, whose access token expires within the refresh threshold."""
    user = emu.emulator.store.cway_user(username)
    assert user is not None
    issued = emu.emulator.cway.issue(user)
    now = SYSTEM_CLOCK.now()
    return TokenRecord(
        username=username,
        access_token=issued["access_token"],
        refresh_token=issued["refresh_token"],
        access_expires_at=now + timedelta(seconds=60),
        refresh_expires_at=now + timedelta(hours=40),
        created_at=now - timedelta(hours=1),
    )


async def test_due_rows_are_shared_out_and_each_refreshed_once(
    emu: EmulatorServer, pools: list[asyncpg.Pool], store_key: str
) -> None:
    keys = KeyMaterial([store_key.encode()], "test", None)
    settings = settings_from_env(daemon_env(emu.env()))
    dropped: list[str] = []

    async def on_dropped(key: str) -> None:
        dropped.append(key)

    async with httpx.AsyncClient() as http:
        replicas = [
            RemoteRefresher(
                store=PgTokenStore(pool, keys, SYSTEM_CLOCK, due_at=lambda r: refresh_due_at(r, THRESHOLD)),
                exchange=CwayExchange(settings, http, SYSTEM_CLOCK),
                clock=SYSTEM_CLOCK,
                threshold_seconds=int(THRESHOLD.total_seconds()),
                audit=None,
                on_dropped=on_dropped,
            )
            for pool in pools
        ]
        store = PgTokenStore(pools[0], keys, SYSTEM_CLOCK, due_at=lambda r: refresh_due_at(r, THRESHOLD))
        for user in (ALICE, BOB, DAVE):
            await store.save(due_record(emu, user))

        emu.knobs.update({"latency": {"cway_token": 0.2}})  # refreshes overlap: the second replica must skip
        before = emu.counters.get("cway_token_refresh", 0)
        done = await asyncio.gather(*(r.refresh_due_once() for r in replicas))
        assert sum(done) == 3 and min(done) >= 1, done
        assert emu.counters.get("cway_token_refresh", 0) - before == 3
        for user in (ALICE, BOB, DAVE):
            record = await store.load(user)
            assert record is not None and record.last_refreshed_at is not None
        assert await asyncio.gather(*(r.refresh_due_once() for r in replicas)) == [0, 0]  # nothing due now

        # Transient: the row keeps its tokens and is postponed, not retried in a loop.
        emu.knobs.update({"latency": {}})
        await store.save(due_record(emu, ALICE))
        kept = await store.load(ALICE)
        emu.knobs.fail("cway_token", "503")
        assert await replicas[0].refresh_due_once() == 1
        assert await store.load(ALICE) == kept
        assert await replicas[1].refresh_due_once() == 0  # postponed

        # Fatal: Cway refuses the refresh token for good; the row goes, the user's server tokens too.
        await store.save(due_record(emu, BOB))
        emu.knobs.fail("cway_token", "invalid_grant")
        assert await replicas[1].refresh_due_once() == 1
        assert await store.load(BOB) is None
        assert dropped == [account_key(BOB)]


@pytest.mark.parametrize("shape", ["code", "access_token", "id_token"])
async def test_the_remote_sign_in_is_the_daemons_exchange_in_every_shape(emu: EmulatorServer, shape: str) -> None:
    """``CWAY_EXCHANGE_TOKEN`` works the same through ``cway-mcp serve``'s exchange as in the daemon."""
    env = daemon_env({**emu.env(), "CWAY_EXCHANGE_TOKEN": shape})
    emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
    emu.knobs.update({"cway_exchange_token": shape})
    async with httpx.AsyncClient() as http:
        exchange = CwayExchange(settings_from_env(env), http, SYSTEM_CLOCK)
        flow = exchange.new_flow()
        location = await browser_sign_in_async(await exchange.authorization_url(flow), ALICE)
        code = parse_qs(urlsplit(location).query)["code"][0]
        record = await exchange.sign_in(flow, code)
        assert record.username == ALICE
        assert (record.idp_refresh_token is not None) == (shape != "code")  # kept for the silent re-exchange
        refreshed = await exchange.refresh(record)
        assert refreshed.access_token != record.access_token
