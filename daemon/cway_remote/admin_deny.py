"""``cway-mcp serve admin deny|allow|denied``: the client deny list from the command line.

``deny --client C [--reason TEXT]`` records C as denied and revokes everything of it exactly as
``revoke --client`` does (:mod:`deny_list`); ``allow --client C`` lifts it; ``denied`` lists the
entries, one tab-separated line each (``client_id denied_at denied_by reason``), or ``--json``.
Exit status as for the other admin commands: 0 done, 1 nothing matched (``allow`` of an id that is
not denied, ``denied --client`` of one that is not), 2 usage (an empty or oversized client id or
reason), 3 database. The reason is operator text shown in the listing and the audit event
(``admin_denied``): one line, at most 200 characters; it is the operator's to keep free of secrets.
"""

from __future__ import annotations

import argparse
import json
import socket
from typing import Any

import asyncpg

from cway_auth_core import clean_text
from cway_contract import SYSTEM_CLOCK
from cway_remote.admin_db import AdminDb
from cway_remote.admin_output import counts, field, print_removed
from cway_remote.audit import AuditSink
from cway_remote.deny_list import MAX_CLIENT_ID, MAX_REASON, DeniedClient, DenyList

EXIT_OK, EXIT_NOTHING = 0, 1


def usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with a deny-list command's arguments (checked before any setting is read), or None."""
    if args.command not in ("deny", "allow", "denied"):
        return None
    client = args.client
    if client is not None and (
        not client or len(client) > MAX_CLIENT_ID or any(c.isspace() or not c.isprintable() for c in client)
    ):
        return f"--client must be a client id as listed: 1 to {MAX_CLIENT_ID} printable characters, no spaces"
    reason = getattr(args, "reason", None)
    if reason is not None and (not clean_text(reason, MAX_REASON + 1) or len(reason) > MAX_REASON):
        return f"--reason must be 1 to {MAX_REASON} characters"
    return None


def operator() -> str:
    """Who ran the command, for the listing: the login name on this machine (not authenticated)."""
    try:
        import getpass

        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return clean_text(f"{user}@{socket.gethostname()}", 120)


async def run_deny_command(args: argparse.Namespace, pool: asyncpg.Pool, admin: AdminDb, audit: AuditSink) -> int:
    deny_list = DenyList(pool)
    if args.command == "denied":
        entries = await deny_list.listing(args.client)
        _print_denied(entries, as_json=args.json)
        return EXIT_OK if entries or args.client is None else EXIT_NOTHING
    if args.command == "allow":
        lifted = await deny_list.allow(args.client)
        if lifted:
            audit.event("admin_allowed", client_id=args.client)
        if args.json:
            print(json.dumps({"allowed": args.client, "was_denied": lifted}, indent=2))
        else:
            print(f"allowed client {args.client}" if lifted else f"client {args.client} was not denied")
        return EXIT_OK if lifted else EXIT_NOTHING
    reason = clean_text(args.reason, MAX_REASON) if args.reason else None
    name = await admin.client_name(args.client)  # before the denial: a denied client's record is not read
    new, removed = await deny_list.deny(args.client, reason=reason, by=operator(), now=SYSTEM_CLOCK.now())
    audit.event("admin_denied", client_id=args.client, reason=reason, new=new, removed=counts(removed))
    if args.json:
        document: dict[str, Any] = {
            "denied": args.client,
            "client_name": name,
            "new": new,
            "reason": reason,
            "removed": counts(removed),
        }
        print(json.dumps(document, indent=2))
    else:
        verb = "denied" if new else "already denied"
        print_removed("client", args.client, removed, as_json=False, name=name, verb=verb)
    return EXIT_OK


def _print_denied(entries: list[DeniedClient], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"denied": [e.as_json() for e in entries]}, indent=2))
        return
    for e in entries:
        print("\t".join(field(v) for v in (e.client_id, e.denied_at, e.denied_by, e.reason)))
