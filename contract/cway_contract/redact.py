"""How secrets are shown, when they must be mentioned at all: never the value itself."""

from __future__ import annotations

import hashlib


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible tag: enough to correlate audit lines, useless to an attacker."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def mask(secret: str | None) -> str:
    """For CLI output: shape and length only."""
    if not secret:
        return "(none)"
    return f"{secret[:4]}…({len(secret)} chars)" if len(secret) >= 16 else f"…({len(secret)} chars)"
