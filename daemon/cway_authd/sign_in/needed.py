"""Accounts that need a sign-in stay listed, across restarts, until the user signs in or logs out.

Why a file: when a refresh token dies (``invalid_grant``, ``interaction_required`` …) the engine
deletes the account's tokens, which are worthless now. Before this list the only trace was an
in-memory tombstone, so after a restart the account answered ``not_signed_in`` and vanished
from ``cway-auth status``: the user was never told that a sign-in was needed, nor why. So each
such account is written here with its reason and its last good expiry, and loaded back into the
account book at start-up as a tombstone. A new sign-in (``adopt``) or a logout removes it.

The file holds no secret (usernames, reasons, times), is private (0600) like everything in the
state dir, and is replaced atomically (:func:`~cway_auth_core.atomic.atomic_write`) under one
asyncio lock so two concurrent updates cannot lose each other. A write that fails (a full disk)
is logged and retried with the next change: the in-memory tombstone still says "needs sign-in".
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cway_auth_core import atomic_write
from cway_authd.store import normalise_username
from cway_authd.store.durability import describe_save_error

log = logging.getLogger(__name__)

FILE_NAME = "sign-in-needed.json"


@dataclass(frozen=True)
class SignInNeed:
    username: str
    reason: str
    since: datetime
    last_expiry: datetime | None


class SignInNeededList:
    """``key → SignInNeed``, mirrored to ``<state>/sign-in-needed.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._items: dict[str, SignInNeed] = {}
        self._lock = asyncio.Lock()

    def load(self) -> list[SignInNeed]:
        """Read the file (start-up); an unreadable file is logged and treated as empty."""
        try:
            raw = json.loads(self.path.read_bytes())
            items = {
                normalise_username(row["username"]): SignInNeed(
                    username=row["username"],
                    reason=str(row["reason"]),
                    since=datetime.fromisoformat(row["since"]),
                    last_expiry=datetime.fromisoformat(row["last_expiry"]) if row.get("last_expiry") else None,
                )
                for row in raw["accounts"]
            }
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("cannot read %s (%s): accounts needing a sign-in are not listed", self.path, type(exc).__name__)
            return []
        self._items = items
        return list(items.values())

    def __contains__(self, key: str) -> bool:
        return key in self._items

    async def mark(self, need: SignInNeed) -> None:
        self._items[normalise_username(need.username)] = need
        await self._write()

    async def clear(self, key: str) -> None:
        if self._items.pop(key, None) is not None:
            await self._write()

    async def _write(self) -> None:
        async with self._lock:
            rows = [
                {
                    "username": n.username,
                    "reason": n.reason,
                    "since": n.since.isoformat(),
                    "last_expiry": n.last_expiry.isoformat() if n.last_expiry else None,
                }
                for n in self._items.values()
            ]
            data = json.dumps({"accounts": rows}, indent=1).encode()
            try:
                await asyncio.to_thread(atomic_write, self.path, data)
            except OSError as exc:
                log.error("could not write %s: %s", self.path.name, describe_save_error(exc))
