"""Refreshed tokens the disk would not take: say why, keep trying, and never drop them silently.

A refresh rotates the refresh token: once Cway has answered, the old one is spent and the new
one exists only in the daemon's memory until it is saved. When the save fails (a full disk,
``ENOSPC``), the engine keeps serving the fresh access token and retries the save in the
background (see ``RefreshEngine._persist``). This module covers the rest:

* :func:`describe_save_error` names the cause ("No space left on device (ENOSPC)");
* :func:`flush_unsaved` runs at shutdown: retry each unsaved account's save a few times, then
  write it to a *rescue* store (a second private directory, on another filesystem where there
  is one: the runtime dir beside the socket); whatever still cannot be saved is logged as an
  error naming the account, and the daemon exits non-zero;
* :func:`recover_rescued` runs at start-up: a rescued record newer than the stored one is put
  back into the token store (or, if that still fails, held in memory as unsaved).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from cway_common.clock import Clock

from .accounts import AccountBook
from .store import FileTokenStore, MultiFernetProvider, TokenRecord, TokenStore

log = logging.getLogger(__name__)

RESCUE_DIR_NAME = "rescue"
SHUTDOWN_SAVE_ATTEMPTS = 3
SHUTDOWN_SAVE_DELAY = 0.2


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


async def flush_unsaved(
    book: AccountBook,
    store: TokenStore,
    rescue: TokenStore | None,
    *,
    attempts: int = SHUTDOWN_SAVE_ATTEMPTS,
    delay: float = SHUTDOWN_SAVE_DELAY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[str]:
    """Save every account held only in memory; returns the accounts saved nowhere (their sign-in is lost)."""
    lost: list[str] = []
    for entry in book.entries():
        record = entry.record
        if not entry.unsaved or record is None:
            continue
        error: BaseException | None = None
        for attempt in range(attempts):
            try:
                await store.save(record)
            except Exception as exc:
                error = exc
                if attempt + 1 < attempts:
                    await sleep(delay)
                continue
            entry.unsaved = False
            log.info("saved the refreshed tokens of %s at shutdown", entry.username)
            break
        if not entry.unsaved:
            continue
        cause = describe_save_error(error) if error is not None else "unknown error"
        if rescue is not None:
            try:
                await rescue.save(record)
            except Exception as exc:
                cause = f"{cause}; the rescue location failed too: {describe_save_error(exc)}"
            else:
                entry.unsaved = False
                log.warning(
                    "the token store would not take the refreshed tokens of %s (%s): saved them to the rescue "
                    "location %s instead; the next start moves them back",
                    entry.username,
                    cause,
                    getattr(rescue, "directory", "?"),
                )
                continue
        log.error(
            "could not save the refreshed tokens of %s anywhere (%s): its rotated refresh token is lost; "
            "%s must sign in again",
            entry.username,
            cause,
            entry.username,
        )
        lost.append(entry.username)
    return lost


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
