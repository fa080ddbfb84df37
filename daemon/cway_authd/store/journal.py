"""The refresh journal: a rotated refresh token survives a crash from the moment Cway's answer arrives.

Why: a refresh rotates the refresh token. Between Cway's answer and the record file being
renamed into place (encrypt, hand to a worker thread, write, fsync, rename) the new token exists
only in the daemon's memory; a ``kill -9`` then loses the account. So the engine first appends
the new record, encrypted, to this journal with one ``write()`` on an ``O_APPEND`` descriptor,
on the event loop, before anything else: once that call returns the bytes are in the kernel and
survive the process being killed. (A power loss needs the fsync that the record file's own
atomic write does right after; the journal does not fsync on every append.)

At start-up :func:`replay_journal` returns the newest record per account found in the journal;
the caller saves any that is newer than the stored one and then empties the journal. While
running, the journal is emptied whenever no journalled save is still in progress and it has
grown past ``COMPACT_BYTES`` (every entry is by then in its record file).

Entries are Fernet tokens, one per line, under the store key; a torn last line (the process
died inside the write) or an entry under a retired key is skipped.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from cryptography.fernet import InvalidToken

from .keys import MultiFernetProvider
from .permissions import PRIVATE_FILE_MODE
from .records import RecordFormatError, TokenRecord

log = logging.getLogger(__name__)

JOURNAL_NAME = ".refresh-journal"
COMPACT_BYTES = 1 << 20


class RefreshJournal:
    """Append-only; every method runs on the event loop thread (appends are one small write)."""

    def __init__(self, directory: Path, keys: MultiFernetProvider) -> None:
        self.path = Path(directory) / JOURNAL_NAME
        self._keys = keys
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd: int | None = os.open(self.path, flags, PRIVATE_FILE_MODE)
        os.fchmod(self._fd, PRIVATE_FILE_MODE)
        self._size = os.fstat(self._fd).st_size
        self._in_progress = 0

    def append(self, record: TokenRecord) -> None:
        """Make ``record`` crash-safe now; pair with :meth:`settled` once its save has finished."""
        if self._fd is None:
            raise ValueError("the refresh journal is closed")
        line = self._keys.multifernet.encrypt(record.to_json_bytes()) + b"\n"
        written = os.write(self._fd, line)  # one write of a few KB: never split for a regular file
        self._size += written
        self._in_progress += 1

    def settled(self) -> None:
        """A journalled record's save finished (or failed and is held in memory, retried from there)."""
        self._in_progress = max(0, self._in_progress - 1)
        if self._in_progress == 0 and self._size > COMPACT_BYTES:
            self.clear()

    def clear(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._size = 0

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def replay_journal(directory: Path, keys: MultiFernetProvider) -> list[TokenRecord]:
    """The newest journalled record of each account (start-up, before anything reads the store)."""
    path = Path(directory) / JOURNAL_NAME
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
    newest: dict[str, TokenRecord] = {}
    skipped = 0
    for line in b"".join(chunks).splitlines():
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


def _age(record: TokenRecord) -> datetime:
    return record.last_refreshed_at or record.created_at
