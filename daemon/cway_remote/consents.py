"""Remembered consent: a user's approval of one client, for one redirect URI and one set of scopes.

An approval on the consent page is remembered (``CWAY_MCP_CONSENT_DAYS``, 0 = never) under the
signed-in user's account key, the client id and a hash of exactly what was approved: the redirect
URI and the sorted scopes. The next authorization of the same client by the same user, to the same
redirect URI with the same scopes, skips the page; any change (another redirect URI, more or
other scopes) finds no row and asks again. An admin revocation of the user or of the client
deletes the rows (:mod:`cway_remote.admin_db`), so both are asked again.

A remembered consent is only ever looked up after the user has signed in with Entra (the account
key comes from Cway's own ``loginInfo``), never from anything the browser or the client says.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import asyncpg

from cway_remote.oauth_db import digest


def consent_hash(redirect_uri: str, scopes: Iterable[str]) -> str:
    return digest(redirect_uri + "\n" + " ".join(sorted(set(scopes))))


class ConsentDb:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def remember(
        self,
        *,
        subject: str,
        client_id: str,
        redirect_uri: str,
        scopes: list[str],
        now: datetime,
        lifetime: timedelta,
    ) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO oauth_consents (subject, client_id, request_hash, redirect_uri, scopes, granted_at, "
                "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subject, client_id, request_hash) "
                "DO UPDATE SET granted_at = EXCLUDED.granted_at, expires_at = EXCLUDED.expires_at",
                subject,
                client_id,
                consent_hash(redirect_uri, scopes),
                redirect_uri,
                sorted(set(scopes)),
                now,
                now + lifetime,
            )

    async def remembered(
        self, *, subject: str, client_id: str, redirect_uri: str, scopes: list[str], now: datetime
    ) -> bool:
        """An unexpired approval of exactly this request by this user."""
        async with self._pool.acquire() as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM oauth_consents WHERE subject = $1 AND client_id = $2 AND request_hash = $3 "
                "AND expires_at > $4",
                subject,
                client_id,
                consent_hash(redirect_uri, scopes),
                now,
            )
        return found is not None
