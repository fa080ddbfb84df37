"""Advisory locks that make an admin revocation and a token issue exclusive of each other.

Issuing a token pair (``OAuthDb.issue``) takes the *shared* lock of its user and of its client and
checks, inside that transaction, that the user's Cway record and the client's registration still
exist (and that the client is not denied). A revocation (:mod:`cway_remote.admin_db`; a denial,
:mod:`cway_remote.deny_list`, is one) takes the *exclusive* lock first, so it waits for
every issue in flight to commit and then deletes what they wrote, and every issue after it finds
the record or the registration gone and issues nothing. Without the lock an authorization code
redeemed while the revocation runs could leave a fresh grant behind (``READ COMMITTED`` lets a
``DELETE`` miss rows committed after its snapshot).

Locks are transaction-scoped (``pg_advisory_xact_lock*``): PostgreSQL releases them at commit,
rollback, or when the connection dies. Two names hashing alike only serialise a little more.
"""

from __future__ import annotations

from typing import Any

#: The advisory-lock class ids (first key) of the two kinds of lock; the second key is hashtext(name).
SUBJECT_LOCK = 0x0C3A7
CLIENT_LOCK = 0x0C3A8


async def lock_grant_shared(conn: Any, subject: str, client_id: str) -> None:
    """Both shared locks in one round trip (the existence check must be a later statement: its
    snapshot has to be taken after the locks are held)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared($1, hashtext($2)), pg_advisory_xact_lock_shared($3, hashtext($4))",
        SUBJECT_LOCK,
        subject,
        CLIENT_LOCK,
        client_id,
    )


async def lock_subject(conn: Any, subject: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", SUBJECT_LOCK, subject)


async def lock_client(conn: Any, client_id: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", CLIENT_LOCK, client_id)


async def grant_still_valid(conn: Any, subject: str, client_id: str) -> bool:
    """The user's Cway record and the client's registration both exist (neither was revoked) and the
    client is not on the deny list (``admin deny`` holds the exclusive client lock too)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM cway_accounts WHERE account_key = $1) "
            "AND EXISTS (SELECT 1 FROM oauth_clients WHERE client_id = $2) "
            "AND NOT EXISTS (SELECT 1 FROM oauth_denied_clients WHERE client_id = $2)",
            subject,
            client_id,
        )
    )
