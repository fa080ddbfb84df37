"""Exceptions raised by the token store.

Every message is written for the person running the daemon: it names the path or setting
involved and the fix. None of them ever carries a token, a key or file content, because these
messages end up in logs, health responses and CLI output.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class so callers can catch every token-store failure in one place."""


class StorePermissionError(StoreError):
    """A directory or file is owned by someone else or readable by group/others.

    Raised instead of silently fixing modes (ssh-agent style): a wrong mode on an existing
    path means something outside our control touched it, and the operator should look.
    """


class KeyConfigError(StoreError):
    """The encryption key could not be obtained or is malformed."""


class StoreLockedError(StoreError):
    """Another daemon process already holds the state directory."""


class KeyRotationError(StoreError):
    """A key rotation could not be started or could not complete."""
