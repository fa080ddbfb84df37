"""What ``cway-mcp serve admin`` prints: tab-separated lines for pipes (one record a line, ``-`` for
nothing, control characters in values flattened to spaces), or one JSON document with ``--json``. Counts and
names only: never a token, a code or a hash of one."""

from __future__ import annotations

import json
from typing import Any

from cway_remote.admin_db import Grant, Removed


def counts(removed: Removed) -> dict[str, Any]:
    return {
        "grants": removed.grants,
        "tokens": removed.tokens,
        "codes": removed.codes,
        "consents": removed.consents,
        "cway_record": removed.cway_record,
        "registration": removed.registration,
    }


def field(value: object) -> str:
    """One column: a client's name comes from its own metadata document, so every control character
    (a tab or newline that would shift columns, a terminal escape sequence) becomes a space."""
    if value is None:
        return "-"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "".join(c if c.isprintable() else " " for c in text) or "-"


def print_grants(grants: list[Grant], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"grants": [g.as_json() for g in grants]}, indent=2))
        return
    for g in grants:
        print("\t".join(field(v) for v in (g.user, g.client_id, g.client_name, g.created, g.last_used, g.expires)))


def print_removed(
    kind: str, target: str, removed: Removed, *, as_json: bool, name: str | None = None, verb: str | None = None
) -> None:
    if as_json:
        print(json.dumps({"revoked": kind, kind: target, "client_name": name, "removed": counts(removed)}, indent=2))
        return
    parts = [
        f"{removed.grants} grant(s) ({removed.tokens} token(s))",
        f"{removed.codes} unredeemed code(s)",
        f"{removed.consents} remembered consent(s)",
    ]
    if kind == "user":
        parts.append("stored Cway tokens deleted" if removed.cway_record else "no stored Cway tokens")
    else:
        parts.append("registration deleted" if removed.registration else "no registration")
    label = f"{target} ({field(name)})" if kind == "client" else target
    verb = verb or ("revoked" if removed.anything else "nothing to revoke for")
    print(f"{verb} {kind} {label}: " + ", ".join(parts))
