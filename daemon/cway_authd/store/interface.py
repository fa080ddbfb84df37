"""The storage interface the refresh engine codes against.

Kept as a ``Protocol`` so a PostgreSQL/Redis backend can replace the file store without the
engine changing. Contract for implementations:

* ``load`` returns None both for "never signed in" and for "record unreadable" – either way
  the user must sign in again; unreadable records are preserved and reported, not raised.
* ``save``/``delete`` are individually atomic; they do **not** take ``lock(username)``
  themselves (asyncio locks are not re-entrant). Callers doing read-modify-write – a refresh –
  hold ``async with store.lock(username):`` around load → refresh → save.
* ``lock`` returns the same ``asyncio.Lock`` for every spelling of one account
  ("Alice@X " and "alice@x") and different locks for different accounts.
"""

from __future__ import annotations

import asyncio
import builtins
from typing import Protocol, runtime_checkable

from cway_auth_core import TokenRecord


@runtime_checkable
class TokenStore(Protocol):
    async def load(self, username: str) -> TokenRecord | None: ...

    async def save(self, record: TokenRecord) -> None: ...

    async def delete(self, username: str) -> bool: ...

    async def list(self) -> builtins.list[TokenRecord]: ...

    def lock(self, username: str) -> asyncio.Lock: ...
