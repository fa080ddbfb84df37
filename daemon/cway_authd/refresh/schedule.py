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
* at most ``concurrency`` background refreshes run at once, however many fall due together,
  and usually far fewer: see :class:`SlackRule`;
* due accounts wait in deadline order (a priority queue), so an account whose token is about to
  run out is never stuck behind a backlog of accounts that have nothing left to lose;
* the tick itself never awaits anything, so it cannot overlap itself.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from cway_contract import Clock

log = logging.getLogger(__name__)

TICK_JOB_ID = "refresh-tick"
DEFAULT_TICK_SECONDS = 1.0

Worker = Callable[[str], Awaitable[None]]
#: When a due account's refresh must be done by (see :class:`SlackRule`); None: no deadline known.
DeadlineOf = Callable[[str, datetime], datetime | None]

#: Before the first refresh has been timed: a deliberately slow guess, so the first storm starts wide
#: enough and narrows as soon as real durations are known.
INITIAL_REFRESH_SECONDS = 0.5


class SlackRule:
    """How many background refreshes may run at once: as few as the deadlines allow.

    Why so few: a refresh rotates the refresh token, and a ``kill -9`` (or power loss) between
    Cway's answer and the journal write loses that account's new refresh token: the user has to
    sign in again. The loss per crash is the number of refreshes in flight, so the pool should run
    only as many as the schedule needs. And it needs few: a refresh falls due ``threshold``
    (5 minutes by default) before its access token expires, so even a thousand accounts due
    together can be refreshed one after another and still finish in time.

    The rule. Sort the waiting accounts by deadline ``d_1 <= d_2 <= ...`` (the access token's
    expiry); with ``a`` refreshes already running and ``D`` the measured duration of one refresh
    (an exponentially weighted mean), the ``i``-th waiting account is done after about
    ``(a + i) * D / c`` seconds at concurrency ``c``. It must be done within half of its slack
    ``d_i - now`` (the other half is room for retries and a slower Cway), so

        c = max over i of ceil((a + i) * D / ((d_i - now) / 2)), at least 1, at most the ceiling

    (the ceiling is ``CWAY_REFRESH_CONCURRENCY``). An account whose access token has *already*
    expired has nothing left to win by hurrying: a caller that needs it refreshes it on demand,
    outside this pool; what remains is its refresh token's life, so its deadline is that (when
    known) or ``catch_up`` from now (5 minutes), the same window a normal refresh gets. Computed
    at each tick (once a second) and when a batch is dispatched; O(q log q) for q waiting accounts.
    """

    def __init__(self, ceiling: int, *, catch_up: timedelta = timedelta(minutes=5)) -> None:
        self.ceiling = max(1, ceiling)
        self.catch_up = catch_up
        self.refresh_seconds = INITIAL_REFRESH_SECONDS
        self._timed = 0

    def observe(self, seconds: float) -> None:
        """One refresh took ``seconds`` (Cway's answer, journal and save): fold it into the mean."""
        seconds = max(0.0, seconds)
        self._timed += 1
        weight = 0.5 if self._timed <= 4 else 0.1  # the first few replace the guess quickly
        self.refresh_seconds += weight * (seconds - self.refresh_seconds)

    def needed(self, deadlines: Iterable[datetime], running: int, now: datetime) -> int:
        """The concurrency that meets every deadline in ``deadlines`` (waiting accounts), see above."""
        needed = 1
        for position, deadline in enumerate(sorted(deadlines), start=1):
            room = (deadline - now).total_seconds() / 2
            if room <= 0:
                return self.ceiling
            needed = max(needed, math.ceil((running + position) * self.refresh_seconds / room))
            if needed >= self.ceiling:
                return self.ceiling
        return needed


class _Gate:
    """A semaphore whose limit can change while tasks wait on it (single event loop, no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        while self.taken >= self.limit:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.taken += 1

    def release(self) -> None:
        self.taken -= 1
        self._wake()

    def set_limit(self, limit: int) -> None:
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.taken
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


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
        self,
        clock: Clock,
        worker: Worker,
        *,
        concurrency: int,
        tick_seconds: float = DEFAULT_TICK_SECONDS,
        deadline_of: DeadlineOf | None = None,
    ) -> None:
        self.index = DueIndex()
        self._clock = clock
        self._worker = worker
        self.concurrency = max(1, concurrency)  # the ceiling; the rule picks the limit under it
        self.rule = SlackRule(self.concurrency)
        self._deadline_of = deadline_of
        self._gate = _Gate(1)
        self._tick_seconds = tick_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._queue: asyncio.PriorityQueue[tuple[datetime, int, str]] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self._queued: dict[str, datetime] = {}  # waiting for a worker: key -> its deadline
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
            self.dispatch(key, now, plan=False)
        self.plan(now)
        return len(due)

    @property
    def limit(self) -> int:
        """How many background refreshes may run at once right now (:class:`SlackRule`)."""
        return self._gate.limit

    def plan(self, now: datetime | None = None) -> int:
        """Set the concurrency limit from the waiting accounts' deadlines; returns it."""
        now = now or self._clock.now()
        limit = self.rule.needed(self._queued.values(), self.active, now)
        if limit != self._gate.limit:
            log.debug("refresh concurrency %d -> %d (%d waiting)", self._gate.limit, limit, len(self._queued))
        self._gate.set_limit(limit)
        return limit

    def dispatch(self, key: str, due: datetime, *, plan: bool = True) -> None:
        """Queue ``key`` for a worker (at most once at a time), in deadline order."""
        if key in self._queued:
            return
        deadline = self._deadline(key, due)
        self._queued[key] = deadline
        self.in_hand.setdefault(key, due)
        self._queue.put_nowait((deadline, next(self._seq), key))
        if plan:
            self.plan(due)

    def _deadline(self, key: str, now: datetime) -> datetime:
        deadline = self._deadline_of(key, now) if self._deadline_of is not None else None
        if deadline is None or deadline <= now:  # nothing left to win by hurrying: catch up in the window
            return now + self.rule.catch_up
        return deadline

    def next_run(self, key: str) -> datetime | None:
        """When ``key`` is (or was, if a worker has it now) due; None when nothing is planned."""
        return self.index.when(key) or self.in_hand.get(key)

    async def drain(self) -> None:
        """Wait until every queued key has been handled (tests, and the start-up pass's end)."""
        if self._workers:
            await self._queue.join()

    async def _work(self) -> None:
        while True:
            await self._gate.acquire()
            try:
                item = await self._queue.get()
                if self._gate.taken > self._gate.limit:  # the limit dropped while this worker waited: hand it on
                    self._queue.put_nowait(item)
                    self._queue.task_done()
                    continue
                _deadline, _seq, key = item
                self._queued.pop(key, None)
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
            finally:
                self._gate.release()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
