"""The server's own OAuth state in PostgreSQL: clients, pending authorizations, codes and tokens.

Codes and tokens are random (256 bits) and stored only as SHA-256 hashes, so a database dump
holds nothing a client could present. Client records and pending authorizations are Fernet-
encrypted with the store key (a client secret; the Entra PKCE verifier). Every single-use thing
is consumed with ``DELETE … RETURNING`` or ``UPDATE … WHERE used_at IS NULL``, so two replicas
can never both redeem it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from cway_auth_core import MultiFernetProvider
from cway_remote.grant_locks import grant_still_valid, lock_grant_shared


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenRow:
    kind: str
    client_id: str
    subject: str
    scopes: list[str]
    resource: str | None
    family: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class IssuedPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime


class OAuthDb:
    def __init__(self, pool: asyncpg.Pool, keys: MultiFernetProvider) -> None:
        self._pool = pool
        self._keys = keys

    def _seal(self, data: dict[str, Any]) -> bytes:
        return self._keys.multifernet.encrypt(json.dumps(data, separators=(",", ":")).encode())

    def _open(self, raw: bytes) -> dict[str, Any]:
        data = json.loads(self._keys.multifernet.decrypt(bytes(raw)))
        assert isinstance(data, dict)
        return data

    # -- clients -------------------------------------------------------------------------------

    async def save_client(self, client_id: str, info: dict[str, Any], now: datetime) -> bool:
        """Store (or replace) a client record, unless the id is on the deny list (then False): a
        metadata document fetched while an operator denied its URL cannot come back as a cache entry."""
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "INSERT INTO oauth_clients (client_id, info, created_at) SELECT $1, $2, $3 "
                "WHERE NOT EXISTS (SELECT 1 FROM oauth_denied_clients WHERE client_id = $1) "
                "ON CONFLICT (client_id) DO UPDATE SET info = EXCLUDED.info",
                client_id,
                self._seal(info),
                now,
            )
        return not status.endswith(" 0")

    async def client(self, client_id: str) -> dict[str, Any] | None:
        info, _ = await self.client_state(client_id)
        return info

    async def client_state(self, client_id: str) -> tuple[dict[str, Any] | None, bool]:
        """The stored record (registration or cached metadata document) and whether the id is denied,
        in one round trip; a denied id's record is never returned (never opened)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT EXISTS (SELECT 1 FROM oauth_denied_clients WHERE client_id = $1) AS denied, "
                "(SELECT info FROM oauth_clients WHERE client_id = $1) AS info",
                client_id,
            )
        if row["denied"]:
            return None, True
        raw = row["info"]
        return (self._open(raw) if raw is not None else None), False

    # -- pending authorizations (between /authorize and the Entra callback) ---------------------

    async def add_pending(self, handle: str, payload: dict[str, Any], expires_at: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO oauth_pending (id_hash, payload, expires_at) VALUES ($1, $2, $3)",
                digest(handle),
                self._seal(payload),
                expires_at,
            )

    async def pending(self, handle: str, now: datetime) -> dict[str, Any] | None:
        async with self._pool.acquire() as conn:
            raw = await conn.fetchval(
                "SELECT payload FROM oauth_pending WHERE id_hash = $1 AND expires_at > $2 AND state_hash IS NULL",
                digest(handle),
                now,
            )
        return self._open(raw) if raw is not None else None

    async def update_pending(self, handle: str, payload: dict[str, Any], *, entra_state: str | None = None) -> bool:
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "UPDATE oauth_pending SET payload = $2, state_hash = $3 WHERE id_hash = $1 AND state_hash IS NULL",
                digest(handle),
                self._seal(payload),
                digest(entra_state) if entra_state else None,
            )
        return bool(status.endswith(" 1"))

    async def delete_pending(self, handle: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM oauth_pending WHERE id_hash = $1", digest(handle))

    async def take_pending(self, handle: str, now: datetime) -> dict[str, Any] | None:
        """A pending authorization consumed by its handle (the consent page's answer: single use)."""
        async with self._pool.acquire() as conn:
            raw = await conn.fetchval(
                "DELETE FROM oauth_pending WHERE id_hash = $1 AND expires_at > $2 AND state_hash IS NULL "
                "RETURNING payload",
                digest(handle),
                now,
            )
        return self._open(raw) if raw is not None else None

    async def take_pending_by_state(self, entra_state: str, now: datetime) -> dict[str, Any] | None:
        """The authorization an Entra callback belongs to, consumed (single use on every replica)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "DELETE FROM oauth_pending WHERE state_hash = $1 RETURNING payload, expires_at > $2 AS live",
                digest(entra_state),
                now,
            )
        if row is None or not row["live"]:
            return None
        return self._open(row["payload"])

    # -- authorization codes --------------------------------------------------------------------

    async def add_code(
        self, code: str, client_id: str, subject: str, payload: dict[str, Any], expires_at: datetime
    ) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO oauth_codes (code_hash, client_id, subject, payload, expires_at) VALUES ($1, $2, $3, $4, $5)",
                digest(code),
                client_id,
                subject,
                json.dumps(payload),
                expires_at,
            )

    async def code(self, code: str, client_id: str, now: datetime) -> tuple[str, dict[str, Any], datetime] | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT subject, payload, expires_at FROM oauth_codes "
                "WHERE code_hash = $1 AND client_id = $2 AND expires_at > $3",
                digest(code),
                client_id,
                now,
            )
        if row is None:
            return None
        return row["subject"], json.loads(row["payload"]), row["expires_at"]

    async def take_code(self, code: str, client_id: str) -> bool:
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "DELETE FROM oauth_codes WHERE code_hash = $1 AND client_id = $2", digest(code), client_id
            )
        return bool(status.endswith(" 1"))

    # -- tokens ---------------------------------------------------------------------------------

    async def issue(
        self,
        *,
        client_id: str,
        subject: str,
        scopes: list[str],
        resource: str | None,
        family: str,
        now: datetime,
        access_lifetime: timedelta,
        refresh_lifetime: timedelta,
        rotating: str | None = None,
    ) -> IssuedPair | None:
        """A new access + refresh token pair; with ``rotating``, only if that refresh token was unused
        (consumed in the same transaction). None when it had been used already, or when the user's
        Cway record or the client's registration is gone (revoked: see :mod:`grant_locks`)."""
        pair = IssuedPair(new_secret("cwm_at_"), new_secret("cwm_rt_"), now + access_lifetime)
        insert = (
            "INSERT INTO oauth_tokens (token_hash, kind, client_id, subject, scopes, resource, family, expires_at, "
            "granted_at, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await lock_grant_shared(conn, subject, client_id)
            if not await grant_still_valid(conn, subject, client_id):
                return None
            granted_at = now
            if rotating is not None:
                row = await conn.fetchrow(
                    "UPDATE oauth_tokens SET used_at = $2 WHERE token_hash = $1 AND kind = 'refresh' "
                    "AND used_at IS NULL RETURNING granted_at",
                    digest(rotating),
                    now,
                )
                if row is None:
                    return None
                granted_at = row["granted_at"] or now
                # the access tokens issued from the used refresh token stay valid until they expire
            await conn.execute(
                insert,
                digest(pair.access_token),
                "access",
                client_id,
                subject,
                scopes,
                resource,
                family,
                now + access_lifetime,
                granted_at,
                now,
            )
            await conn.execute(
                insert,
                digest(pair.refresh_token),
                "refresh",
                client_id,
                subject,
                scopes,
                resource,
                family,
                now + refresh_lifetime,
                granted_at,
                now,
            )
        return pair

    async def token(self, token: str) -> TokenRow | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT kind, client_id, subject, scopes, resource, family, expires_at, used_at "
                "FROM oauth_tokens WHERE token_hash = $1",
                digest(token),
            )
        if row is None:
            return None
        return TokenRow(
            kind=row["kind"],
            client_id=row["client_id"],
            subject=row["subject"],
            scopes=list(row["scopes"]),
            resource=row["resource"],
            family=row["family"],
            expires_at=row["expires_at"],
            used_at=row["used_at"],
        )

    async def revoke_family(self, family: str) -> int:
        async with self._pool.acquire() as conn:
            status = await conn.execute("DELETE FROM oauth_tokens WHERE family = $1", family)
        return int(status.split()[-1])

    async def revoke_subject(self, subject: str) -> int:
        async with self._pool.acquire() as conn:
            status = await conn.execute("DELETE FROM oauth_tokens WHERE subject = $1", subject)
        return int(status.split()[-1])

    async def purge_expired(self, now: datetime) -> None:
        """Housekeeping any replica may run: expired tokens, codes, pending authorizations, consents."""
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM oauth_tokens WHERE expires_at < $1", now)
            await conn.execute("DELETE FROM oauth_codes WHERE expires_at < $1", now)
            await conn.execute("DELETE FROM oauth_pending WHERE expires_at < $1", now)
            await conn.execute("DELETE FROM oauth_consents WHERE expires_at < $1", now)
