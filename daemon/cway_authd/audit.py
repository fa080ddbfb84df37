"""The audit trail: one JSON object per line in ``<state_dir>/audit.log``.

Who got a token (peer pid/uid, account, token *fingerprint*), sign-ins, refreshes, logouts and
store anomalies. The file is created 0600 inside the private state dir and rotated by size
(5 MB x 3) with a dedicated, non-propagating logger, so nothing here reaches the normal log.

Callers pass only fields that are safe to record; as a second line of defence, any field whose
name looks like it holds a secret is refused (replaced by a marker) rather than written.
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import os
from pathlib import Path
from typing import Any

from cway_common.clock import Clock

from .store import ensure_private_dir

AUDIT_FILE_NAME = "audit.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 3
_FORBIDDEN_KEYS = ("token", "code", "secret", "verifier", "password", "nonce", "state", "key")
_ALLOWED_KEYS = frozenset({"token_fingerprint", "token_type", "flow_id", "sign_in_state"})

log = logging.getLogger(__name__)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are created 0600 whatever the umask."""

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.baseFilename, flags, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, "a", encoding="utf-8")  # the handler owns and closes it


class AuditLog:
    def __init__(self, state_dir: Path, clock: Clock) -> None:
        directory = ensure_private_dir(Path(state_dir))
        self.path = directory / AUDIT_FILE_NAME
        self._clock = clock
        self._logger = logging.Logger(f"cway_authd.audit[{self.path}]")
        self._logger.propagate = False
        self._handler = _PrivateRotatingFileHandler(
            self.path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=False
        )
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._logger.addHandler(self._handler)

    def event(self, event: str, **fields: Any) -> None:
        """Append one line; never raises (an audit failure must not break token service)."""
        entry: dict[str, Any] = {"ts": self._clock.now().isoformat(), "event": event}
        for key, value in fields.items():
            if value is None:
                continue
            lowered = key.lower()
            if lowered not in _ALLOWED_KEYS and any(word in lowered for word in _FORBIDDEN_KEYS):
                entry[key] = "<refused: looks secret>"
            else:
                entry[key] = value
        try:
            self._logger.info(json.dumps(entry, default=str, separators=(",", ":")))
        except Exception:  # disk full, closed handler...
            log.exception("could not write the audit log")

    def store_event(self, name: str, details: dict[str, str]) -> None:
        """Adapter for the token store's ``on_event`` callback."""
        self.event(name, **{k: v for k, v in details.items() if k in {"file", "reason", "moved_to"}})

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._handler.close()
