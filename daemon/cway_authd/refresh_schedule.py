"""When each account is refreshed: one due-time index, one APScheduler job, a bounded worker pool.

Why not one APScheduler job per account (the first design): a job that fired a little early
re-armed itself from inside its own running instance, APScheduler skipped the new run ("maximum
number of running instances reached") and the one-shot trigger was gone, so idle accounts were
never refreshed. And 10 000 accounts meant 10 000 jobs to add at start-up.

Here the schedule is plain data: :class:`DueIndex`, a min-heap of ``(when, key)`` with lazy
deletion (arming an account again just supersedes its older entry). A single APScheduler
interval job, the *tick*, pops every entry whose time has come by the injected clock and hands
the key to a fixed pool of worker tasks through a queue. So:

* a due account is dispatched exactly once per arming (the pop removes it; a key already queued
  is not queued twice), and nothing can be skipped: a tick that runs late (or is coalesced)
  finds the same entries still in the heap;
* at most ``concurrency`` background refreshes run at once, however many fall due together;
* the tick itself never awaits anything, so it cannot overlap itself.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from cway_common.clock import Clock

log = logging.getLogger(__name__)

TICK_JOB_ID = "refresh-tick"
DEFAULT_TICK_SECONDS = 1.0

Worker = Callable[[str], Awaitable[None]]


class DueIndex:
    """``key → when`` with "everything due by ``now``" in O(k log n); arm and cancel are cheap."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._current: dict[str, tuple[datetime, int]] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._current)

    def arm(self, key: str, when: datetime) -> None:
        """(Re)schedule ``key`` at ``when``; any earlier arming of ``key`` is superseded."""
        entry = (when, next(self._seq))
        self._current[key] = entry
        heapq.heappush(self._heap, (*entry, key))
        if len(self._heap) > 2 * len(self._current) + 64:
            self._compact()

    def arm_many(self, items: Iterable[tuple[str, datetime]]) -> None:
        """Bulk arming (start-up): one O(n) heapify instead of n pushes."""
        for key, when in items:
            self._current[key] = (when, next(self._seq))
        self._compact()

    def cancel(self, key: str) -> None:
        self._current.pop(key, None)

    def when(self, key: str) -> datetime | None:
        entry = self._current.get(key)
        return entry[0] if entry is not None else None

    def keys(self) -> list[str]:
        return sorted(self._current)

    def pop_due(self, now: datetime) -> list[str]:
        """Remove and return every key due at ``now``, earliest first."""
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            when, seq, key = heapq.heappop(self._heap)
            if self._current.get(key) == (when, seq):  # else superseded or cancelled
                del self._current[key]
                due.append(key)
        return due

    def _compact(self) -> None:
        self._heap = [(when, seq, key) for key, (when, seq) in self._current.items()]
        heapq.heapify(self._heap)


class RefreshScheduler:
    """The tick job and the worker pool around a :class:`DueIndex` (see module docstring)."""

    def __init__(
        self, clock: Clock, worker: Worker, *, concurrency: int, tick_seconds: float = DEFAULT_TICK_SECONDS
    ) -> None:
        self.index = DueIndex()
        self._clock = clock
        self._worker = worker
        self.concurrency = max(1, concurrency)
        self._tick_seconds = tick_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self.in_hand: dict[str, datetime] = {}  # dispatched, not yet done: key -> when it was due
        self._workers: list[asyncio.Task[None]] = []
        self.active = 0  # background refreshes running now
        self.peak = 0  # the most that ever ran at once (for tests and health)

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        if self._scheduler is not None:
            return
        # One line per tick would flood daemon.log; failures are still logged (WARNING and up).
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self.tick,
            trigger="interval",
            seconds=self._tick_seconds,
            id=TICK_JOB_ID,
            next_run_time=datetime.now(UTC),  # the start-up pass: whatever is already due goes now
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # a late tick still runs; the index keeps what it must do
        )
        self._workers = [asyncio.create_task(self._work(), name=f"refresh-worker-{n}") for n in range(self.concurrency)]
        self._scheduler.start()

    async def tick(self) -> int:
        """Dispatch everything due by the injected clock; returns how many were dispatched."""
        now = self._clock.now()
        due = self.index.pop_due(now)
        for key in due:
            self.dispatch(key, now)
        return len(due)

    def dispatch(self, key: str, due: datetime) -> None:
        """Queue ``key`` for a worker (at most once at a time)."""
        if key not in self._queued:
            self._queued.add(key)
            self.in_hand.setdefault(key, due)
            self._queue.put_nowait(key)

    def next_run(self, key: str) -> datetime | None:
        """When ``key`` is (or was, if a worker has it now) due; None when nothing is planned."""
        return self.index.when(key) or self.in_hand.get(key)

    async def drain(self) -> None:
        """Wait until every queued key has been handled (tests, and the start-up pass's end)."""
        if self._workers:
            await self._queue.join()

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                await self._worker(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a worker must survive anything; the type is enough (no secrets)
                log.error("scheduled refresh failed unexpectedly: %s", type(exc).__name__)
            finally:
                self.active -= 1
                if key not in self._queued:
                    self.in_hand.pop(key, None)
                self._queue.task_done()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
