"""The daemon's last failure to start, kept for ``cway-auth service status``.

A service manager that stops restarting a daemon (systemd's ``RestartPreventExitStatus``, or
launchd after the daemon exited 0 on a permanent failure) leaves the person with a unit that is
"installed" and a daemon that is not there. The daemon writes its one-line reason and exit code
to ``<state dir>/last-error.json`` (0600) when it fails to start, and removes it once it serves,
so ``service status`` can say "installed but failing: <reason>" without reading any journal.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cway_contract import make_private_dirs

FILE_NAME = "last-error.json"


@dataclass(frozen=True)
class LastError:
    exit_code: int
    message: str
    at: datetime


def write(state_dir: Path, exit_code: int, message: str, now: datetime | None = None) -> None:
    """Best effort: a state dir we cannot write to is itself often the reason we are failing."""
    at = (now or datetime.now(UTC)).isoformat()
    body = json.dumps({"exit_code": exit_code, "message": message[:500], "at": at}).encode()
    path = state_dir / FILE_NAME
    with contextlib.suppress(OSError):
        make_private_dirs(state_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)


def clear(state_dir: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(state_dir / FILE_NAME)


def read(state_dir: Path) -> LastError | None:
    try:
        data = json.loads((state_dir / FILE_NAME).read_text(encoding="utf-8"))
        return LastError(int(data["exit_code"]), str(data["message"]), datetime.fromisoformat(data["at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
