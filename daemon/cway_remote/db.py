"""The PostgreSQL connection pool and the versioned schema migrations.

Every replica runs :func:`migrate` at start-up. The migrations run inside one transaction that
first takes a transaction-scoped advisory lock, so replicas starting together apply each
version exactly once (the others wait, then find it applied). A version, once released, is
never edited: a change is a new entry in :data:`MIGRATIONS`.

What is stored where (nothing secret in clear; usernames only as hashes):

* ``cway_accounts``: per-user Cway tokens, the file store's Fernet-encrypted record format, keyed
  by ``sha256(normalised username)`` like the file store's file names, with the refresh due
  time in clear so replicas can share out scheduled refreshes.
* ``oauth_clients``: registered MCP clients (the record is Fernet-encrypted: it may hold a secret).
* ``oauth_pending``: authorization requests between ``/authorize`` and the Entra callback
  (encrypted: they hold the Entra PKCE verifier and, between the sign-in and the consent page's
  answer, the user's new Cway tokens), keyed by hashes of their handles.
* ``oauth_codes`` / ``oauth_tokens``: the server's own codes and tokens, stored as SHA-256 hashes;
  ``granted_at`` (the sign-in that started the token family) and ``issued_at`` for the admin listing.
* ``oauth_consents``: remembered approvals per (user, client, redirect URI, scopes), with an expiry
  (:mod:`cway_remote.consents`).
* Triggers on ``oauth_tokens`` and ``cway_accounts`` ``NOTIFY cway_mcp_changed`` on every UPDATE
  or DELETE, so each replica's read caches drop what changed (:mod:`cway_remote.read_cache`).
* ``oauth_denied_clients``: client ids an operator blocked (``cway-mcp serve admin deny``), with who,
  when and why; checked before any client lookup or metadata fetch (:mod:`cway_remote.deny_list`).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from cway_remote.read_cache import TRIGGERS_SQL

log = logging.getLogger(__name__)

#: Any 64-bit number unique to this application: the lock that serialises migrations.
MIGRATION_LOCK_ID = 0x0C3A7_0001

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "accounts, clients, pending authorizations, codes and tokens",
        """
        CREATE TABLE cway_accounts (
            account_key     text PRIMARY KEY,
            record          bytea NOT NULL,
            refresh_due_at  timestamptz NOT NULL,
            updated_at      timestamptz NOT NULL
        );
        CREATE INDEX cway_accounts_due ON cway_accounts (refresh_due_at);

        CREATE TABLE oauth_clients (
            client_id   text PRIMARY KEY,
            info        bytea NOT NULL,
            created_at  timestamptz NOT NULL
        );

        CREATE TABLE oauth_pending (
            id_hash     text PRIMARY KEY,
            state_hash  text UNIQUE,
            payload     bytea NOT NULL,
            expires_at  timestamptz NOT NULL
        );
        CREATE INDEX oauth_pending_expiry ON oauth_pending (expires_at);

        CREATE TABLE oauth_codes (
            code_hash   text PRIMARY KEY,
            client_id   text NOT NULL,
            subject     text NOT NULL,
            payload     jsonb NOT NULL,
            expires_at  timestamptz NOT NULL
        );

        CREATE TABLE oauth_tokens (
            token_hash  text PRIMARY KEY,
            kind        text NOT NULL CHECK (kind IN ('access', 'refresh')),
            client_id   text NOT NULL,
            subject     text NOT NULL,
            scopes      text[] NOT NULL,
            resource    text,
            family      text NOT NULL,
            expires_at  timestamptz NOT NULL,
            used_at     timestamptz
        );
        CREATE INDEX oauth_tokens_family ON oauth_tokens (family);
        CREATE INDEX oauth_tokens_subject ON oauth_tokens (subject);
        CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);
        """,
    ),
    (
        2,
        "grant times on tokens (admin listing); remembered consents",
        """
        ALTER TABLE oauth_tokens ADD COLUMN granted_at timestamptz;
        ALTER TABLE oauth_tokens ADD COLUMN issued_at timestamptz;
        CREATE INDEX oauth_tokens_client ON oauth_tokens (client_id);

        CREATE TABLE oauth_consents (
            subject       text NOT NULL,
            client_id     text NOT NULL,
            request_hash  text NOT NULL,
            redirect_uri  text NOT NULL,
            scopes        text[] NOT NULL,
            granted_at    timestamptz NOT NULL,
            expires_at    timestamptz NOT NULL,
            PRIMARY KEY (subject, client_id, request_hash)
        );
        CREATE INDEX oauth_consents_client ON oauth_consents (client_id);
        """,
    ),
    (
        3,
        "client deny list (admin deny/allow)",
        """
        CREATE TABLE oauth_denied_clients (
            client_id  text PRIMARY KEY,
            reason     text,
            denied_by  text NOT NULL,
            denied_at  timestamptz NOT NULL
        );
        """,
    ),
    (4, "notify replicas of token and account changes (per-replica read caches)", TRIGGERS_SQL),
)

CURRENT_VERSION = MIGRATIONS[-1][0]


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """One pool per process. ``statement_cache_size=0`` keeps it safe behind PgBouncer (transaction mode)."""
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, statement_cache_size=0, command_timeout=30
    )
    assert pool is not None
    return pool


async def migrate(pool: asyncpg.Pool) -> int:
    """Apply every migration not yet applied; returns the schema version now in force."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS cway_schema_migrations ("
            " version integer PRIMARY KEY, description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {row["version"] for row in await conn.fetch("SELECT version FROM cway_schema_migrations")}
        newer = [v for v in applied if v > CURRENT_VERSION]
        if newer:
            raise RuntimeError(
                f"the database schema is at version {max(newer)}, newer than this release knows "
                f"({CURRENT_VERSION}); upgrade cway-mcp before starting it against this database"
            )
        for version, description, sql in MIGRATIONS:
            if version in applied:
                continue
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO cway_schema_migrations (version, description) VALUES ($1, $2)", version, description
            )
            log.info("database schema migrated to version %d (%s)", version, description)
    return CURRENT_VERSION


async def schema_version(conn: Any) -> int | None:
    """The highest applied migration, or None on a database never migrated (readiness check)."""
    exists = await conn.fetchval("SELECT to_regclass('cway_schema_migrations') IS NOT NULL")
    if not exists:
        return None
    value = await conn.fetchval("SELECT max(version) FROM cway_schema_migrations")
    return int(value) if value is not None else None
