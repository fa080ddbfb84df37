"""Loading the stored accounts at start-up, in the background, after the socket already answers.

Why: with 10 000 stored accounts, reading and decrypting every record takes longer than the
whole rest of start-up, and nobody needs all of them at once. So the daemon starts serving
first and this loader fills the account book behind it, in one bulk read of the store. Until it
has finished, nothing may answer from an incomplete book:

* a bearer request for an account the book does not hold yet reads that one record from disk
  (the core's adopt-from-disk path) and does not wait for the rest;
* whatever needs the *whole* book waits for the loader: resolving "the only account" when no
  username is given, an e-mail alias (its index is built as records arrive), the account list,
  one account's status, a logout;
* the loader never overwrites what happened meanwhile: an account already in the book (signed
  in, adopted or refreshed since) keeps its newer record, and an account logged out while the
  loader ran is not brought back (:meth:`forget`). Putting a record is synchronous, so the check
  and the put cannot be interleaved with another request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from cway_authd.accounts import AccountBook
from cway_authd.store import TokenRecord, TokenStore

log = logging.getLogger(__name__)

YIELD_EVERY = 500


class AccountLoader:
    """Fills ``book`` from ``store`` once; ``on_loaded`` schedules each record it put."""

    def __init__(self, store: TokenStore, book: AccountBook, on_loaded: Callable[[TokenRecord], None]) -> None:
        self._store = store
        self._book = book
        self._on_loaded = on_loaded
        self._task: asyncio.Task[int] | None = None
        self._forgotten: set[str] = set()
        self.loaded = 0

    def start(self, when: asyncio.Event | None = None) -> asyncio.Task[int]:
        """Start loading (once ``when`` is set, if given); :attr:`loading` is true from now on."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(when), name="account-loader")
        return self._task

    @property
    def loading(self) -> bool:
        return self._task is not None and not self._task.done()

    async def wait(self) -> None:
        """Until every stored account is in the book (at once if loading is over or never started)."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def forget(self, key: str) -> None:
        """``key`` was logged out: a record the loader already read for it must not be put."""
        if self.loading:
            self._forgotten.add(key)

    async def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, when: asyncio.Event | None) -> int:
        if when is not None:
            await when.wait()
        started = time.perf_counter()
        records = await self._store.list()
        for index, record in enumerate(records):
            if index and not index % YIELD_EVERY:
                await asyncio.sleep(0)  # let requests in; each check-and-put below stays atomic
            key = record.normalised_username
            if key in self._forgotten or self._book.get(key) is not None:
                continue  # logged out, or already signed in / adopted / refreshed meanwhile: that one is newer
            self._book.put_record(record)
            self._on_loaded(record)
            self.loaded += 1
        self._forgotten.clear()
        log.info("loaded %d account(s) in %.2f s", self.loaded, time.perf_counter() - started)
        return self.loaded
