"""Keeping Cway tokens fresh when any replica may serve any user.

* **Single flight across replicas.** A refresh happens only while holding the account's row with
  ``SELECT … FOR UPDATE`` (:meth:`PgTokenStore.locked`). Whoever gets the row second re-reads it,
  finds the token already fresh and uses it: N callers on M replicas cause one refresh at Cway.
  Inside one replica an ``asyncio.Lock`` per account queues callers first, so they wait in memory
  instead of each holding a pool connection.
* **Commit before use.** The rotated refresh token and the new access token are committed when
  the locked block ends; only then is the access token returned. The refresh runs in its own
  shielded task: a caller that goes away cannot abandon a rotated refresh token.
* **Crash safety.** A replica killed holding a row loses its transaction, so PostgreSQL releases
  the row at once and keeps the last committed record; another replica carries on from it.
* **Scheduled refreshes are shared out.** Each replica's loop claims due rows with
  ``FOR UPDATE SKIP LOCKED`` (:meth:`PgTokenStore.claim_due`), so no two replicas refresh one
  account and none waits on another.
* **Transient vs fatal** as in the daemon: a transient failure serves the old token while it is
  valid and postpones the schedule; a fatal one (``invalid_grant``…) deletes the tokens, and the
  server's own tokens for that user are revoked so the MCP client signs in again.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from cway_auth_core import BackendError, BackendFatal, TokenRecord, due_at, is_due, refresh_token_expired
from cway_contract import Clock, fingerprint
from cway_remote.audit import AuditSink
from cway_remote.exchange import CwayExchange
from cway_remote.pg_store import LockedAccount, PgTokenStore

log = logging.getLogger(__name__)

RETRY_AFTER_TRANSIENT = timedelta(seconds=30)
SCHEDULE_INTERVAL_SECONDS = 15.0

OnDropped = Callable[[str], Awaitable[None]]


class SessionEnded(Exception):
    """The user's Cway session is gone (never signed in here, or the refresh was refused for good)."""


class CwayUnavailable(Exception):
    """Cway could not refresh the token just now and the old one has expired; try again shortly."""


#: The daemon's due-time rule itself (one module, :mod:`cway_auth_core.refresh_due`), named here for the store.
refresh_due_at = due_at


class RemoteRefresher:
    def __init__(
        self,
        *,
        store: PgTokenStore,
        exchange: CwayExchange,
        clock: Clock,
        threshold_seconds: int,
        audit: AuditSink | None,
        on_dropped: OnDropped | None = None,
    ) -> None:
        self._store = store
        self._exchange = exchange
        self._clock = clock
        self._threshold = timedelta(seconds=threshold_seconds)
        self._audit = audit
        self._on_dropped = on_dropped
        self._tasks: set[asyncio.Task[TokenRecord]] = set()
        self.refreshes = 0  # refreshes this replica made at Cway (health, tests)

    def due_at(self, record: TokenRecord) -> datetime:
        return due_at(record, self._threshold)

    def is_due(self, record: TokenRecord) -> bool:
        return is_due(record, self._threshold, self._clock.now())

    async def bearer(self, key: str) -> TokenRecord:
        """A record whose access token is fresh enough to send; refreshed first when due."""
        record = await self._store.load_key(key)
        if record is None:
            raise SessionEnded("not signed in")
        if not self.is_due(record):
            return record
        return await self._shielded(key, force=False, seen=record.access_token)

    async def force(self, key: str, rejected: str) -> TokenRecord:
        """After Cway refused ``rejected`` (a fingerprint): refresh unless another caller already did."""
        record = await self._store.load_key(key)
        if record is None:
            raise SessionEnded("not signed in")
        if not hmac.compare_digest(fingerprint(record.access_token).encode(), rejected.encode()):
            return record
        return await self._shielded(key, force=True, seen=record.access_token)

    async def _shielded(self, key: str, *, force: bool, seen: str) -> TokenRecord:
        task = asyncio.create_task(self._refresh(key, force=force, seen=seen))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return await asyncio.shield(task)

    def _task_done(self, task: asyncio.Task[TokenRecord]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that went away must not cause a warning

    async def _refresh(self, key: str, *, force: bool, seen: str) -> TokenRecord:
        async with self._store.lock_key(key):
            current = await self._store.load_key(key)  # cheap re-check before taking a row lock
            if current is not None and current.access_token != seen and not self.is_due(current):
                return current
            dropped = False
            async with self._store.locked(key) as row:
                record = row.record
                if record is None:
                    raise SessionEnded("not signed in")
                if record.access_token != seen and not self.is_due(record):
                    return record  # another replica refreshed while we waited for the row
                if not force and not self.is_due(record):
                    return record
                outcome = await self._refresh_locked(row, record)
                dropped = outcome is None
            # committed: the new tokens (or the deletion) are durable from here on
            if dropped:
                await self._dropped(key)
                raise SessionEnded("Cway ended the session")
            assert outcome is not None
            return outcome

    async def _refresh_locked(self, row: LockedAccount, record: TokenRecord) -> TokenRecord | None:
        """Refresh the held row; None when the grant is gone for good (the row is deleted)."""
        now = self._clock.now()
        if refresh_token_expired(record, now):
            await row.delete()
            self._event("refresh_failed", account=record.username, kind="fatal", error="refresh token expired")
            return None
        try:
            grant = await self._exchange.refresh(record)
        except BackendFatal as exc:
            await row.delete()
            self._event("refresh_failed", account=record.username, kind="fatal", error=str(exc))
            return None
        except BackendError as exc:
            self._event("refresh_failed", account=record.username, kind="transient", error=str(exc))
            await row.postpone(now + RETRY_AFTER_TRANSIENT)
            if record.access_expires_at > self._clock.now():
                return record  # the old token still works: serve it
            raise CwayUnavailable(f"Cway could not refresh the session just now ({exc}); try again shortly") from None
        self.refreshes += 1
        new = grant.applied_to(record, now)  # a silent re-exchange renews the Entra refresh token too
        await row.save(new)
        self._event(
            "refreshed",
            account=record.username,
            token_fingerprint=fingerprint(new.access_token),
            expires_at=new.access_expires_at.isoformat(),
        )
        return new

    async def _dropped(self, key: str) -> None:
        if self._on_dropped is not None:
            try:
                await self._on_dropped(key)
            except Exception:
                log.exception("could not revoke the server tokens of a signed-out account")

    # -- the schedule ------------------------------------------------------------------------

    async def refresh_due_once(self, limit: int = 50) -> int:
        """Claim and refresh due accounts (``SKIP LOCKED``) until none is left or ``limit`` is reached."""
        done = 0
        while done < limit:
            dropped_key: str | None = None
            async with self._store.claim_due(self._clock.now()) as row:
                if row is None:
                    break
                if row.record is None:  # unreadable with the configured keys: look again later, never delete
                    await row.postpone(self._clock.now() + timedelta(hours=1))
                    continue
                try:
                    outcome = await self._refresh_locked(row, row.record)
                except CwayUnavailable:
                    outcome = row.record
                if outcome is None:
                    dropped_key = row.key
            if dropped_key is not None:
                await self._dropped(dropped_key)
            done += 1
        return done

    async def run_schedule(self, stop: asyncio.Event, interval: float = SCHEDULE_INTERVAL_SECONDS) -> None:
        """This replica's share of the scheduled refreshes, until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.refresh_due_once()
            except Exception:
                log.exception("scheduled refresh round failed; trying again in %.0f s", interval)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    def _event(self, event: str, **fields: object) -> None:
        if self._audit is not None:
            self._audit.event(event, **fields)
