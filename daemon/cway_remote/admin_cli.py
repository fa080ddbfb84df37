"""``cway-mcp serve admin``: list grants, cut off a user or a client, deny a client for good.

Run it with the replicas' settings (``CWAY_MCP_DATABASE_URL``, ``CWAY_MCP_STORE_KEY``, …); it
changes the shared database only, so the revocation holds on every replica at once. Output is for
pipes: one tab-separated line per grant (``user client_id client_name created last_used expires``),
one line per revocation, or ``--json``. Nothing printed or logged is a token, a code or a hash of
one. Exit status: 0 done, 1 nothing matched (no such grant, user or client), 2 usage or
configuration error, 3 the database cannot be used (or its schema is not this release's).
Every revocation is an audit event (``admin_revoked``) on stderr, like the server's. The deny list
(``deny``, ``allow``, ``denied``) is in :mod:`admin_deny`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import Any

from cway_remote.admin_db import AdminDb
from cway_remote.admin_output import counts, print_grants, print_removed

EXIT_OK, EXIT_NOTHING, EXIT_CONFIG, EXIT_DATABASE = 0, 1, 2, 3
_ACCOUNT = re.compile(r"^account:([0-9a-f]{64})$")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cway-mcp serve admin",
        description="List and revoke grants of the remote server, deny or allow clients (shared database).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    grants = commands.add_parser("grants", help="list live grants, one tab-separated line each")
    grants.add_argument("--user", help="only this user's grants (username, or account:<key> as listed)")
    grants.add_argument("--client", help="only this client's grants (client id)")
    grants.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    revoke = commands.add_parser("revoke", help="revoke every grant of one user or one client")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", help="the user: their server tokens, remembered consents and stored Cway tokens")
    target.add_argument("--client", help="the client: its tokens, remembered consents and its registration")
    revoke.add_argument("--json", action="store_true", help="one JSON document instead of a line")
    deny = commands.add_parser("deny", help="block a client for good (deny list) and revoke everything it holds")
    deny.add_argument("--client", required=True, help="the client id exactly as listed (a registered id or a URL)")
    deny.add_argument("--reason", help="why, for the listing and the audit log (one line, at most 200 characters)")
    deny.add_argument("--json", action="store_true", help="one JSON document instead of a line")
    allow = commands.add_parser("allow", help="lift a client's denial (it must authorize again)")
    allow.add_argument("--client", required=True, help="the client id exactly as denied")
    allow.add_argument("--json", action="store_true", help="one JSON document instead of a line")
    denied = commands.add_parser("denied", help="list denied clients, one tab-separated line each")
    denied.add_argument("--client", help="only this client id")
    denied.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    return parser.parse_args(argv)


def subject_of(user: str) -> str:
    from cway_remote.pg_store import account_key

    found = _ACCOUNT.match(user.strip())
    return found.group(1) if found else account_key(user)


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, a usage error 2
        return int(exc.code or 0)
    from cway_contract import ConfigError
    from cway_remote.admin_deny import usage_error
    from cway_remote.audit import configure_json_logging
    from cway_remote.settings import load_remote_settings

    problem = usage_error(args)
    if problem:
        print(f"cway-mcp serve admin: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        settings = load_remote_settings()
    except ConfigError as exc:
        print(f"cway-mcp serve admin: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_json_logging(settings.base.log_level)
    return asyncio.run(_run(settings, args))


async def _run(settings: Any, args: argparse.Namespace) -> int:
    import os
    import socket

    from cway_auth_core import resolve_store_key
    from cway_contract import SYSTEM_CLOCK
    from cway_remote import db
    from cway_remote.audit import JsonAudit
    from cway_remote.oauth_db import OAuthDb
    from cway_remote.pg_store import PgTokenStore

    base = settings.base
    try:
        keys = resolve_store_key(base.state_dir, base.store_key.get_secret_value() if base.store_key else None)
    except Exception as exc:  # a malformed key: say which setting, never its value
        print(f"cway-mcp serve admin: CWAY_MCP_STORE_KEY cannot be used ({type(exc).__name__})", file=sys.stderr)
        return EXIT_CONFIG
    try:
        pool = await db.create_pool(settings.database_url, max_size=2)
    except Exception as exc:  # asyncpg's errors are not all OSError; their text may hold the URL
        print(f"cway-mcp serve admin: cannot reach the database ({type(exc).__name__})", file=sys.stderr)
        return EXIT_DATABASE
    try:
        async with pool.acquire() as conn:
            version = await db.schema_version(conn)
        if version != db.CURRENT_VERSION:
            print(
                f"cway-mcp serve admin: the database schema is at version {version}, this release uses "
                f"{db.CURRENT_VERSION}; start a replica of this release first (it migrates)",
                file=sys.stderr,
            )
            return EXIT_DATABASE
        store = PgTokenStore(pool, keys, SYSTEM_CLOCK, due_at=lambda r: r.access_expires_at)
        admin = AdminDb(pool, OAuthDb(pool, keys), store)
        audit = JsonAudit(SYSTEM_CLOCK, f"admin@{socket.gethostname()}:{os.getpid()}")
        if args.command in ("deny", "allow", "denied"):
            from cway_remote.admin_deny import run_deny_command

            return await run_deny_command(args, pool, admin, audit)
        if args.command == "grants":
            subject = subject_of(args.user) if args.user else None
            found = await admin.grants(SYSTEM_CLOCK.now(), subject=subject, client_id=args.client)
            print_grants(found, as_json=args.json)
            return EXIT_OK if found or not (args.user or args.client) else EXIT_NOTHING
        if args.user:
            subject = subject_of(args.user)
            label = await admin.username(subject)
            removed = await admin.revoke_user(subject)
            audit.event(
                "admin_revoked", target="user", account=label, account_key=subject[:12], removed=counts(removed)
            )
            print_removed("user", label, removed, as_json=args.json)
        else:
            name = await admin.client_name(args.client)
            removed = await admin.revoke_client(args.client)
            audit.event("admin_revoked", target="client", client_id=args.client, removed=counts(removed))
            print_removed("client", args.client, removed, as_json=args.json, name=name)
        return EXIT_OK if removed.anything else EXIT_NOTHING
    except Exception as exc:
        print(f"cway-mcp serve admin: database error ({type(exc).__name__})", file=sys.stderr)
        return EXIT_DATABASE
    finally:
        await pool.close()
