"""The default account (``cway-auth switch <user>``): which account a request that names none acts as.

With one account signed in, that one is used anyway; with several, the daemon used to refuse
("say which one"). The default is a one-line file, ``<state dir>/default-account`` (0600, owner
only), written by ``cway-auth switch`` and read by the daemon when a request names no account
(``CWAY_USERNAME`` in a client's config, or a tool's ``username``, still wins).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_NAME = "default-account"


def read_default(state_dir: Path) -> str | None:
    try:
        fd = os.open(state_dir / FILE_NAME, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            return None
        name = os.read(fd, 1024).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    return name or None


def write_default(state_dir: Path, username: str | None) -> None:
    """Set (or with None clear) the default account."""
    path = state_dir / FILE_NAME
    if username is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, (username + "\n").encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
