"""Refreshed tokens the disk would not take: say why, keep trying, and never drop them silently.

A refresh rotates the refresh token: once Cway has answered, the old one is spent and the new
one exists only in the daemon's memory until it is saved. When the save fails (a full disk,
``ENOSPC``), the engine keeps serving the fresh access token and retries the save in the
background (see ``RefreshEngine._persist``). This module covers the rest:

* :func:`describe_save_error` names the cause ("No space left on device (ENOSPC)");
* :func:`rescue_unsaved` runs at SIGTERM and :func:`flush_unsaved` at the end of the stop, both
  inside the stop timeout (:mod:`shutdown_budget`): every unsaved account is first written, in one
  pass, to a *rescue* store (a second private directory, on another filesystem where there is
  one: the runtime dir beside the socket), and only then is the normal save retried with the time
  left; whatever is kept nowhere is logged as an error naming the account, and the daemon exits
  non-zero;
* :func:`recover_rescued` runs at start-up: a rescued record newer than the stored one is put
  back into the token store (or, if that still fails, held in memory as unsaved).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from cway_authd.accounts import AccountBook, AccountEntry
from cway_authd.store import FileTokenStore, MultiFernetProvider, TokenRecord, TokenStore
from cway_contract import Clock

log = logging.getLogger(__name__)

RESCUE_DIR_NAME = "rescue"
SHUTDOWN_SAVE_ROUNDS = 3
SHUTDOWN_SAVE_DELAY = 0.2
#: Saves at once at shutdown: the disk's queue gets several fsyncs to merge, the thread pool stays free.
RESCUE_PARALLEL = 8
#: Without a shutdown budget (a caller that names no deadline).
DEFAULT_SAVE_SECONDS = 10.0


def rescue_dir(socket_path: Path) -> Path:
    """Beside the socket: the per-user runtime dir (tmpfs on Linux), usually not the full disk."""
    return socket_path.parent / RESCUE_DIR_NAME


def open_rescue_store(directory: Path, keys: MultiFernetProvider, clock: Clock, *, create: bool) -> TokenStore | None:
    """The rescue store (same encryption as the token store); None when it does not exist and
    ``create`` is false, or cannot be created."""
    if not create and not directory.is_dir():
        return None
    try:
        return FileTokenStore(directory, keys, clock)
    except Exception as exc:
        log.error("cannot use the rescue location %s: %s", directory, describe_save_error(exc))
        return None


def describe_save_error(exc: BaseException) -> str:
    """``No space left on device (ENOSPC)`` for an OSError; the type name otherwise (never secrets)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, f"errno {exc.errno}")
        return f"{exc.strerror or os.strerror(exc.errno)} ({name})"
    return type(exc).__name__


def _age_key(record: TokenRecord) -> datetime:
    return record.last_refreshed_at or record.created_at


async def rescue_unsaved(
    book: AccountBook, rescue: TokenStore | None, *, deadline: float, rescued: dict[str, TokenRecord]
) -> None:
    """ONE pass over the unsaved accounts: each goes to the rescue store (a few ms each, a few at a time).

    Runs first at SIGTERM and again before the final save: once an account's record is in the rescue
    store it survives however the rest of the stop goes. ``rescued`` (key -> the record written) skips
    what an earlier pass already put there unchanged."""
    if rescue is None:
        return
    todo = [
        e
        for e in book.entries()
        if e.unsaved and e.record is not None and rescued.get(book.key(e.username)) is not e.record
    ]
    if not todo:
        return
    gate = asyncio.Semaphore(RESCUE_PARALLEL)

    async def one(entry: AccountEntry) -> None:
        record = entry.record
        assert record is not None
        async with gate:
            if time.monotonic() >= deadline:
                return
            try:
                await rescue.save(record)
            except Exception as exc:
                log.error("could not write %s to the rescue location: %s", entry.username, describe_save_error(exc))
                return
        rescued[book.key(entry.username)] = record

    await _until(deadline, [one(entry) for entry in todo])
    log.warning(
        "put the refreshed tokens of %d of %d unsaved account(s) in the rescue location %s",
        sum(1 for e in todo if rescued.get(book.key(e.username)) is e.record),
        len(todo),
        getattr(rescue, "directory", "?"),
    )


