"""Per-replica caches of the two reads every tool call makes, kept honest by PostgreSQL itself.

Every ``/mcp`` call used to cost two database round trips before the tool ran: the bearer
check (``oauth_tokens``) and the user's Cway token (``cway_accounts``, then a Fernet decrypt).
Both rows change rarely, and every change is a row UPDATE or DELETE, so triggers (migration 4)
``NOTIFY cway_mcp_changed`` with the row's key, whichever replica or ``cway-mcp serve admin``
made the change. Each replica LISTENs on one dedicated connection and drops the entry it is told
about: a revocation on one replica refuses the token on every other one as soon as the
notification arrives (milliseconds; a test holds it to one second).

Two rules keep the cache from ever being the only truth:

* **No listener, no cache.** While the LISTEN connection is down (PostgreSQL restarting, a
  network cut) a notification could be missed, so every read goes to the database (and fails
  with a 503 if the database is away) until the listener is back, and the cache starts empty.
* **A read that raced a change is not kept.** A global generation counts notifications; a value
  read from the database is stored only if no notification arrived while it was being read.

Entries also expire after :data:`MAX_AGE_SECONDS` and the callers still check the token's own
expiry on every use; negative answers (no such row) are never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Generic, TypeVar

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "cway_mcp_changed"
MAX_AGE_SECONDS = 300.0
MAX_ENTRIES = 50_000
RECONNECT_SECONDS = 1.0

V = TypeVar("V")


class ReadCache(Generic[V]):
    """A bounded map of key → (value, stored at), usable only while :attr:`live` is true."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_age: float = MAX_AGE_SECONDS) -> None:
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age
        self.generation = 0
        self.live = False
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> V | None:
        if not self.live:
            return None
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[1] > self._max_age:
            self.misses += 1
            return None
        self.hits += 1
        return entry[0]

    def put(self, key: str, value: V, generation: int) -> None:
        """Keep ``value`` read while the generation was ``generation`` (dropped if it moved since)."""
        if not self.live or generation != self.generation:
            return
        self._entries[key] = (value, time.monotonic())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, key: str) -> None:
        self.generation += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class ChangeListener:
    """The one LISTEN connection of a replica: routes ``t:<token hash>`` and ``a:<account key>``
    notifications to the caches, and turns them off while it is not connected."""

    def __init__(self, database_url: str, *, tokens: ReadCache[object], accounts: ReadCache[object]) -> None:
        self._url = database_url
        self._caches = {"t": tokens, "a": accounts}
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _set_live(self, live: bool) -> None:
        for cache in self._caches.values():
            cache.clear()
            cache.live = live

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        kind, _, key = payload.partition(":")
        cache = self._caches.get(kind)
        if cache is not None:
            cache.invalidate(kind + ":" + key)

    def _terminated(self, _conn: object) -> None:
        self._set_live(False)
        self._lost.set()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=5, statement_cache_size=0)
        conn.add_termination_listener(self._terminated)
        await conn.add_listener(CHANNEL, self._notified)
        self._conn = conn
        self._lost.clear()
        self._set_live(True)  # only now: a change made before this point was read from the database

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop``; while disconnected the caches are off."""
        while not stop.is_set():
            if self._conn is None or self._conn.is_closed():
                self._set_live(False)
                try:
                    await self._connect()
                    log.info("listening for token changes: per-replica read caches on")
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                    log.warning("cannot listen for token changes (%s): read caches off", type(exc).__name__)
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._lost.wait())]
            try:
                await asyncio.wait(waiters, timeout=RECONNECT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if self._lost.is_set() and self._conn is not None:
                log.warning("lost the token-change listener: read caches off until it is back")
                with contextlib.suppress(Exception):
                    await self._conn.close(timeout=1)
                self._conn = None

    async def aclose(self) -> None:
        self._set_live(False)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None


#: Migration 4 (db.py): the triggers that feed :class:`ChangeListener`.
TRIGGERS_SQL = f"""
CREATE FUNCTION cway_mcp_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'oauth_tokens' THEN
        PERFORM pg_notify('{CHANNEL}', 't:' || OLD.token_hash);
    ELSE
        PERFORM pg_notify('{CHANNEL}', 'a:' || OLD.account_key);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER oauth_tokens_changed AFTER UPDATE OR DELETE ON oauth_tokens
    FOR EACH ROW EXECUTE FUNCTION cway_mcp_notify_change();
CREATE TRIGGER cway_accounts_changed AFTER UPDATE OR DELETE ON cway_accounts
    FOR EACH ROW EXECUTE FUNCTION cway_mcp_notify_change();
"""
