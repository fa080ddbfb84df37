"""The client deny list: client ids an operator blocked for good (``cway-mcp serve admin deny``).

``admin revoke --client`` only forgets a client; a Client ID Metadata Document client comes straight
back on its next request (the server fetches its document again). A denied id stays refused until
an operator allows it again:

* :meth:`DenyList.deny` records the id (who, when, a bounded reason) and revokes everything of the
  client (:func:`admin_db.revoke_client_locked`: tokens, codes, remembered consents, its
  registration or cached document) in one transaction under the client's exclusive grant lock, so
  a token issue in flight on any replica either commits before it (and is deleted) or finds the
  client denied afterwards (:func:`grant_locks.grant_still_valid`) and issues nothing.
* Every replica reads the list in the same query as the client record
  (:meth:`OAuthDb.client_state`), before a cached document is used or a document is fetched, and
  a fetched document is never cached for a denied id (:meth:`OAuthDb.save_client`).

Ids are compared exactly, as the rest of the server identifies clients (the metadata document must
name its own URL character for character): ``https://a.example/c.json`` and
``https://a.example/c.json?x`` are two clients, and each needs its own entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from cway_remote.admin_db import Removed, revoke_client_locked
from cway_remote.grant_locks import lock_client

MAX_REASON = 200
MAX_CLIENT_ID = 2048


@dataclass(frozen=True)
class DeniedClient:
    client_id: str
    reason: str | None
    denied_by: str
    denied_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "reason": self.reason,
            "denied_by": self.denied_by,
            "denied_at": self.denied_at.isoformat(),
        }


class DenyList:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def deny(self, client_id: str, *, reason: str | None, by: str, now: datetime) -> tuple[bool, Removed]:
        """Record the denial (True when new; an existing entry keeps its time, takes the new reason if
        one is given) and revoke everything the client holds."""
        async with self._pool.acquire() as conn, conn.transaction():
            await lock_client(conn, client_id)
            new = await conn.fetchval(
                "INSERT INTO oauth_denied_clients (client_id, reason, denied_by, denied_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (client_id) DO UPDATE SET reason = COALESCE(EXCLUDED.reason, oauth_denied_clients.reason) "
                "RETURNING xmax = 0",
                client_id,
                reason,
                by,
                now,
            )
            removed = await revoke_client_locked(conn, client_id)
        return bool(new), removed

    async def allow(self, client_id: str) -> bool:
        """Lift a denial; False when the id was not denied. The client starts from nothing (its
        grants were revoked): a metadata-document client is fetched again on its next request."""
        async with self._pool.acquire() as conn:
            status = await conn.execute("DELETE FROM oauth_denied_clients WHERE client_id = $1", client_id)
        return not status.endswith(" 0")

    async def listing(self, client_id: str | None = None) -> list[DeniedClient]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT client_id, reason, denied_by, denied_at FROM oauth_denied_clients "
                "WHERE ($1::text IS NULL OR client_id = $1) ORDER BY denied_at, client_id",
                client_id,
            )
        return [DeniedClient(r["client_id"], r["reason"], r["denied_by"], r["denied_at"]) for r in rows]
