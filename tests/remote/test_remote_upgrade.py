"""Upgrades keep everyone signed in on the remote server too: the database ``cway-mcp serve`` 0.1.0 left
(``tests/fixtures/upgrade/v0.1.0/remote.sql``) is migrated by today's replica, which then serves it with
every user's Cway record readable; a database newer than the code is refused in one line, untouched."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet, MultiFernet

from cway_authd.store import TokenRecord
from cway_contract.clock import SYSTEM_CLOCK
from cway_emulator.server import EmulatorServer
from cway_remote import db
from cway_remote.pg_store import PgTokenStore
from tests.helpers.daemon import process_env
from tests.helpers.postgres import PgCluster
from tests.helpers.remote import start_replica
from tests.upgrade.fixtures import teach_refresh_tokens

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "v0.1.0"
WRITTEN = json.loads((FIXTURES / "remote.json").read_text())


def _restore(cluster: PgCluster, database_url: str) -> None:
    done = subprocess.run(
        [str(cluster.bin_dir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", database_url, "-f", str(FIXTURES / "remote.sql")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


async def _migrations(database_url: str) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        return [row["version"] for row in await conn.fetch("SELECT version FROM cway_schema_migrations ORDER BY 1")]
    finally:
        await conn.close()


class _Keys:
    multifernet = MultiFernet([Fernet(WRITTEN["store_key"].encode())])


async def _records(database_url: str) -> dict[str, TokenRecord]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        store = PgTokenStore(pool, _Keys(), SYSTEM_CLOCK, due_at=lambda r: r.access_expires_at)
        found = {user: await store.load(user) for user in WRITTEN["users"]}
    finally:
        await pool.close()
    return {user: record for user, record in found.items() if record is not None}


async def test_the_0_1_0_database_is_migrated_and_served_without_a_sign_in(
    serve_env: dict[str, str], public_port: int, pg_cluster: PgCluster, database_url: str, emu: EmulatorServer
) -> None:
    _restore(pg_cluster, database_url)
    assert await _migrations(database_url) == list(range(1, WRITTEN["schema_version"] + 1))
    old = await _records(database_url)  # today's code reads 0.1.0's sealed records
    assert set(old) == set(WRITTEN["users"])
    # Cway (the emulator) knows each user's live refresh token, as the real Cway would; nothing else.
    teach_refresh_tokens(emu, {u: r.refresh_token or "" for u, r in old.items()}, {})
    replica = start_replica({**serve_env, "CWAY_MCP_STORE_KEY": WRITTEN["store_key"]}, public_port, refresh_interval=1)
    try:
        ready = httpx.get(replica.url + "/readyz", timeout=10)
        deadline = time.monotonic() + 30  # their access tokens are long expired: the schedule refreshes them
        while not all(emu.emulator.cway.refresh[r.refresh_token or ""].redeemed for r in old.values()):
            assert time.monotonic() < deadline, replica.log_text()[-2000:]
            await asyncio.sleep(0.2)
    finally:
        replica.stop()
    assert ready.status_code == 200 and ready.json()["schema_version"] == db.CURRENT_VERSION
    new = await _records(database_url)
    assert set(new) == set(WRITTEN["users"])  # nobody dropped: no one needs a sign-in
    for user in WRITTEN["users"]:
        assert new[user].refresh_token != old[user].refresh_token  # refreshed from what 0.1.0 stored
        assert emu.emulator.cway.authenticate(new[user].access_token)["username"] == user


async def test_a_database_newer_than_the_code_is_refused_in_one_line_and_left_alone(
    serve_env: dict[str, str], pg_cluster: PgCluster, database_url: str
) -> None:
    _restore(pg_cluster, database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO cway_schema_migrations (version, description) VALUES (99, 'from the future')")
    finally:
        await conn.close()
    before = await _migrations(database_url)
    done = subprocess.run(
        [sys.executable, "-m", "cway_mcp_shim", "serve", "migrate"],
        env=process_env({**serve_env, "CWAY_MCP_STORE_KEY": WRITTEN["store_key"]}),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 3
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "99" in line]
    assert len(lines) == 1 and str(db.CURRENT_VERSION) in lines[0], done.stderr
    assert await _migrations(database_url) == before  # nothing applied on top of a newer schema
