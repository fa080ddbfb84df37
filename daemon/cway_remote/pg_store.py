"""``PgTokenStore``: the daemon's ``TokenStore`` protocol on PostgreSQL, shared by every replica.

Same record, same encryption as :class:`cway_authd.store.FileTokenStore`: the record's JSON form
(:meth:`TokenRecord.to_json_bytes`) encrypted with the store's ``MultiFernet`` (newest key
encrypts, any key decrypts), one row per account keyed by the same hash the file store uses for
file names, so the table does not say who signed in.

Beyond the protocol, two things only a shared database can give:

* :meth:`PgTokenStore.locked` — the account's row under ``SELECT … FOR UPDATE`` inside a
  transaction: the single flight for refreshes *across* replicas. What is saved through it is
  committed when the block ends, before the caller hands the new access token to anyone.
* :meth:`PgTokenStore.claim_due` — one due row under ``FOR UPDATE SKIP LOCKED``: replicas share
  out the scheduled refreshes, none waiting on a row another is already refreshing.

A row that does not decrypt (wrong key configured, damaged) is reported and left in place, never
deleted: with a wrong key on one replica, deleting would sign everybody out.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from cryptography.fernet import InvalidToken

from cway_auth_core import MultiFernetProvider, RecordFormatError, ReencryptResult, TokenRecord, normalise_username
from cway_contract import Clock
from cway_remote.read_cache import ReadCache

log = logging.getLogger(__name__)

DueAt = Callable[[TokenRecord], datetime]
EventCallback = Callable[[str, dict[str, str]], None]
EVENT_UNREADABLE = "store_record_unreadable"


def account_key(username: str) -> str:
    """The row key: SHA-256 of the normalised username (the file store's file name, without suffix)."""
    return hashlib.sha256(normalise_username(username).encode("utf-8")).hexdigest()


@dataclass
class LockedAccount:
    """An account row held with ``FOR UPDATE`` in an open transaction; see :meth:`PgTokenStore.locked`."""

    key: str
    record: TokenRecord | None
    _store: PgTokenStore
    _conn: Any

    async def save(self, record: TokenRecord) -> None:
        if account_key(record.username) != self.key:
            raise ValueError("a locked account can only be saved under its own key")
        await self._store._upsert(self._conn, record)
        self.record = record

    async def delete(self) -> None:
        await self._conn.execute("DELETE FROM cway_accounts WHERE account_key = $1", self.key)
        self._store._changed(self.key)
        self.record = None

    async def postpone(self, until: datetime) -> None:
        """Move the scheduled refresh (after a transient failure, or a record this replica cannot read)."""
        await self._conn.execute("UPDATE cway_accounts SET refresh_due_at = $2 WHERE account_key = $1", self.key, until)


class PgTokenStore:
    """``TokenStore`` on PostgreSQL; see the module docstring for the cross-replica rules."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        keys: MultiFernetProvider,
        clock: Clock,
        *,
        due_at: DueAt,
        on_event: EventCallback | None = None,
        cache: ReadCache[object] | None = None,
    ) -> None:
        #: decrypted records by ``"a:" + account key`` while the change listener runs (read_cache.py)
        self._cache = cache
        self._pool = pool
        self._keys = keys
        self._clock = clock
        self._due_at = due_at
        self._on_event = on_event
        self._locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return "PgTokenStore()"

    # -- the TokenStore protocol -------------------------------------------------------------

    def lock(self, username: str) -> asyncio.Lock:
        """This process's lock for the account: callers in one replica queue here, not on a pool connection."""
        return self.lock_key(account_key(username))

    def lock_key(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def load(self, username: str) -> TokenRecord | None:
        return await self.load_key(account_key(username))

    async def load_key(self, key: str) -> TokenRecord | None:
        cache = self._cache
        if cache is not None:
            cached = cache.get("a:" + key)
            if isinstance(cached, TokenRecord):
                return cached
            generation = cache.generation
        async with self._pool.acquire() as conn:
            raw = await conn.fetchval("SELECT record FROM cway_accounts WHERE account_key = $1", key)
        record = self._decode(key, raw) if raw is not None else None
        if cache is not None and record is not None:
            cache.put("a:" + key, record, generation)
        return record

    def _changed(self, key: str) -> None:
        """This replica wrote the row: forget it now (the trigger's notification follows for the others)."""
        if self._cache is not None:
            self._cache.invalidate("a:" + key)

    async def save(self, record: TokenRecord) -> None:
        async with self._pool.acquire() as conn:
            await self._upsert(conn, record)

    async def delete(self, username: str) -> bool:
        async with self._pool.acquire() as conn:
            status = await conn.execute("DELETE FROM cway_accounts WHERE account_key = $1", account_key(username))
        self._changed(account_key(username))
        return bool(status.endswith(" 1"))

    async def list(self) -> builtins.list[TokenRecord]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch("SELECT account_key, record FROM cway_accounts")
        records = [self._decode(row["account_key"], row["record"]) for row in rows]
        return sorted((r for r in records if r is not None), key=lambda r: r.normalised_username)

    # -- cross-replica locking ---------------------------------------------------------------

    @asynccontextmanager
    async def locked(self, key: str) -> AsyncIterator[LockedAccount]:
        """The account row under ``FOR UPDATE``; committed when the block exits normally, rolled back
        on an exception (and by PostgreSQL itself if this process dies holding it)."""
        async with self._pool.acquire() as conn, conn.transaction():
            raw = await conn.fetchval("SELECT record FROM cway_accounts WHERE account_key = $1 FOR UPDATE", key)
            yield LockedAccount(key, self._decode(key, raw) if raw is not None else None, self, conn)

    @asynccontextmanager
    async def claim_due(self, now: datetime) -> AsyncIterator[LockedAccount | None]:
        """The most overdue account no other replica holds (``FOR UPDATE SKIP LOCKED``), or None."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT account_key, record FROM cway_accounts WHERE refresh_due_at <= $1 "
                "ORDER BY refresh_due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                now,
            )
            if row is None:
                yield None
                return
            key = row["account_key"]
            yield LockedAccount(key, self._decode(key, row["record"]), self, conn)

    async def reencrypt_all(self) -> ReencryptResult:
        """Re-encrypt every row with the newest key (key rotation); rows are taken one by one under
        ``FOR UPDATE`` so a concurrent refresh is never overwritten with an older record."""
        rotated = unreadable = 0
        async with self._pool.acquire() as conn:
            keys = [row["account_key"] for row in await conn.fetch("SELECT account_key FROM cway_accounts")]
        for key in keys:
            async with self._pool.acquire() as conn, conn.transaction():
                raw = await conn.fetchval("SELECT record FROM cway_accounts WHERE account_key = $1 FOR UPDATE", key)
                if raw is None:
                    continue
                try:
                    token = self._keys.multifernet.rotate(bytes(raw))
                except InvalidToken:
                    unreadable += 1
                    self._report(key, "decrypt_failed")
                    continue
                await conn.execute("UPDATE cway_accounts SET record = $2 WHERE account_key = $1", key, token)
                rotated += 1
        return ReencryptResult(rotated=rotated, set_aside=unreadable)

    # -- internals ---------------------------------------------------------------------------

    async def _upsert(self, conn: Any, record: TokenRecord) -> None:
        self._changed(account_key(record.username))
        token = self._keys.multifernet.encrypt(record.to_json_bytes())
        await conn.execute(
            "INSERT INTO cway_accounts (account_key, record, refresh_due_at, updated_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (account_key) DO UPDATE SET record = EXCLUDED.record, "
            "refresh_due_at = EXCLUDED.refresh_due_at, updated_at = EXCLUDED.updated_at",
            account_key(record.username),
            token,
            self._due_at(record),
            self._clock.now(),
        )

    def _decode(self, key: str, raw: bytes) -> TokenRecord | None:
        try:
            record = TokenRecord.from_json_bytes(self._keys.multifernet.decrypt(bytes(raw)))
        except InvalidToken:
            self._report(key, "decrypt_failed")
            return None
        except RecordFormatError as exc:
            self._report(key, exc.reason)
            return None
        if account_key(record.username) != key:  # a row copied onto another account must not sign it in
            self._report(key, "username_mismatch")
            return None
        return record

    def _report(self, key: str, reason: str) -> None:
        log.warning("token store: the record of account %s… cannot be read (%s)", key[:12], reason)
        if self._on_event is not None:
            try:
                self._on_event(EVENT_UNREADABLE, {"account_key": key[:12], "reason": reason})
            except Exception:
                log.exception("token store: on_event callback failed")
