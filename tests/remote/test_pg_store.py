"""``PgTokenStore`` and the migrations on a real PostgreSQL (the session's temporary cluster)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from cryptography.fernet import Fernet

from cway_authd.store import KeyMaterial, TokenRecord, TokenStore
from cway_contract.clock import ManualClock
from cway_remote import db
from cway_remote.pg_store import PgTokenStore, account_key

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def record(username: str, *, expires_in: int = 3600, token: str = "access-1") -> TokenRecord:
    return TokenRecord(
        username=username,
        access_token=token,
        refresh_token="refresh-" + token,
        access_expires_at=NOW + timedelta(seconds=expires_in),
        refresh_expires_at=NOW + timedelta(hours=40),
        created_at=NOW,
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database_url, max_size=4)
    await db.migrate(pool)
    yield pool
    await pool.close()


def make_store(pool: asyncpg.Pool, keys: KeyMaterial) -> PgTokenStore:
    return PgTokenStore(pool, keys, ManualClock(NOW), due_at=lambda r: r.access_expires_at - timedelta(minutes=5))


async def test_migrations_run_once_even_when_replicas_start_together(database_url: str) -> None:
    pools = [await db.create_pool(database_url, max_size=1) for _ in range(3)]
    try:
        versions = await asyncio.gather(*(db.migrate(p) for p in pools))
        assert versions == [db.CURRENT_VERSION] * 3
        async with pools[0].acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM cway_schema_migrations") == len(db.MIGRATIONS)
            assert await db.schema_version(conn) == db.CURRENT_VERSION
    finally:
        for p in pools:
            await p.close()


async def test_rows_hold_the_file_stores_encrypted_record_and_no_username(pool: asyncpg.Pool) -> None:
    keys = KeyMaterial([Fernet.generate_key()], "test", None)
    store = make_store(pool, keys)
    assert isinstance(store, TokenStore)
    alice = record("Alice@Example.com ")
    await store.save(alice)
    assert await store.load("alice@example.com") == alice
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT account_key, record FROM cway_accounts")
    assert row["account_key"] == account_key("alice@example.com")
    assert keys.multifernet.decrypt(bytes(row["record"])) == alice.to_json_bytes()
    assert b"alice" not in bytes(row["record"]).lower() and b"access-1" not in bytes(row["record"])
    assert [r.username for r in await store.list()] == [alice.username]
    assert await store.delete("ALICE@example.com") is True
    assert await store.load("alice@example.com") is None


async def test_a_replica_with_the_wrong_key_reads_nothing_and_deletes_nothing(pool: asyncpg.Pool) -> None:
    await make_store(pool, KeyMaterial([Fernet.generate_key()], "right", None)).save(record("bob@example.com"))
    events: list[tuple[str, dict[str, str]]] = []
    wrong = PgTokenStore(
        pool,
        KeyMaterial([Fernet.generate_key()], "wrong", None),
        ManualClock(NOW),
        due_at=lambda r: r.access_expires_at,
        on_event=lambda name, fields: events.append((name, fields)),
    )
    assert await wrong.load("bob@example.com") is None
    assert events and events[0][1]["reason"] == "decrypt_failed"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cway_accounts") == 1


async def test_key_rotation_reencrypts_every_row_under_the_new_key(pool: asyncpg.Pool) -> None:
    old = Fernet.generate_key()
    await make_store(pool, KeyMaterial([old], "env", None)).save(record("carol@example.com"))
    new = Fernet.generate_key()
    rotating = make_store(pool, KeyMaterial([new, old], "env", None))  # new key first, as the docs say
    result = await rotating.reencrypt_all()
    assert (result.rotated, result.set_aside) == (1, 0)
    only_new = make_store(pool, KeyMaterial([new], "env", None))
    assert (await only_new.load("carol@example.com")) == record("carol@example.com")


async def test_scheduled_refreshes_skip_a_row_another_replica_holds(pool: asyncpg.Pool) -> None:
    keys = KeyMaterial([Fernet.generate_key()], "test", None)
    store = make_store(pool, keys)
    await store.save(record("dave@example.com", expires_in=60))  # due
    await store.save(record("erin@example.com", expires_in=120))  # due, later
    await store.save(record("fred@example.com", expires_in=7200))  # not due
    async with store.locked(account_key("dave@example.com")) as held:
        assert held.record is not None
        async with store.claim_due(NOW) as claimed:
            assert claimed is not None and claimed.record is not None
            assert claimed.record.username == "erin@example.com"  # dave is held: skipped, not waited on
            async with store.claim_due(NOW) as none_left:
                assert none_left is None  # erin held by the claim above, fred not due


async def test_server_tokens_are_stored_hashed_and_expired_ones_purged(pool: asyncpg.Pool) -> None:
    from cway_remote.oauth_db import OAuthDb, digest

    keys = KeyMaterial([Fernet.generate_key()], "test", None)
    oauth = OAuthDb(pool, keys)
    await make_store(pool, keys).save(record("s@example.com"))  # a grant needs the user's record and the client
    await oauth.save_client("c", {"client_id": "c"}, NOW)
    pair = await oauth.issue(
        client_id="c",
        subject=account_key("s@example.com"),
        scopes=["cway"],
        resource="https://mcp.example.com/mcp",
        family="f",
        now=NOW,
        access_lifetime=timedelta(minutes=15),
        refresh_lifetime=timedelta(days=30),
    )
    assert pair is not None
    async with pool.acquire() as conn:
        stored = {row["token_hash"] for row in await conn.fetch("SELECT token_hash FROM oauth_tokens")}
    assert stored == {digest(pair.access_token), digest(pair.refresh_token)}  # hashes only
    await oauth.purge_expired(NOW + timedelta(hours=1))  # the access token has expired, the refresh token not
    assert await oauth.token(pair.access_token) is None
    assert await oauth.token(pair.refresh_token) is not None
