"""Keeping every account's access token fresh: on demand (the token API) and on schedule.

Rules this module enforces:

* **Single flight.** A refresh runs under the store's per-account ``asyncio.Lock`` and re-checks
  the record after acquiring it, so N concurrent callers cause one backend refresh and all get
  the new token. The refresh runs in its own task, shielded from the caller: a client that
  disconnects mid-refresh must not abandon a rotated refresh token before it is saved.
* **Persist before use.** A rotated refresh token is saved (atomically, by the store) before the
  new access token is returned to anyone.
* **Transient vs fatal.** Transient failures are retried with exponential backoff and jitter
  within a small budget; meanwhile the old access token is served while it is valid. After a
  failed round the account cools down (5 s growing to 60 s) so a burst of callers cannot
  hammer a struggling backend. Fatal failures delete the record and leave a tombstone.
* **Scheduling.** One APScheduler date job per account at ``due - jitter``. The scheduler runs
  on wall time; run dates are computed as "now + (due - clock.now())" so the injected clock
  decides *when* something is due, and every job re-checks against that clock before acting.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from cway_common.clock import Clock
from cway_common.contract import ErrorCode
from cway_common.redact import fingerprint

from .accounts import AccountBook, AccountEntry
from .audit import AuditLog
from .errors import BackendError, BackendFatal, BackendTransient, CoreError
from .grants import TokenGrant
from .store import TokenRecord, TokenStore

log = logging.getLogger(__name__)

Refresher = Callable[[str], Awaitable[TokenGrant]]
Sleep = Callable[[float], Awaitable[None]]

JOB_PREFIX = "refresh:"
MAX_JITTER_SECONDS = 30.0
MISFIRE_GRACE_SECONDS = 24 * 3600
STARTUP_CONCURRENCY = 8


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for one refresh round; ``sleep`` is injectable so tests need not wait."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    budget: float = 30.0
    cooldown_base: float = 5.0
    cooldown_max: float = 60.0
    sleep: Sleep = field(default=asyncio.sleep)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential with "equal jitter": half fixed, half random; Retry-After is a floor."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        jittered = ceiling / 2 + (ceiling / 2) * (secrets.randbelow(1000) / 1000)
        return max(jittered, retry_after or 0.0)

    def cooldown(self, failures: int, retry_after: float | None) -> timedelta:
        seconds = min(self.cooldown_max, self.cooldown_base * (2 ** max(0, failures - 1)))
        return timedelta(seconds=max(seconds, retry_after or 0.0))


class RefreshEngine:
    def __init__(
        self,
        *,
        clock: Clock,
        store: TokenStore,
        book: AccountBook,
        refresher: Refresher,
        audit: AuditLog | None,
        threshold_seconds: int,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._clock = clock
        self._store = store
        self._book = book
        self._refresher = refresher
        self._audit = audit
        self._threshold = timedelta(seconds=threshold_seconds)
        self.policy = policy or RetryPolicy()
        self._scheduler: AsyncIOScheduler | None = None
        self._tasks: set[asyncio.Task[TokenRecord]] = set()

    # ---- timing --------------------------------------------------------------------------

    def due_at(self, record: TokenRecord) -> datetime:
        """When to refresh: ``threshold`` before expiry, but never before half the lifetime."""
        issued = record.last_refreshed_at or record.created_at
        lifetime = max(record.access_expires_at - issued, timedelta(0))
        return record.access_expires_at - min(self._threshold, lifetime / 2)

    def is_due(self, record: TokenRecord) -> bool:
        return self._clock.now() >= self.due_at(record)

    # ---- token API -----------------------------------------------------------------------

    async def current(self, key: str, *, force: bool = False, rejected: str | None = None) -> TokenRecord:
        """A record whose access token is fresh enough to hand out (refreshing first if needed).

        A forced refresh names the token Cway refused by its fingerprint (``rejected``): if the daemon
        already holds another token, that one is the answer and no refresh is made.
        """
        entry = self._book.get(key)
        record = entry.record if entry is not None else None
        if force and rejected is not None and record is not None and entry is not None and not entry.unsaved:
            # Bytes, not str: compare_digest raises TypeError on a non-ASCII str (the caller's input).
            held = fingerprint(record.access_token).encode("ascii")
            if not hmac.compare_digest(held, rejected.encode("utf-8", "surrogatepass")):
                return record  # the refused token was already replaced
        if record is not None and entry is not None and not entry.unsaved and not force and not self.is_due(record):
            return record  # lock-free fast path
        seen = record.access_token if record is not None else None
        task = asyncio.create_task(self._refresh_under_lock(key, force=force, seen_token=seen))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return await asyncio.shield(task)

    def _task_done(self, task: asyncio.Task[TokenRecord]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # mark retrieved: a caller that went away must not cause a warning

    async def _refresh_under_lock(self, key: str, *, force: bool, seen_token: str | None) -> TokenRecord:
        entry = self._book.get(key)
        if entry is None:
            raise CoreError(ErrorCode.NOT_SIGNED_IN, f"{key} is not signed in", status=401, username=key)
        async with self._store.lock(key):
            entry = self._book.get(key)
            if entry is None or entry.record is None:
                return self._raise_not_usable(key, entry)
            record = entry.record
            if entry.unsaved:  # a refresh whose save failed: persist it before anyone uses it
                return await self._save(entry, record)
            if force and seen_token is not None and record.access_token != seen_token:
                return record  # another caller refreshed while we waited: that is the new token
            if not force and not self.is_due(record):
                return record
            return await self._refresh_locked(entry, record)

    def _raise_not_usable(self, key: str, entry: AccountEntry | None) -> TokenRecord:
        if entry is None:
            raise CoreError(ErrorCode.NOT_SIGNED_IN, f"{key} is not signed in", status=401, username=key)
        raise CoreError(
            ErrorCode.SIGN_IN_REQUIRED,
            f"{entry.username} must sign in again: {entry.last_error or 'the session ended'}",
            status=401,
            username=entry.username,
        )

    async def _refresh_locked(self, entry: AccountEntry, record: TokenRecord) -> TokenRecord:
        now = self._clock.now()
        key = record.normalised_username
        if entry.retry_not_before is not None and now < entry.retry_not_before:
            return self._serve_or_fail(entry, record)
        if not record.refresh_token or (record.refresh_expires_at is not None and record.refresh_expires_at <= now):
            await self._drop(entry, "the refresh token has expired")
            return self._raise_not_usable(key, entry)

        entry.refreshing = True
        try:
            grant = await self._call_with_retries(record.refresh_token)
        except BackendFatal as exc:
            await self._drop(entry, str(exc))
            return self._raise_not_usable(key, entry)
        except BackendError as exc:
            entry.failures += 1
            entry.last_error = str(exc)
            retry_after = exc.retry_after if isinstance(exc, BackendTransient) else None
            entry.retry_not_before = self._clock.now() + self.policy.cooldown(entry.failures, retry_after)
            self._audit_event("refresh_failed", account=entry.username, kind="transient", error=str(exc))
            self.schedule(record, at=entry.retry_not_before)
            return self._serve_or_fail(entry, record)
        finally:
            entry.refreshing = False

        new = record.replace(
            access_token=grant.access_token,
            refresh_token=grant.refresh_token or record.refresh_token,
            token_type=grant.token_type,
            access_expires_at=grant.access_expires_at,
            refresh_expires_at=grant.refresh_expires_at if grant.refresh_token else record.refresh_expires_at,
            last_refreshed_at=now,
        )
        new = await self._save(entry, new)
        self._audit_event(
            "refresh_ok",
            account=new.username,
            token_fingerprint=fingerprint(new.access_token),
            access_expires_at=new.access_expires_at.isoformat(),
            rotated=grant.refresh_token is not None and grant.refresh_token != record.refresh_token,
        )
        self.schedule(new)
        return new

    async def _save(self, entry: AccountEntry, record: TokenRecord) -> TokenRecord:
        """Persist ``record`` before it is used; on failure keep it in memory only, flagged unsaved."""
        try:
            await self._store.save(record)  # the rotated refresh token is durable before anyone uses it
        except Exception as exc:
            # The old refresh token is spent: memory is now the only copy. Nobody gets the new
            # access token until a later attempt (next call, or the job in a few seconds) saves it.
            entry.record = record
            entry.unsaved = True
            entry.last_error = f"could not save the refreshed tokens ({type(exc).__name__})"
            log.error("saving the refreshed tokens of %s failed: %s", entry.username, type(exc).__name__)
            self.schedule(record, at=self._clock.now() + self.policy.cooldown(1, None))
            raise CoreError(ErrorCode.INTERNAL, entry.last_error, status=500, username=entry.username) from None
        self._book.put_record(record)
        return record

    def _serve_or_fail(self, entry: AccountEntry, record: TokenRecord) -> TokenRecord:
        """During a backend problem: the old token while it is valid, else 503."""
        if record.access_expires_at > self._clock.now():
            return record
        when = entry.retry_not_before.isoformat() if entry.retry_not_before else "soon"
        raise CoreError(
            ErrorCode.BACKEND_UNAVAILABLE,
            f"cannot refresh {entry.username}'s expired token right now ({entry.last_error}); "
            f"the daemon retries after {when}",
            status=503,
            username=entry.username,
        )

    async def _call_with_retries(self, refresh_token: str) -> TokenGrant:
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            try:
                return await self._refresher(refresh_token)
            except BackendTransient as exc:
                attempt += 1
                if attempt >= self.policy.attempts:
                    raise
                delay = self.policy.delay(attempt - 1, exc.retry_after)
                if loop.time() - started + delay > self.policy.budget:
                    raise
                log.info("refresh attempt %d failed (%s); retrying in %.2fs", attempt, exc, delay)
                await self.policy.sleep(delay)

    async def _drop(self, entry: AccountEntry, reason: str) -> None:
        """Fatal: delete the record, keep a tombstone, stop its job."""
        key = self._book.key(entry.username)
        try:
            await self._store.delete(entry.username)
        except Exception as exc:
            log.error("could not delete the dead record of %s: %s", entry.username, type(exc).__name__)
        self._book.tombstone(key, entry.username, reason)
        self.unschedule(key)
        self._audit_event("refresh_failed", account=entry.username, kind="fatal", error=reason)

    # ---- sign-in / logout hooks ----------------------------------------------------------------

    async def adopt(self, record: TokenRecord) -> None:
        """A fresh sign-in: persist, replace whatever was there, schedule."""
        async with self._store.lock(record.username):
            await self._store.save(record)
            self._book.put_record(record)
        self.schedule(record)

    async def remove(self, key: str) -> tuple[bool, TokenRecord | None]:
        """Logout: (anything removed?, the record that was there)."""
        async with self._store.lock(key):
            entry = self._book.remove(key)
            deleted = await self._store.delete(key)
        self.unschedule(key)
        return deleted or entry is not None, entry.record if entry is not None else None

    # ---- startup, due scan and the scheduler -------------------------------------------------

    async def load_all(self) -> list[TokenRecord]:
        records = await self._store.list()
        for record in records:
            self._book.put_record(record)
        return records

    async def run_due(self, concurrency: int = STARTUP_CONCURRENCY) -> int:
        """Refresh every account that is due by the injected clock; returns how many were tried."""
        due = [e.username for e in self._book.entries() if e.record is not None and self.is_due(e.record)]
        semaphore = asyncio.Semaphore(concurrency)

        async def one(name: str) -> None:
            async with semaphore:
                await self.refresh_if_due(name)

        await asyncio.gather(*(one(name) for name in due))
        return len(due)

    async def refresh_if_due(self, username: str) -> None:
        """What a scheduled job does; never raises (the error is on the account)."""
        key = self._book.key(username)
        entry = self._book.get(key)
        if entry is None or entry.record is None:
            return
        if not entry.unsaved and not self.is_due(entry.record) and entry.retry_not_before is None:
            self.schedule(entry.record)  # fired early by our clock's view: try again when due
            return
        try:
            await self.current(key)
        except CoreError as exc:
            log.info("scheduled refresh of %s: %s", username, exc.message)
        except Exception as exc:  # a job must not die noisily; the type is enough (no secret-bearing text)
            log.error("scheduled refresh of %s failed unexpectedly: %s", username, type(exc).__name__)
        entry = self._book.get(key)
        if entry is not None and entry.record is not None and self.job_run_date(key) is None:
            self.schedule(entry.record, at=entry.retry_not_before)

    def start_scheduler(self) -> None:
        if self._scheduler is None:
            self._scheduler = AsyncIOScheduler(timezone=UTC)
            self._scheduler.start()
            for entry in self._book.entries():
                if entry.record is not None:
                    self.schedule(entry.record)

    def schedule(self, record: TokenRecord, *, at: datetime | None = None) -> None:
        if self._scheduler is None:
            return
        due = at if at is not None else self.due_at(record) - timedelta(seconds=self._jitter())
        delay = max(due - self._clock.now(), timedelta(0))
        run_date = datetime.now(UTC) + delay  # the scheduler's own (wall) time; see module doc
        self._scheduler.add_job(
            self.refresh_if_due,
            trigger="date",
            run_date=run_date,
            args=[record.username],
            id=JOB_PREFIX + record.normalised_username,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )

    @staticmethod
    def _jitter() -> float:
        return secrets.randbelow(int(MAX_JITTER_SECONDS * 1000)) / 1000

    def unschedule(self, key: str) -> None:
        if self._scheduler is not None and self._scheduler.get_job(JOB_PREFIX + key) is not None:
            self._scheduler.remove_job(JOB_PREFIX + key)

    def job_ids(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()] if self._scheduler is not None else []

    def job_run_date(self, key: str) -> datetime | None:
        job = self._scheduler.get_job(JOB_PREFIX + key) if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    async def stop(self, grace_seconds: float = 35.0) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._tasks:  # in-flight refreshes finish, so a rotated refresh token is saved
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()

    def _audit_event(self, event: str, **fields: object) -> None:
        if self._audit is not None:
            self._audit.event(event, **fields)