async def flush_unsaved(
    book: AccountBook,
    store: TokenStore,
    rescue: TokenStore | None,
    *,
    deadline: float | None = None,
    rounds: int = SHUTDOWN_SAVE_ROUNDS,
    delay: float = SHUTDOWN_SAVE_DELAY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rescued: dict[str, TokenRecord] | None = None,
) -> list[str]:
    """Keep every account held only in memory, within ``deadline`` (monotonic); returns the accounts kept
    nowhere (their sign-in is lost), each also logged by name.

    First the rescue pass (:func:`rescue_unsaved`), so the time a full disk wastes cannot cost an
    account; then, with the time left, ``rounds`` tries of the normal save for all of them at once
    (a success makes the rescued copy stale, which the next start drops)."""
    deadline = deadline if deadline is not None else time.monotonic() + DEFAULT_SAVE_SECONDS
    rescued = rescued if rescued is not None else {}
    await rescue_unsaved(book, rescue, deadline=deadline, rescued=rescued)
    errors: dict[str, BaseException] = {}
    gate = asyncio.Semaphore(RESCUE_PARALLEL)

    async def save(entry: AccountEntry) -> None:
        record = entry.record
        assert record is not None
        async with gate:
            if time.monotonic() >= deadline:
                return
            try:
                await store.save(record)
            except Exception as exc:
                errors[entry.username] = exc
                return
        entry.unsaved = False
        log.info("saved the refreshed tokens of %s at shutdown", entry.username)

    for round_ in range(rounds):
        pending = [e for e in book.entries() if e.unsaved and e.record is not None]
        if not pending or time.monotonic() >= deadline:
            break
        if round_:
            await sleep(min(delay, max(0.0, deadline - time.monotonic())))
        await _until(deadline, [save(entry) for entry in pending])
    lost: list[str] = []
    for entry in book.entries():
        if not entry.unsaved or entry.record is None:
            continue
        error = errors.get(entry.username)
        cause = describe_save_error(error) if error is not None else "the stop timeout ran out first"
        if rescued.get(book.key(entry.username)) is entry.record:
            entry.unsaved = False
            log.warning(
                "the token store would not take the refreshed tokens of %s (%s): they are in the rescue "
                "location %s instead; the next start moves them back",
                entry.username,
                cause,
                getattr(rescue, "directory", "?"),
            )
            continue
        if rescue is not None:
            cause = f"{cause}; the rescue location failed too"
        log.error(
            "could not save the refreshed tokens of %s anywhere (%s): its rotated refresh token is lost; "
            "%s must sign in again",
            entry.username,
            cause,
            entry.username,
        )
        lost.append(entry.username)
    return lost


async def _until(deadline: float, work: list[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` together until done or ``deadline`` (monotonic); what is unfinished is cancelled."""
    tasks = [asyncio.ensure_future(w) for w in work]
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def recover_rescued(book: AccountBook, store: TokenStore, rescue: TokenStore) -> list[TokenRecord]:
    """Put rescued records back, first thing at start-up (before the stored copies, whose refresh
    tokens they replaced, can be loaded and refreshed); returns the records now in ``book``."""
    recovered: list[TokenRecord] = []
    for record in await rescue.list():
        current = await store.load(record.username)
        if current is not None and _age_key(current) >= _age_key(record):
            await rescue.delete(record.username)  # stale: the store caught up before that shutdown
            continue
        error = await _save_or_hold(book, store, record)
        if error is not None:
            log.error(
                "restored %s from the rescue location, but saving it failed: %s",
                record.username,
                describe_save_error(error),
            )
        else:
            await rescue.delete(record.username)
            log.warning("restored the tokens of %s from the rescue location", record.username)
        recovered.append(record)
    return recovered


async def replay_refresh_journal(
    book: AccountBook, store: TokenStore, journalled: list[TokenRecord]
) -> list[TokenRecord]:
    """Start-up: a journalled refresh newer than its stored record (the daemon died before the save
    finished) is saved now. Only accounts that still have a record: a logout deleted it for good."""
    restored: list[TokenRecord] = []
    for record in journalled:
        current = await store.load(record.username)
        if current is None or _age_key(current) >= _age_key(record):
            continue
        await _save_or_hold(book, store, record)
        log.warning("recovered the last refresh of %s from the refresh journal", record.username)
        restored.append(record)
    return restored


async def _save_or_hold(book: AccountBook, store: TokenStore, record: TokenRecord) -> Exception | None:
    """Save a recovered record and put it in ``book``; when the save fails, hold it there as unsaved
    (the engine retries, shutdown rescues it) and return the error."""
    try:
        await store.save(record)
    except Exception as exc:
        entry = book.put_record(record)
        entry.unsaved = True
        entry.last_error = f"could not save the refreshed tokens: {describe_save_error(exc)}; kept in memory"
        return exc
    book.put_record(record)
    return None
