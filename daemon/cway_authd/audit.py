"""The audit trail: one JSON object per line in ``<state_dir>/audit.log``.

Who got a token (peer pid/uid, account, token *fingerprint*), sign-ins, refreshes, logouts and
store anomalies. The file is created 0600 inside the private state dir and rotated by size
(5 MB x 3); nothing here reaches the normal log.

A line is written for every token handed out, so writing one must cost next to nothing beside
the bearer hop: :class:`AuditFile` appends each line with a single ``write`` to an ``O_APPEND``
descriptor and counts the file's size in memory, instead of going through a ``logging`` record
and a ``RotatingFileHandler`` (which ``stat``s, seeks and flushes for every line). One daemon
owns the state dir (the store lock), so nobody else appends behind its back.

Callers pass only fields that are safe to record; as a second line of defence, any field whose
name looks like it holds a secret is refused (replaced by a marker) rather than written: the rule
in :mod:`audit_redaction`, shared with the remote server's audit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from cway_auth_core import redact_fields
from cway_authd.store import ensure_private_dir
from cway_contract import Clock

AUDIT_FILE_NAME = "audit.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 3

log = logging.getLogger(__name__)


class AuditFile:
    """Append-only lines, 0600, rotated by size to ``<name>.1`` … ``<name>.<backups>``."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUP_COUNT) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._fd: int | None = None
        self._size = 0
        self._open()

    def _open(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)
            self._size = os.fstat(fd).st_size
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def write(self, line: bytes) -> None:
        if self._fd is None:
            raise ValueError("the audit file is closed")
        if self._size and self._size + len(line) > self.max_bytes:
            self._rotate()
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(line)

    def _rotate(self) -> None:
        self.close()
        try:
            for index in range(self.backups - 1, 0, -1):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}.{index}", f"{self.path}.{index + 1}")
            if self.backups > 0:
                os.replace(self.path, f"{self.path}.1")
            else:
                os.truncate(self.path, 0)
        finally:
            self._open()  # a failed rename leaves the file as it was: carry on appending to it

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class AuditLog:
    def __init__(self, state_dir: Path, clock: Clock) -> None:
        directory = ensure_private_dir(Path(state_dir))
        self.path = directory / AUDIT_FILE_NAME
        self._clock = clock
        self._file = AuditFile(self.path)

    def event(self, event: str, **fields: Any) -> None:
        """Append one line; never raises (an audit failure must not break token service)."""
        entry = redact_fields({"ts": self._clock.now().isoformat(), "event": event}, fields)
        try:
            self._file.write(json.dumps(entry, default=str, separators=(",", ":")).encode() + b"\n")
        except Exception:  # disk full, closed file...
            log.exception("could not write the audit log")

    def store_event(self, name: str, details: dict[str, str]) -> None:
        """Adapter for the token store's ``on_event`` callback."""
        self.event(name, **{k: v for k, v in details.items() if k in {"file", "reason", "moved_to"}})

    def close(self) -> None:
        self._file.close()
