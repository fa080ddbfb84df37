"""Opening the token store, and what the store needs done at start-up and shutdown.

Kept out of ``core.py`` so that the facade reads as the socket API it serves: the crash and
full-disk recovery steps (replay the refresh journal, move rescued records back, save what is
still unsaved at shutdown) happen in a fixed order that is easier to check in one place.
The recovery policies themselves are in :mod:`durability` and :mod:`store.journal`.
"""

from __future__ import annotations

import asyncio
from typing import cast

from cway_auth_core import TOKENS_DIR_NAME
from cway_authd.accounts import AccountBook
from cway_authd.audit import AuditLog
from cway_authd.refresh.engine import RefreshEngine
from cway_authd.store import FileTokenStore, KeyMaterial, TokenRecord, TokenStore, normalise_username, resolve_store_key
from cway_authd.store.durability import (
    flush_unsaved,
    open_rescue_store,
    recover_rescued,
    replay_refresh_journal,
    rescue_dir,
    rescue_unsaved,
)
from cway_authd.store.format import check_store_format, open_store_format
from cway_authd.store.journal import replay_journal
from cway_contract import Clock, Settings


def open_file_store(settings: Settings, clock: Clock, audit: AuditLog) -> tuple[FileTokenStore, KeyMaterial]:
    """The default store: ``<state>/tokens`` encrypted under the resolved store key (blocking: key file/keyring)."""
    # First, read-only: a store written by a newer release is refused before the key is resolved, a temp
    # file removed, the journal replayed or a record read (store/format.py says why).
    check_store_format(settings.state_dir / TOKENS_DIR_NAME)
    secret = settings.store_key.get_secret_value() if settings.store_key is not None else None
    material = resolve_store_key(settings.state_dir, secret)
    store = FileTokenStore(settings.state_dir / TOKENS_DIR_NAME, material, clock, on_event=audit.store_event)
    store.check_key(material.source)  # a wrong key refuses to start; it never renames anything
    open_store_format(store.directory)  # a store from 0.1.0 (no marker) is format 1: mark it
    return store, material


class StoreLifecycle:
    """The store's start-up recovery and shutdown save, for one daemon's store, book and engine."""

    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        store: TokenStore,
        book: AccountBook,
        engine: RefreshEngine,
        key_material: KeyMaterial | None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._store = store
        self._book = book
        self._engine = engine
        self._key_material = key_material
        self._rescued: dict[str, TokenRecord] = {}  # what the rescue passes wrote: key -> record
        self._rescue: TokenStore | None = None

    async def recover(self) -> None:
        """Before anything reads the store: refreshes a crash cut short of their save (the journal), then
        records a full disk put aside at the last shutdown (the rescue store); each is scheduled again."""
        journal = self._engine.journal
        if journal is not None:
            journalled = await asyncio.to_thread(
                replay_journal, journal.path.parent, cast(KeyMaterial, self._key_material)
            )
            for record in await replay_refresh_journal(self._book, self._store, journalled):
                self._engine.schedule(record)
            journal.clear()
        rescue = self._rescue_store(create=False)
        if rescue is not None:
            for record in await recover_rescued(self._book, self._store, rescue):
                self._engine.schedule(record)

    async def rescue_now(self, deadline: float) -> None:
        """At SIGTERM, before anything else: every unsaved account into the rescue store, one pass."""
        await rescue_unsaved(self._book, self._rescue_store(create=True), deadline=deadline, rescued=self._rescued)

    async def forget(self, username: str) -> None:
        """Logout: a copy put in the rescue store (a full disk at an earlier stop) goes too."""
        rescue = self._rescue or self._rescue_store(create=False)
        self._rescued.pop(normalise_username(username), None)
        if rescue is not None:
            await rescue.delete(username)

    async def save_at_shutdown(self, deadline: float | None = None) -> list[str]:
        """Save what only memory holds (the rescue store first, then the store's own retries, all before
        ``deadline``); returns the accounts lost. The journal is cleared only when nothing was lost: it
        is the last copy of those refreshes."""
        lost = await flush_unsaved(
            self._book, self._store, self._rescue_store(create=True), deadline=deadline, rescued=self._rescued
        )
        journal = self._engine.journal
        if journal is not None:
            if not lost:
                journal.clear()  # every refresh is in its record file (or the rescue store)
            journal.close()
        return lost

    def _rescue_store(self, *, create: bool) -> TokenStore | None:
        if self._key_material is None or not isinstance(self._store, FileTokenStore):
            return None
        if create and self._rescue is not None:
            return self._rescue
        if create and not any(entry.unsaved for entry in self._book.entries()):
            return None
        directory = rescue_dir(self._settings.socket_path)
        store = open_rescue_store(directory, self._key_material, self._clock, create=create)
        if create:
            self._rescue = store
        return store
