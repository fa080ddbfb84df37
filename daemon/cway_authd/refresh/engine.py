"""Keeping every account's access token fresh: on demand (the token API) and on schedule.

Rules this module enforces:

* **Single flight.** A refresh runs under the store's per-account ``asyncio.Lock`` and re-checks
  the record after acquiring it, so N concurrent callers cause one backend refresh and all get
  the new token. The refresh runs in its own task, shielded from the caller: a client that
  disconnects mid-refresh must not abandon a rotated refresh token before it is saved.
* **Persist first.** A rotated refresh token is saved (atomically, by the store) before the new
  access token is returned to anyone. If the save fails (a full disk) the new tokens stay in
  memory, the access token is served, and the save is retried (:mod:`durability`).
* **Transient vs fatal.** Transient failures are retried with exponential backoff and jitter
  within a small budget; meanwhile the old access token is served while it is valid. After a
  failed round the account cools down (5 s growing to 60 s) so a burst of callers cannot
  hammer a struggling backend. Fatal failures delete the record and leave a tombstone; a
  configuration error (``BackendMisconfigured``: ``invalid_client`` …) never does: the tokens are
  kept and, once the access token has expired, callers are told to ask their administrator.
* **Scheduling.** :mod:`refresh_schedule`: a due-time index, one APScheduler tick job and a
  worker pool that runs as few refreshes at once as the deadlines allow (``SlackRule``; at most
  ``CWAY_REFRESH_CONCURRENCY``): each one in flight is an account a crash can cost. Each account is armed at
  :meth:`RefreshEngine.planned_at` (due minus a per-token jitter, never after the refresh token's
  own deadline); the worker re-checks against the injected clock with that same function.
* **Never a long wait on a valid token.** A bearer caller whose token is still valid waits at most
  ``BEARER_WAIT_SECONDS`` for a due refresh, then gets the current token; the refresh goes on.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from cway_auth_core import BackendError, BackendFatal, BackendMisconfigured, BackendTransient, TokenGrant, refresh_due
from cway_authd.accounts import AccountBook, AccountEntry
from cway_authd.audit import AuditLog
from cway_authd.errors import CoreError
from cway_authd.refresh.background import BackgroundRefreshes
from cway_authd.sign_in.needed import SignInNeed, SignInNeededList
from cway_authd.store import TokenRecord, TokenStore, normalise_username
from cway_authd.store.durability import describe_save_error
from cway_authd.store.journal import RefreshJournal
from cway_contract import Clock, ErrorCode, fingerprint

log = logging.getLogger(__name__)

#: Renews one account's tokens (the record holds Cway's refresh token, or Entra's for a re-exchange).
Refresher = Callable[[TokenRecord], Awaitable[TokenGrant]]
Sleep = Callable[[float], Awaitable[None]]

#: What a tracked refresh task answers (the record, or None for an account that is gone).
_R = TypeVar("_R", TokenRecord, TokenRecord | None)

DEFAULT_CONCURRENCY = 8
#: A bearer caller whose token is still valid waits at most this long for a refresh (it then gets the
#: current token and the refresh carries on in the background): a hung token endpoint cannot stall tools.
BEARER_WAIT_SECONDS = 2.0


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
    """The token API (``current``), one refresh, sign-in/logout hooks; the schedule is its
    :class:`BackgroundRefreshes` (``background``), which calls back into one refresh under the lock."""

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
        concurrency: int = DEFAULT_CONCURRENCY,
        journal: RefreshJournal | None = None,
        sign_in_needed: SignInNeededList | None = None,
    ) -> None:
        self._clock = clock
        self._store = store
        self._book = book
        self._refresher = refresher
        self._audit = audit
        self._threshold = timedelta(seconds=threshold_seconds)
        self.policy = policy or RetryPolicy()
        self.journal = journal
        self.sign_in_needed = sign_in_needed
        self._tasks: set[asyncio.Task[TokenRecord | None]] = set()
        self.background = BackgroundRefreshes(
            clock=clock,
            store=store,
            book=book,
            threshold=self._threshold,
            refresh_locked=self._refresh_locked,
            persist=self._persist,
            spawn=self._spawn,
            concurrency=concurrency,
        )

    # ---- timing (the rule is :mod:`refresh_due`, shared with the remote server) ----------------

    def due_at(self, record: TokenRecord) -> datetime:
        """When to refresh: ``threshold`` before expiry, but never before half the lifetime."""
        return refresh_due.due_at(record, self._threshold)

    def is_due(self, record: TokenRecord) -> bool:
        return refresh_due.is_due(record, self._threshold, self._clock.now())

    def planned_at(self, record: TokenRecord) -> datetime:
        """When the background refresh happens (due minus a per-token jitter; see :mod:`refresh_due`)."""
        return self.background.planned_at(record)

    # ---- token API -----------------------------------------------------------------------

    async def current(self, key: str, *, force: bool = False, rejected: str | None = None) -> TokenRecord:
        """A record whose access token is fresh enough to hand out (refreshing first if needed).

        A forced refresh names the token Cway refused by its fingerprint (``rejected``): if the daemon
        already holds another token, that one is the answer and no refresh is made.
        """
        entry = self._book.get(key)
        record = entry.record if entry is not None else None
        if force and rejected is not None and record is not None:
            # Bytes, not str: compare_digest raises TypeError on a non-ASCII str (the caller's input).
            held = fingerprint(record.access_token).encode("ascii")
            if not hmac.compare_digest(held, rejected.encode("utf-8", "surrogatepass")):
                return record  # the refused token was already replaced
        if record is not None and not force and not self.is_due(record):
            # Lock-free fast path. An *unsaved* record (its save failed) is served too: its access
            # token is valid, and the save is retried in the background (see ``_persist``).
            return record
        seen = record.access_token if record is not None else None
        task = self._spawn(self._refresh_under_lock(key, force=force, seen_token=seen))
        if not force and record is not None and self._valid_beyond_wait(record):
            try:
                return await asyncio.wait_for(asyncio.shield(task), BEARER_WAIT_SECONDS)
            except TimeoutError:
                log.info("refresh of %s is slow; serving its still-valid token meanwhile", record.username)
                return record
        return await asyncio.shield(task)

    def _valid_beyond_wait(self, record: TokenRecord) -> bool:
        return record.access_expires_at - self._clock.now() > timedelta(seconds=BEARER_WAIT_SECONDS)

    def _spawn(self, refresh: Coroutine[Any, Any, _R]) -> asyncio.Task[_R]:
        """Run ``refresh`` in its own task, tracked until done (``idle`` and ``stop`` wait for it)."""
        task = asyncio.create_task(refresh)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[TokenRecord | None]) -> None:
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
            if entry.unsaved:  # a refresh whose save failed: try the save again first
                await self._persist(entry, record)
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
        cway_refresh_dead = not record.refresh_token or refresh_due.refresh_token_expired(record, now)
        if cway_refresh_dead and not record.idp_refresh_token:  # with one, the refresher exchanges again
            await self._drop(entry, "the refresh token has expired")
            return self._raise_not_usable(key, entry)

        entry.refreshing = True
        try:
            grant = await self._call_with_retries(record)
        except BackendFatal as exc:
            await self._drop(entry, str(exc))
            return self._raise_not_usable(key, entry)
        except BackendError as exc:
            entry.failures += 1
            entry.last_error = str(exc)
            retry_after = exc.retry_after if isinstance(exc, BackendTransient) else None
            entry.retry_not_before = self._clock.now() + self.policy.cooldown(entry.failures, retry_after)
            entry.misconfigured = exc.code if isinstance(exc, BackendMisconfigured) else None
            kind = "admin" if isinstance(exc, BackendMisconfigured) else "transient"
            self._audit_event("refresh_failed", account=entry.username, kind=kind, error=str(exc))
            self.schedule(record, at=entry.retry_not_before)
            return self._serve_or_fail(entry, record)
        finally:
            entry.refreshing = False

        new = grant.applied_to(record, now)
        self._journal(new)  # crash-safe first, before anything else is done with the answer
        saved = False
        try:
            saved = await self._persist(entry, new)
            if saved:
                self.schedule(new)
        finally:
            if self.journal is not None:
                self.journal.settled(saved=saved)
        self._audit_event(
            "refresh_ok",
            account=new.username,
            token_fingerprint=fingerprint(new.access_token),
            access_expires_at=new.access_expires_at.isoformat(),
            rotated=grant.refresh_token is not None and grant.refresh_token != record.refresh_token,
        )
        return new

    def _journal(self, record: TokenRecord) -> None:
        if self.journal is None:
            return
        try:
            self.journal.append(record)
        except Exception as exc:  # the record file is still written next; the journal only narrows a window
            log.error("could not journal the refresh of %s: %s", record.username, describe_save_error(exc))

    async def _persist(self, entry: AccountEntry, record: TokenRecord) -> bool:
        """Save ``record`` (persist first: before anything else is done with the new tokens).

        On failure (a full disk) the record stays in memory, flagged unsaved: its access token is
        valid and is served, the rotated refresh token lives only here, and the save is retried in
        the background (and once more at shutdown, see :mod:`durability`)."""
        try:
            await self._store.save(record)
        except Exception as exc:
            entry.record = record
            entry.unsaved = True
            entry.last_error = (
                f"could not save the refreshed tokens: {describe_save_error(exc)}; "
                "they are kept in memory and the save is retried"
            )
            log.error("saving the refreshed tokens of %s failed: %s", entry.username, describe_save_error(exc))
            self.schedule(record, at=self._clock.now() + self.policy.cooldown(1, None))
            return False
        self._book.put_record(record)
        return True

    def _serve_or_fail(self, entry: AccountEntry, record: TokenRecord) -> TokenRecord:
        """During a backend problem: the old token while it is valid, else 503."""
        if record.access_expires_at > self._clock.now():
            return record
        when = entry.retry_not_before.isoformat() if entry.retry_not_before else "soon"
        code = entry.misconfigured
        if code is not None:  # retrying will not help until the registration is fixed; the tokens are kept
            raise CoreError(
                ErrorCode.CONFIGURATION_ERROR,
                f"{entry.username}'s session cannot be renewed because the sign-in configuration was refused: "
                f"ask your administrator ({code}; `cway-auth doctor` shows the details). "
                "The tokens are kept; it works again once the configuration is fixed.",
                status=503,
                username=entry.username,
            )
        raise CoreError(
            ErrorCode.BACKEND_UNAVAILABLE,
            f"cannot refresh {entry.username}'s expired token right now ({entry.last_error}); "
            f"the daemon retries after {when}",
            status=503,
            username=entry.username,
        )

    async def _call_with_retries(self, record: TokenRecord) -> TokenGrant:
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            try:
                return await self._refresher(record)
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
        """Fatal: delete the record, keep a tombstone (in memory and in the sign-in-needed list, so it
        is still listed after a restart), stop its job."""
        key = self._book.key(entry.username)
        last_expiry = entry.record.access_expires_at if entry.record is not None else entry.last_expiry
        if self.sign_in_needed is not None:  # first: a crash after the delete must not forget the account
            await self.sign_in_needed.mark(SignInNeed(entry.username, reason, self._clock.now(), last_expiry))
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
            if self.sign_in_needed is not None:
                await self.sign_in_needed.clear(record.normalised_username)
        self.schedule(record)

    async def remove(self, key: str) -> tuple[bool, TokenRecord | None]:
        """Logout: (anything removed?, the record that was there)."""
        async with self._store.lock(key):
            entry = self._book.remove(key)
            deleted = await self._store.delete(key)
            if self.journal is not None:  # its newest refresh token may be there, not yet compacted
                try:
                    self.journal.forget(key)
                except OSError as exc:
                    log.error("could not remove %s from the refresh journal: %s", key, describe_save_error(exc))
            if self.sign_in_needed is not None:
                await self.sign_in_needed.clear(key)
        self.unschedule(key)
        return deleted or entry is not None, entry.record if entry is not None else None

    # ---- start-up, schedule and the background workers --------------------------------------

    def load_sign_in_needed(self) -> int:
        """Start-up, before the records: every account that needed a sign-in when the last daemon
        stopped is a tombstone again (with its reason and last expiry); returns how many."""
        if self.sign_in_needed is None:
            return 0
        needs = self.sign_in_needed.load()
        for need in needs:
            self._book.tombstone(
                normalise_username(need.username), need.username, need.reason, last_expiry=need.last_expiry
            )
        return len(needs)

    async def load_all(self) -> list[TokenRecord]:
        records = await self._store.list()
        for record in records:
            self._book.put_record(record)
        return records

    async def idle(self) -> None:
        """Wait until no refresh is in flight (tests; a caller that was served early may leave one running)."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)

    async def stop(self, grace_seconds: float = 35.0) -> None:
        await self.background.stop()
        if self._tasks:  # in-flight refreshes finish, so a rotated refresh token is saved
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()

    def _audit_event(self, event: str, **fields: object) -> None:
        if self._audit is not None:
            self._audit.event(event, **fields)

    # ---- the schedule: the background collaborator's, named here for the core and the tests ------

    def schedule(self, record: TokenRecord, *, at: datetime | None = None) -> None:
        self.background.schedule(record, at=at)

    def unschedule(self, key: str) -> None:
        self.background.unschedule(key)

    def start_scheduler(self) -> None:
        self.background.start()

    def scheduled_keys(self) -> list[str]:
        return self.background.scheduled_keys()

    def next_refresh_at(self, key: str) -> datetime | None:
        return self.background.next_refresh_at(key)

    async def tick(self) -> int:
        return await self.background.tick()

    async def drain(self) -> None:
        await self.background.drain()

    async def run_due(self) -> int:
        return await self.background.run_due()
