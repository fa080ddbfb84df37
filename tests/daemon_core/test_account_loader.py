"""Start-up loading runs behind a serving daemon: what answers at once, what waits, what is never undone.

The store's bulk ``list()`` reads every record and then waits at a gate before handing them over, so "the loading is still running" is a state the
test controls rather than a race it hopes to win.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta

import pytest

from cway_authd.control.peercred import PeerCredentials
from cway_authd.core import DaemonCore
from cway_authd.errors import CoreError
from cway_authd.store import TokenRecord
from cway_contract.clock import ManualClock
from cway_contract.config import Settings

PEER = PeerCredentials(pid=os.getpid(), uid=os.getuid(), gid=None)
USERS = [f"user{i}@contoso.example" for i in range(5)]


def record(clock: ManualClock, username: str, email: str | None = None) -> TokenRecord:
    now = clock.now()
    return TokenRecord(
        username=username,
        access_token=f"at-{username}",
        refresh_token=f"rt-{username}",
        access_expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(hours=40),
        email=email,
        created_at=now,
    )


@pytest.fixture
async def gated_core(make_settings: Callable[..., Settings], clock: ManualClock) -> tuple[DaemonCore, asyncio.Event]:
    core = await DaemonCore.open(make_settings(), clock=clock)
    for name in USERS:
        await core.store.save(record(clock, name, email=f"alias.{name}"))
    gate = asyncio.Event()
    real_list = core.store.list

    async def gated_list() -> list[TokenRecord]:
        records = await real_list()  # every file read and decrypted...
        await gate.wait()  # ...but nothing put into the book until the test opens the gate
        return records

    core.store.list = gated_list  # type: ignore[method-assign]
    await core.start()
    return core, gate


async def test_a_bearer_is_served_while_the_rest_still_loads(gated_core: tuple[DaemonCore, asyncio.Event]) -> None:
    core, gate = gated_core
    try:
        assert core.loader.loading
        answer = await core.bearer(USERS[3], PEER)  # read from disk on its own, not after the whole store
        assert answer.access_token == f"at-{USERS[3]}"
        assert core.loader.loading and core.book.counts() == (1, 0)
        health = await core.health("/x.sock")
        assert health.loading_accounts and health.accounts == 1  # says the count is partial
        gate.set()
        await core.wait_started()
        assert not (await core.health("/x.sock")).loading_accounts
        assert [a.username for a in await core.list_accounts()] == sorted(USERS)
    finally:
        gate.set()
        await core.stop()


async def test_whatever_needs_the_whole_book_waits_for_it(gated_core: tuple[DaemonCore, asyncio.Event]) -> None:
    core, gate = gated_core
    try:
        by_alias = asyncio.create_task(core.bearer(f"alias.{USERS[1]}", PEER))
        listing = asyncio.create_task(core.list_accounts())
        only_one = asyncio.create_task(core.bearer(None, PEER))
        for _ in range(20):
            await asyncio.sleep(0)  # let them run as far as they can: up to the gate
        assert not by_alias.done() and not listing.done() and not only_one.done()
        gate.set()
        assert (await by_alias).username == USERS[1]
        assert len(await listing) == len(USERS)
        with pytest.raises(CoreError) as which:  # five accounts: the caller must say which
            await only_one
        assert which.value.code.value == "unknown_account"
    finally:
        gate.set()
        await core.stop()


async def test_an_account_logged_out_during_loading_stays_logged_out(
    gated_core: tuple[DaemonCore, asyncio.Event],
) -> None:
    core, gate = gated_core
    try:
        await core.bearer(USERS[0], PEER)  # in memory now (adopted from disk); the loader holds its own copy
        logged_out = await core.logout(USERS[0])
        assert logged_out.removed
        gate.set()
        await core.wait_started()
        names = [a.username for a in await core.list_accounts()]
        assert USERS[0] not in names and len(names) == len(USERS) - 1
    finally:
        gate.set()
        await core.stop()
