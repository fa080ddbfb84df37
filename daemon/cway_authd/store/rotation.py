"""Key rotation: new key first, re-encrypt everything, and only then forget the old keys.

The ordering is what makes a failure harmless: the new key is persisted *before* any record
is rewritten, and old keys are removed only *after* every record has been rewritten, so at
every instant each record on disk decrypts with some key in storage.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from cryptography.fernet import Fernet

from cway_auth_core import ENV_KEY_NOT_ROTATABLE, KeyMaterial, KeyRotationError, ReencryptResult

log = logging.getLogger(__name__)


class ReencryptableStore(Protocol):
    async def reencrypt_all(self) -> ReencryptResult: ...


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    set_aside: int
    retired_keys: int
    source: str


async def rotate_key(store: ReencryptableStore, key_material: KeyMaterial) -> RotationReport:
    """Rotate the store key. On failure midway, old and new keys both stay (every record reads)
    and ``KeyRotationError`` is raised; running the rotation again finishes the job."""
    if not key_material.can_rotate:
        raise KeyRotationError(ENV_KEY_NOT_ROTATABLE)
    try:
        key_material.add_primary_key(Fernet.generate_key())
    except Exception as exc:
        raise KeyRotationError(
            f"could not store the new key in {key_material.source} ({type(exc).__name__}); nothing changed"
        ) from exc
    try:
        result = await store.reencrypt_all()
    except Exception as exc:
        raise KeyRotationError(
            f"re-encryption stopped ({type(exc).__name__}); old and new keys are both kept in "
            f"{key_material.source}, so every record is still readable – run the rotation again"
        ) from exc
    try:
        retired = key_material.retire_all_but_primary()
    except Exception as exc:
        raise KeyRotationError(
            f"records are re-encrypted but the old key(s) could not be removed from "
            f"{key_material.source} ({type(exc).__name__}); run the rotation again"
        ) from exc
    report = RotationReport(
        rotated=result.rotated, set_aside=result.set_aside, retired_keys=retired, source=key_material.source
    )
    log.info(
        "rotated the token store key in %s: %d record(s) re-encrypted, %d set aside, %d old key(s) retired",
        report.source,
        report.rotated,
        report.set_aside,
        report.retired_keys,
    )
    return report


class KeyRotator:
    """Runs :func:`rotate_key` for the daemon: one rotation at a time, each in its own shielded task.

    ``rotate_key`` takes each account's lock in turn, so it must run with no account lock held:
    it runs in its own task (never inside a refresh or a sign-in), one rotation at a time, and is
    shielded from the caller so a client that goes away cannot stop it halfway. Refreshes and
    sign-ins carry on meanwhile; the new key is added (and saved) first, so whatever they save
    from then on is encrypted with it, and the store lists the files only after that (see
    ``FileTokenStore._write``), so no record is left under a key that is then retired.
    """

    def __init__(self, store: ReencryptableStore, material: KeyMaterial) -> None:
        self.store = store
        self.material = material
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Task[RotationReport]] = set()

    async def rotate(self) -> RotationReport:
        """Rotate now (after any rotation already running); raises :class:`KeyRotationError`."""
        task = asyncio.create_task(self._one_at_a_time())
        self._running.add(task)
        task.add_done_callback(self._done)
        return await asyncio.shield(task)

    async def drain(self, grace_seconds: float) -> None:
        """Let a running rotation finish (stopped midway it is harmless, but must be run again)."""
        if not self._running:
            return
        _done, pending = await asyncio.wait(set(self._running), timeout=grace_seconds)
        for task in pending:
            task.cancel()

    async def _one_at_a_time(self) -> RotationReport:
        # The lock is taken inside the shielded task: a caller that gives up while waiting must not let
        # a second rotation start beside this one (it would retire the key this one re-encrypts with).
        async with self._lock:
            return await rotate_key(self.store, self.material)

    def _done(self, task: asyncio.Task[RotationReport]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # mark retrieved: a caller that went away must not cause a warning


def rotation_message(report: RotationReport) -> str:
    """One line for the owner, e.g. "Re-encrypted 3 account(s) under a new key; retired 1 old key (key file …)"."""
    parts = [f"Re-encrypted {report.rotated} account(s) under a new key"]
    plural = "key" if report.retired_keys == 1 else "keys"
    parts.append(f"retired {report.retired_keys} old {plural}")
    if report.set_aside:
        parts.append(f"set aside {report.set_aside} unreadable file(s) (those accounts must sign in again)")
    return "; ".join(parts) + f" ({describe_key_source(report.source)})"


def describe_key_source(source: str) -> str:
    """``key-file:/p`` → ``key file /p``; ``keyring:Backend`` → ``OS keyring Backend``."""
    kind, _, where = source.partition(":")
    if kind == "key-file" and where:
        return f"key file {where}"
    if kind == "keyring" and where:
        return f"OS keyring {where}"
    return source
