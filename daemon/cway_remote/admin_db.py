"""What ``cway-mcp serve admin`` reads and deletes: grants, and everything that lets a user or a client in.

A *grant* is one token family: the access and refresh tokens that descend from one sign-in of one
user through one client (refresh rotates within the family). Listing shows who, which client, when
granted, when last used (the last token issued in the family: a sign-in or a refresh, so accurate
to the access-token lifetime) and when the live refresh token expires; never a token or a hash.

Revoking a user deletes, in one transaction under the user's exclusive grant lock
(:mod:`grant_locks`): the stored Cway record (so no replica can act as them), every server token,
unredeemed authorization codes and remembered consents. Revoking a client deletes its registration
(a dynamically registered client must register again), every token and code issued to it and its
remembered consents. Access tokens are looked up in the database on every request, with no cache
in any replica, so a deleted token is refused everywhere on its next use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import asyncpg

from cway_remote.grant_locks import lock_client, lock_subject
from cway_remote.oauth_db import OAuthDb
from cway_remote.pg_store import PgTokenStore


@dataclass(frozen=True)
class Grant:
    user: str  # the username, or ``account:<key>`` when no Cway record names it any more
    client_id: str
    client_name: str | None
    created: datetime | None
    last_used: datetime | None
    expires: datetime | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("created", "last_used", "expires"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


@dataclass(frozen=True)
class Removed:
    """What one revocation deleted (counts only)."""

    grants: int = 0
    tokens: int = 0
    codes: int = 0
    consents: int = 0
    cway_record: bool = False
    registration: bool = False

    @property
    def anything(self) -> bool:
        return bool(self.grants or self.tokens or self.codes or self.consents or self.cway_record or self.registration)


def _count(status: str) -> int:
    return int(status.split()[-1])


class AdminDb:
    def __init__(self, pool: asyncpg.Pool, oauth: OAuthDb, store: PgTokenStore) -> None:
        self._pool = pool
        self._oauth = oauth
        self._store = store

    async def grants(self, now: datetime, *, subject: str | None = None, client_id: str | None = None) -> list[Grant]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT subject, client_id, min(granted_at) AS created, max(issued_at) AS last_used, "
                "max(expires_at) FILTER (WHERE kind = 'refresh' AND used_at IS NULL) AS expires "
                "FROM oauth_tokens WHERE ($1::text IS NULL OR subject = $1) AND ($2::text IS NULL OR client_id = $2) "
                "GROUP BY subject, client_id, family "
                "HAVING bool_or(kind = 'refresh' AND used_at IS NULL AND expires_at > $3) "
                "ORDER BY created NULLS FIRST, client_id",
                subject,
                client_id,
                now,
            )
        users = {key: await self.username(key) for key in {row["subject"] for row in rows}}
        names = {cid: await self.client_name(cid) for cid in {row["client_id"] for row in rows}}
        return [
            Grant(
                user=users[row["subject"]],
                client_id=row["client_id"],
                client_name=names[row["client_id"]],
                created=row["created"],
                last_used=row["last_used"],
                expires=row["expires"],
            )
            for row in rows
        ]

    async def username(self, key: str) -> str:
        record = await self._store.load_key(key)
        return record.username if record is not None else f"account:{key}"

    async def client_name(self, client_id: str) -> str | None:
        try:
            info = await self._oauth.client(client_id)
        except Exception:  # unreadable with these keys: the id is still shown
            return None
        name = info.get("client_name") if info else None
        return str(name) if name else None

    async def client_known(self, client_id: str) -> bool:
        async with self._pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT 1 FROM oauth_clients WHERE client_id = $1", client_id))

    async def revoke_user(self, subject: str) -> Removed:
        async with self._pool.acquire() as conn, conn.transaction():
            await lock_subject(conn, subject)
            # waits for a refresh in flight on any replica (it holds the row FOR UPDATE), then deletes
            record = _count(await conn.execute("DELETE FROM cway_accounts WHERE account_key = $1", subject))
            grants = await conn.fetchval("SELECT count(DISTINCT family) FROM oauth_tokens WHERE subject = $1", subject)
            tokens = _count(await conn.execute("DELETE FROM oauth_tokens WHERE subject = $1", subject))
            codes = _count(await conn.execute("DELETE FROM oauth_codes WHERE subject = $1", subject))
            consents = _count(await conn.execute("DELETE FROM oauth_consents WHERE subject = $1", subject))
        return Removed(grants=grants, tokens=tokens, codes=codes, consents=consents, cway_record=record > 0)

    async def revoke_client(self, client_id: str) -> Removed:
        async with self._pool.acquire() as conn, conn.transaction():
            await lock_client(conn, client_id)
            return await revoke_client_locked(conn, client_id)


async def revoke_client_locked(conn: Any, client_id: str) -> Removed:
    """Everything of one client, inside the caller's transaction that holds its exclusive client lock
    (``admin revoke --client``, and ``admin deny`` after it recorded the denial)."""
    registration = _count(await conn.execute("DELETE FROM oauth_clients WHERE client_id = $1", client_id))
    grants = await conn.fetchval("SELECT count(DISTINCT family) FROM oauth_tokens WHERE client_id = $1", client_id)
    tokens = _count(await conn.execute("DELETE FROM oauth_tokens WHERE client_id = $1", client_id))
    codes = _count(await conn.execute("DELETE FROM oauth_codes WHERE client_id = $1", client_id))
    consents = _count(await conn.execute("DELETE FROM oauth_consents WHERE client_id = $1", client_id))
    return Removed(grants=grants, tokens=tokens, codes=codes, consents=consents, registration=registration > 0)
