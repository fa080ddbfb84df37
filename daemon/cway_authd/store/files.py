"""``FileTokenStore``: one Fernet-encrypted file per account in a private directory.

Layout: ``<directory>/<sha256(normalised username)>.token`` (0600, dir 0700). Temp files
(``.<name>.tmp-*``) and set-aside files (``<name>.corrupt-<UTC>``) never match the record
pattern, so readers ignore them.

Blocking file I/O runs in ``asyncio.to_thread``. A ``threading.Lock`` (held only inside the
worker thread, never across an ``await``) serialises renames, so a load that finds a corrupt
file cannot move aside a good record that a concurrent save has just put in its place.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import builtins
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import InvalidToken

from cway_auth_core import (
    KeyConfigError,
    MultiFernetProvider,
    RecordFormatError,
    ReencryptResult,
    StoreError,
    TokenRecord,
    atomic_write,
    commit_temp,
    discard_temp,
    ensure_private_dir,
    fsync_dir,
    is_record_file_name,
    is_temp_name,
    read_private_file,
    record_file_name,
    write_temp,
)
from cway_contract import Clock

log = logging.getLogger(__name__)

EVENT_FILE_SET_ASIDE = "store_file_set_aside"
MAX_RECORD_BYTES = 256 * 1024
STALE_TEMP_SECONDS = 300.0

EventCallback = Callable[[str, dict[str, str]], None]


@dataclass
class _ReadOutcome:
    records: list[TokenRecord] = field(default_factory=list)
    set_aside: list[tuple[str, str, str]] = field(default_factory=list)  # (file, reason, moved_to)
    undecryptable: list[str] = field(default_factory=list)  # left in place: the right key brings them back
    newer: list[str] = field(default_factory=list)  # left in place: a newer release wrote them


class FileTokenStore:
    """File-backed ``TokenStore``; see module docstring for the layout and concurrency rules."""

    def __init__(
        self,
        directory: Path,
        keys: MultiFernetProvider,
        clock: Clock,
        on_event: EventCallback | None = None,
    ) -> None:
        self.directory = ensure_private_dir(Path(directory))
        self._keys = keys
        self._clock = clock
        self._on_event = on_event
        self._locks: dict[str, asyncio.Lock] = {}
        self._io_lock = threading.Lock()
        #: What the last listing found wrong, one line each, for ``status`` (never tokens, only file names).
        self.problems: builtins.list[str] = []
        self.remove_stale_temp_files()

    def __repr__(self) -> str:
        return f"FileTokenStore(directory={str(self.directory)!r})"

    # -- public API --------------------------------------------------------------------

    def lock(self, username: str) -> asyncio.Lock:
        return self._lock_for_file(record_file_name(username))

    async def load(self, username: str) -> TokenRecord | None:
        name = record_file_name(username)
        outcome = await asyncio.to_thread(self._read_record, name)
        self._report(outcome)
        return outcome.records[0] if outcome.records else None

    async def save(self, record: TokenRecord) -> None:
        # Encrypted in the worker, under the I/O lock, with the keys current *then* (see _write).
        await asyncio.to_thread(self._write, record.file_name, record.to_json_bytes())

    async def delete(self, username: str) -> bool:
        return await asyncio.to_thread(self._delete, record_file_name(username))

    async def list(self) -> builtins.list[TokenRecord]:
        outcome = await asyncio.to_thread(self._read_all)
        self._report(outcome)
        return sorted(outcome.records, key=lambda r: r.normalised_username)

    async def reencrypt_all(self) -> ReencryptResult:
        """Re-encrypt every record with the current primary key (for key rotation).

        Takes each account's lock in turn so a concurrent refresh is never overwritten with
        stale tokens. Raises on I/O failure; records not yet reached still decrypt with the
        old key, which the caller keeps until this returns.
        """
        rotated = 0
        aside = 0
        for name in await asyncio.to_thread(self._record_names_locked):
            async with self._lock_for_file(name):
                outcome, done = await asyncio.to_thread(self._reencrypt_one, name)
            self._report(outcome)
            rotated += done
            aside += len(outcome.set_aside)
        return ReencryptResult(rotated=rotated, set_aside=aside)

    def remove_stale_temp_files(self, older_than_seconds: float = STALE_TEMP_SECONDS) -> int:
        """Delete temp files left by a crash mid-write; returns how many were removed.

        Only files older than ``older_than_seconds`` (by filesystem mtime, hence wall-clock
        time rather than the injected clock) so a write in progress elsewhere is never hit.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        with os.scandir(self.directory) as entries:
            for entry in entries:
                if is_temp_name(entry.name) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    try:
                        os.unlink(entry.path)
                        removed += 1
                    except FileNotFoundError:
                        pass
        if removed:
            log.info("removed %d stale temp file(s) from %s", removed, self.directory)
        return removed

    # -- internals (run in worker threads) ---------------------------------------------

    def _lock_for_file(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock

    def _record_names(self) -> builtins.list[str]:
        with os.scandir(self.directory) as entries:
            return sorted(e.name for e in entries if is_record_file_name(e.name))

    def _record_names_locked(self) -> builtins.list[str]:
        """The record names, listed under the I/O lock (see ``_write``)."""
        with self._io_lock:
            return self._record_names()

    def _write(self, name: str, plaintext: bytes) -> None:
        """Encrypt under the I/O lock, fsync the temp file outside it, rename under it again.

        Rotation adds the new key and then lists the files under this lock. If the key changed
        between encrypting and renaming, the record is encrypted again (and written under the
        lock): so a save either lands before the listing (the file is listed and then
        re-encrypted) or carries the new key, and a record saved during a rotation never ends up
        under a key about to be retired. The fsync runs unlocked so concurrent saves overlap."""
        path = self.directory / name
        with self._io_lock:
            fernet = self._keys.multifernet
            token = fernet.encrypt(plaintext)
        tmp = write_temp(path, token)
        with self._io_lock:
            if self._keys.multifernet is fernet:
                commit_temp(tmp, path)
            else:
                discard_temp(tmp)
                atomic_write(path, self._keys.multifernet.encrypt(plaintext))
                return
        fsync_dir(self.directory)

    def _delete(self, name: str) -> bool:
        with self._io_lock:
            try:
                os.unlink(self.directory / name)
            except FileNotFoundError:
                return False
            fsync_dir(self.directory)
            return True

    def _read_all(self) -> _ReadOutcome:
        outcome = _ReadOutcome()
        for name in self._record_names():
            one = self._read_record(name)
            outcome.records.extend(one.records)
            outcome.set_aside.extend(one.set_aside)
            outcome.undecryptable.extend(one.undecryptable)
            outcome.newer.extend(one.newer)
        problems = [f"token file {name} set aside ({reason}): now {moved}" for name, reason, moved in outcome.set_aside]
        if outcome.undecryptable:
            problems.append(
                f"{len(outcome.undecryptable)} token file(s) do not decrypt with the configured store key; "
                "left in place (those accounts come back with the key they were saved with)"
            )
        if outcome.newer:
            problems.append(
                f"{len(outcome.newer)} token file(s) were written by a newer cway-mcp; left in place "
                "(upgrade cway-mcp to use those accounts)"
            )
        self.problems = problems
        return outcome

    def check_key(self, key_source: str) -> None:
        """Refuse a store key that opens none of the stored records (cheap: stops at the first that opens).

        A wrong ``CWAY_MCP_STORE_KEY`` or a replaced key file must not look like "everyone signed
        out": nothing is renamed or deleted, and the daemon does not start."""
        failed = 0
        for name in self._record_names():
            try:
                raw = read_private_file(self.directory / name, MAX_RECORD_BYTES)
            except (StoreError, OSError):
                continue  # not a readable file: set aside (with its reason) when the store is listed
            if raw is None or len(raw) > MAX_RECORD_BYTES:
                continue
            try:
                self._keys.multifernet.decrypt(raw)
                return
            except InvalidToken:
                failed += _is_fernet_shaped(raw)  # garbage is corruption (set aside later), not a key question
        if failed:
            raise KeyConfigError(
                f"none of the {failed} stored sign-in(s) in {self.directory} decrypt with the configured store key "
                f"({key_source}); nothing was changed: start with the key they were saved with, or move that "
                "folder away to start afresh"
            )

    def _read_record(self, name: str) -> _ReadOutcome:
        """Read and decode one file. A corrupt file is set aside (a retry covers a racing save); so is a
        file that is not a private regular file (a symlink, a directory, wrong mode or owner). A file
        that does not decrypt is left in place: that is what a wrong key looks like."""
        outcome = _ReadOutcome()
        for _attempt in range(2):
            path = self.directory / name
            try:
                raw = read_private_file(path, MAX_RECORD_BYTES)
            except (StoreError, OSError) as exc:
                reason = _unusable_reason(path)
                log.warning("token store: %s is not usable (%s)", name, exc)
                moved_to = self._set_aside(name, reason)
                if moved_to is not None:
                    outcome.set_aside.append((name, reason, moved_to))
                return outcome
            if raw is None:
                return outcome
            try:
                record = self._decode(name, raw)
            except RecordFormatError as exc:
                if exc.reason == "wrong_key":
                    log.warning("token store: %s does not decrypt with the configured key; left in place", name)
                    outcome.undecryptable.append(name)
                    return outcome
                if exc.reason == "newer_schema_version":
                    log.warning("token store: %s was written by a newer cway-mcp; left in place", name)
                    outcome.newer.append(name)
                    return outcome
                moved_to = self._set_aside_if_unchanged(name, raw, exc.reason)
                if moved_to is None:
                    continue  # file changed under us: read the new one
                outcome.set_aside.append((name, exc.reason, moved_to))
                return outcome
            outcome.records.append(record)
            return outcome
        return outcome

    def _set_aside(self, name: str, reason: str) -> str | None:
        """Move an unusable entry (symlink, directory, wrong mode) out of the way, as it is."""
        with self._io_lock:
            target = self._aside_name(name)
            try:
                os.rename(self.directory / name, target)
            except OSError as exc:
                log.error("token store: could not set %s aside: %s", name, exc.strerror)
                return None
            fsync_dir(self.directory)
        log.warning("token store: set %s aside as %s (%s); that account must sign in again", name, target.name, reason)
        return target.name

    def _aside_name(self, name: str) -> Path:
        stamp = self._clock.now().strftime("%Y%m%dT%H%M%SZ")
        target = self.directory / f"{name}.corrupt-{stamp}"
        n = 1
        while os.path.lexists(target):
            target = self.directory / f"{name}.corrupt-{stamp}-{n}"
            n += 1
        return target

    def _decode(self, name: str, raw: bytes) -> TokenRecord:
        if len(raw) > MAX_RECORD_BYTES:
            raise RecordFormatError("too_large", "file is larger than any record")
        try:
            plaintext = self._keys.multifernet.decrypt(raw)
        except InvalidToken:
            if _is_fernet_shaped(raw):  # sealed under another key (or a bit flipped): it cannot be told apart
                raise RecordFormatError("wrong_key", "does not decrypt with the configured key") from None
            raise RecordFormatError("decrypt_failed", "truncated or damaged") from None
        record = TokenRecord.from_json_bytes(plaintext)
        if record.file_name != name:
            # A file copied/renamed onto another account's name must not sign that account in.
            raise RecordFormatError("username_mismatch", "record belongs to a different account")
        return record

    def _set_aside_if_unchanged(self, name: str, raw: bytes, reason: str) -> str | None:
        """Rename a corrupt file to ``<name>.corrupt-<UTC>``; None if it changed meanwhile."""
        path = self.directory / name
        with self._io_lock:
            current = read_private_file(path, MAX_RECORD_BYTES)
            if current != raw:
                return None
            target = self._aside_name(name)
            os.rename(path, target)
            fsync_dir(self.directory)
        log.warning(
            "token store: file %s could not be read (%s); moved it to %s – that account must sign in again",
            name,
            reason,
            target.name,
        )
        return target.name

    def _reencrypt_one(self, name: str) -> tuple[_ReadOutcome, int]:
        """Re-encrypt one file in place; read and write under the I/O lock so that a save
        made without the account lock cannot be overwritten by the older record."""
        outcome = _ReadOutcome()
        path = self.directory / name
        with self._io_lock:
            raw = read_private_file(path, MAX_RECORD_BYTES)
            if raw is None:
                return outcome, 0
            reason: str | None = None
            if len(raw) > MAX_RECORD_BYTES:
                reason = "too_large"
            else:
                try:
                    atomic_write(path, self._keys.multifernet.rotate(raw))
                    return outcome, 1
                except InvalidToken:
                    reason = "decrypt_failed"
        moved_to = self._set_aside_if_unchanged(name, raw, reason)
        if moved_to is not None:
            outcome.set_aside.append((name, reason, moved_to))
        return outcome, 0

    def _report(self, outcome: _ReadOutcome) -> None:
        """Emit set-aside events on the event-loop thread, isolating callback failures."""
        if self._on_event is None:
            return
        for name, reason, moved_to in outcome.set_aside:
            try:
                self._on_event(EVENT_FILE_SET_ASIDE, {"file": name, "reason": reason, "moved_to": moved_to})
            except Exception:
                log.exception("token store: on_event callback failed for %s", EVENT_FILE_SET_ASIDE)


def _unusable_reason(path: Path) -> str:
    try:
        st = os.lstat(path)
    except OSError:
        return "unreadable"
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if not stat.S_ISREG(st.st_mode):
        return "not_a_regular_file"
    if st.st_uid != os.geteuid():
        return "wrong_owner"
    return "wrong_permissions"


def _is_fernet_shaped(raw: bytes) -> bool:
    """A whole Fernet token (version, timestamp, IV, AES blocks, HMAC), whatever key sealed it."""
    try:
        data = base64.urlsafe_b64decode(raw.strip())
    except (ValueError, binascii.Error):
        return False
    return len(data) >= 73 and data[0] == 0x80 and (len(data) - 57) % 16 == 0
