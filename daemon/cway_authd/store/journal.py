"""The refresh journal: a rotated refresh token survives a crash from the moment Cway's answer arrives.

Why: a refresh rotates the refresh token. Between Cway's answer and the record file being
renamed into place (encrypt, hand to a worker thread, write, fsync, rename) the new token exists
only in the daemon's memory; a ``kill -9`` then loses the account. So the engine first appends
the new record, encrypted, to this journal with one ``write()`` on an ``O_APPEND`` descriptor,
on the event loop, before anything else: once that call returns the bytes are in the kernel and
survive the process being killed. Then the append is made durable against a power loss too, before
the answer is used: ``fdatasync`` (only the data and the size, not the timestamps: the cheapest
flush that survives a power cut; macOS: ``F_FULLFSYNC``, because its ``fsync`` leaves the bytes in
the drive's cache). ``make bench`` shows what that costs per refresh (tests/bench/journal.py). It
runs on the event loop: a refresh is already a network round trip, the pool runs only one or two
at once, and a flush in a worker thread could race a logout's compaction swapping the descriptor.

At start-up :func:`replay_journal` returns the newest record per account found in the journal;
the caller saves any that is newer than the stored one and then empties the journal. While
running, the journal is emptied whenever no journalled save is still in progress and it has
grown past ``COMPACT_BYTES`` (every entry is by then in its record file).

Entries are Fernet tokens, one per line, under the store key; a torn last line (the process
died inside the write) or an entry under a retired key is skipped.

A logout compacts the journal (:meth:`RefreshJournal.forget`): it is rewritten without the
account's entries, atomically (temp file, fsync, rename, fsync of the directory). Why compaction
rather than a tombstone entry that replay honours: a tombstone would leave the account's newest
refresh token, encrypted, in the file until the next compaction, and the store key next to it
opens it; the user was told its tokens are deleted. A logout is rare and the journal small (it is
emptied past ``COMPACT_BYTES``), so rewriting it is cheap.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from cryptography.fernet import InvalidToken

from cway_auth_core import PRIVATE_FILE_MODE, MultiFernetProvider, RecordFormatError, TokenRecord, atomic_write

log = logging.getLogger(__name__)

JOURNAL_NAME = ".refresh-journal"
COMPACT_BYTES = 1 << 20


class RefreshJournal:
    """Append-only; every method runs on the event loop thread (appends are one small write)."""

    def __init__(self, directory: Path, keys: MultiFernetProvider, *, durable: bool = True) -> None:
        self.path = Path(directory) / JOURNAL_NAME
        self._keys = keys
        self.durable = durable  # False only for the bench's comparison
        self._fd: int | None = self._open()
        self._size = os.fstat(self._fd).st_size
        self._in_progress = 0
        self._pinned = False  # a journalled record's save failed: its entry must stay

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags, PRIVATE_FILE_MODE)
        os.fchmod(fd, PRIVATE_FILE_MODE)
        return fd

    def append(self, record: TokenRecord) -> None:
        """Make ``record`` crash-safe now; pair with :meth:`settled` once its save has finished."""
        if self._fd is None:
            raise ValueError("the refresh journal is closed")
        line = self._keys.multifernet.encrypt(record.to_json_bytes()) + b"\n"
        written = os.write(self._fd, line)  # one write of a few KB: never split for a regular file
        if self.durable:
            _sync(self._fd)  # a power cut from here on cannot lose it either
        self._size += written
        self._in_progress += 1

    def settled(self, *, saved: bool = True) -> None:
        """A journalled record's save finished, or failed (``saved=False``: held in memory and retried).

        After a failed save the journal holds the only durable copy of that rotation, so it is no
        longer emptied on the way (only by a clean stop that kept everything, or the next start)."""
        self._in_progress = max(0, self._in_progress - 1)
        if not saved:
            self._pinned = True
        if self._in_progress == 0 and self._size > COMPACT_BYTES and not self._pinned:
            self.clear()

    def forget(self, key: str) -> int:
        """Logout of ``key`` (a normalised username): rewrite the journal without its entries; returns
        how many were removed. Entries that do not decrypt (torn, a retired key) go too: replay
        skips them anyway, and one of them may be this account's. Runs on the event loop thread, like
        every append, so no append can fall between the read and the rename."""
        if self._fd is None:
            return 0
        kept: list[bytes] = []
        removed = 0
        for line in _read_lines(self.path):
            try:
                record = TokenRecord.from_json_bytes(self._keys.multifernet.decrypt(line.strip()))
            except (InvalidToken, RecordFormatError):
                removed += 1
                continue
            if record.normalised_username == key:
                removed += 1
            else:
                kept.append(line.strip() + b"\n")
        if not removed:
            return 0
        data = b"".join(kept)
        try:
            atomic_write(self.path, data)
        except OSError:  # a full disk has no room for the copy: shrink the file in place (never larger)
            os.ftruncate(self._fd, 0)  # O_APPEND: the rewrite lands at offset 0
            os.write(self._fd, data)
            _sync(self._fd)
        else:
            old, self._fd = self._fd, self._open()
            os.close(old)
        self._size = len(data)
        return removed

    def clear(self) -> None:
        self._pinned = False
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._size = 0

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def replay_journal(directory: Path, keys: MultiFernetProvider) -> list[TokenRecord]:
    """The newest journalled record of each account (start-up, before anything reads the store)."""
    newest: dict[str, TokenRecord] = {}
    skipped = 0
    for line in _read_lines(Path(directory) / JOURNAL_NAME):
        try:
            record = TokenRecord.from_json_bytes(keys.multifernet.decrypt(line.strip()))
        except (InvalidToken, RecordFormatError):
            skipped += 1
            continue
        key = record.normalised_username
        if key not in newest or _age(record) >= _age(newest[key]):
            newest[key] = record
    if skipped:
        log.warning("refresh journal: skipped %d unreadable entr%s", skipped, "y" if skipped == 1 else "ies")
    return list(newest.values())


def _sync(fd: int) -> None:
    """Flush ``fd``'s data to stable storage: ``F_FULLFSYNC`` on macOS (its ``fsync`` only reaches the
    drive's cache), ``fdatasync`` where it exists (Linux), else ``fsync``."""
    full = getattr(fcntl, "F_FULLFSYNC", None)
    if sys.platform == "darwin" and full is not None:
        try:
            fcntl.fcntl(fd, full)
            return
        except OSError:  # some filesystems (network, FUSE) refuse it: fall back to fsync
            pass
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _read_lines(path: Path) -> list[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return [line for line in b"".join(chunks).splitlines() if line.strip()]


def _age(record: TokenRecord) -> datetime:
    return record.last_refreshed_at or record.created_at
