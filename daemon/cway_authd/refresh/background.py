"""The background refreshes: plan, arm, and refresh due accounts with bounded workers.

A collaborator the :class:`~cway_authd.refresh.engine.RefreshEngine` owns (composition: everything
it needs is a constructor argument, nothing is reached through the engine's attributes). It owns the
"when" (:func:`refresh_due.planned_at`, the due-time index in :mod:`refresh_schedule`) and what a
worker does with a due account; the "how" of one refresh (locks, retries, persisting) stays in the
engine, handed in as ``refresh_locked`` and ``persist`` and called under the account's lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from cway_auth_core import refresh_due
from cway_authd.accounts import AccountBook, AccountEntry
from cway_authd.errors import CoreError
from cway_authd.refresh.schedule import RefreshScheduler
from cway_authd.store import TokenRecord, TokenStore
from cway_contract import Clock

log = logging.getLogger(__name__)

#: One refresh of a held account (the engine's ``_refresh_locked``): the new record, or raises ``CoreError``.
RefreshLocked = Callable[[AccountEntry, TokenRecord], Awaitable[TokenRecord]]
#: Save a record kept in memory after a failed save (the engine's ``_persist``): saved or not.
Persist = Callable[[AccountEntry, TokenRecord], Awaitable[bool]]
#: Run a refresh in its own task that the engine tracks (so ``idle``/``stop`` wait for it).
Spawn = Callable[[Coroutine[Any, Any, TokenRecord | None]], "asyncio.Task[TokenRecord | None]"]


class BackgroundRefreshes:
    """The schedule of every account's refresh and the worker pool that carries it out."""

    def __init__(
        self,
        *,
        clock: Clock,
        store: TokenStore,
        book: AccountBook,
        threshold: timedelta,
        refresh_locked: RefreshLocked,
        persist: Persist,
        spawn: Spawn,
        concurrency: int,
    ) -> None:
        self._clock = clock
        self._store = store
        self._book = book
        self._threshold = threshold
        self._refresh_locked = refresh_locked
        self._persist = persist
        self._spawn = spawn
        self._schedule = RefreshScheduler(
            clock, self.refresh_scheduled, concurrency=concurrency, deadline_of=self.refresh_deadline
        )

    def planned_at(self, record: TokenRecord) -> datetime:
        """When the background refresh of ``record`` happens (see :func:`refresh_due.planned_at`)."""
        return refresh_due.planned_at(record, self._threshold)

    def refresh_deadline(self, key: str, now: datetime) -> datetime | None:
        """By when the background refresh of ``key`` must be done (the pool's :class:`SlackRule` input):
        its access token's expiry; once that has passed, only the refresh token's own deadline (None
        when unknown: the rule's catch-up window applies). A caller never waits on the pool for an
        expired token: it refreshes on demand."""
        entry = self._book.get(key)
        if entry is None or entry.record is None:
            return None
        record = entry.record
        deadline = record.access_expires_at if record.access_expires_at > now else None
        if record.refresh_expires_at is not None:
            deadline = min(deadline, record.refresh_expires_at) if deadline is not None else record.refresh_expires_at
        return deadline

    @property
    def concurrency_limit(self) -> int:
        """How many background refreshes may run at once now (at most :attr:`concurrency`)."""
        return self._schedule.limit

    @property
    def concurrency(self) -> int:
        return self._schedule.concurrency

    @property
    def peak_concurrency(self) -> int:
        return self._schedule.peak

    def start(self) -> None:
        """Arm every account (one bulk heapify) and start the tick job and the worker pool."""
        if self._schedule.running:
            return
        self._schedule.index.arm_many(
            (key, self._arm_time(entry)) for key, entry in self._book.items() if entry.record is not None
        )
        self._schedule.start()

    async def stop(self) -> None:
        await self._schedule.stop()

    def _arm_time(self, entry: AccountEntry) -> datetime:
        assert entry.record is not None
        if entry.unsaved:
            return self._clock.now()
        planned = self.planned_at(entry.record)
        return max(planned, entry.retry_not_before) if entry.retry_not_before is not None else planned

    def schedule(self, record: TokenRecord, *, at: datetime | None = None) -> None:
        """(Re)arm the background refresh of ``record``'s account (at ``at``, or when planned)."""
        self._schedule.index.arm(record.normalised_username, at if at is not None else self.planned_at(record))

    def unschedule(self, key: str) -> None:
        self._schedule.index.cancel(key)

    def scheduled_keys(self) -> list[str]:
        return self._schedule.index.keys()

    def next_refresh_at(self, key: str) -> datetime | None:
        """When the background worker looks at this account next (None: nothing scheduled)."""
        return self._schedule.next_run(key)

    async def tick(self) -> int:
        """What the scheduler's job does each second (tests with a ManualClock call it directly)."""
        return await self._schedule.tick()

    async def drain(self) -> None:
        await self._schedule.drain()

    async def run_due(self) -> int:
        """The start-up pass: hand every account that is due now to the worker pool, and wait.

        Bounded by the pool's concurrency; the socket is already answering meanwhile (this runs
        in a task). Returns how many accounts were due."""
        due = [
            key
            for key, entry in self._book.items()
            if entry.record is not None and (entry.unsaved or self._clock.now() >= self.planned_at(entry.record))
        ]
        if self._schedule.running:
            now = self._clock.now()
            for key in due:
                self._schedule.index.cancel(key)
                self._schedule.dispatch(key, now, plan=False)
            self._schedule.plan(now)
            await self._schedule.drain()
        else:
            semaphore = asyncio.Semaphore(self._schedule.concurrency)

            async def one(key: str) -> None:
                async with semaphore:
                    await self.refresh_scheduled(key)

            await asyncio.gather(*(one(key) for key in due))
        return len(due)

    async def refresh_scheduled(self, key: str) -> None:
        """What a background worker does for one account; never raises (the error is on the account)."""
        if self._book.get(key) is None:
            return
        task = self._spawn(self._scheduled_under_lock(key))
        try:
            await asyncio.shield(task)
        except CoreError as exc:
            log.info("scheduled refresh of %s: %s", key, exc.message)
        except Exception as exc:  # the type is enough (no secret-bearing text)
            log.error("scheduled refresh of %s failed unexpectedly: %s", key, type(exc).__name__)
        entry = self._book.get(key)
        if entry is not None and entry.record is not None and self.next_refresh_at(key) is None:
            self._schedule.index.arm(key, self._arm_time(entry))  # never leave a live account unarmed

    async def _scheduled_under_lock(self, key: str) -> TokenRecord | None:
        async with self._store.lock(key):
            entry = self._book.get(key)
            if entry is None or entry.record is None:
                return None
            record = entry.record
            now = self._clock.now()
            if entry.unsaved and not await self._persist(entry, record) and now < self.planned_at(record):
                return record  # the disk still refuses; _persist armed the next try
            if now < self.planned_at(record):
                self.schedule(record)  # woken early, or refreshed meanwhile by a bearer call
                return record
            if entry.retry_not_before is not None and now < entry.retry_not_before:
                self.schedule(record, at=entry.retry_not_before)
                return record
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                return await self._refresh_locked(entry, record)
            finally:
                # What one pool slot costs, for the rule; not a failing round (its retries and backoff
                # would raise the concurrency against a backend that is already struggling).
                if entry.failures == 0:
                    self._schedule.rule.observe(loop.time() - started)
