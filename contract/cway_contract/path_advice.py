"""One clear line when a path the product needs cannot be used, and advice that never touches someone else's directory.

A state dir or socket dir under a directory that belongs to another user (``/tmp/runtime-<uid>``
created by someone else, a shared ``/tmp`` path) used to end in a raw ``PermissionError``
traceback, and some messages suggested ``chmod``/``chown`` on directories that are not the user's to
change (``chmod 700 /tmp`` would break every other user of the machine). The fix is always the same:
put our files in a directory of our own. Only a directory that is ours and not a shared one
(no sticky bit) is ever suggested a ``chmod``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

PRIVATE_PATH_FIX = (
    "use a directory of your own instead: set CWAY_MCP_STATE_DIR (or CWAY_MCP_SOCKET for the socket) "
    "to a path under your home directory"
)


def describe_owner(uid: int) -> str:
    """``name (uid N)``, or ``uid N`` when the uid has no passwd entry."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def foreign_ancestor(path: Path) -> tuple[Path, int] | None:
    """The nearest directory at or above ``path`` that we can see and that belongs to another user."""
    euid = os.geteuid()
    for directory in (Path(path), *Path(path).parents):
        try:
            st = os.stat(directory)
        except OSError:
            continue  # not there, or not even visible to us: look further up
        if st.st_uid != euid:
            return directory, st.st_uid
    return None


def unusable_path(path: Path | str, exc: OSError) -> str:
    """One line for an ``OSError`` met while creating or opening ``path`` (or something below it)."""
    path = Path(path)
    if exc.errno in (errno.EACCES, errno.EPERM):
        found = foreign_ancestor(path)
        why = f"{found[0]} belongs to {describe_owner(found[1])}" if found else "permission denied"
        return f"cannot use {path}: {why}; {PRIVATE_PATH_FIX}"
    return f"cannot use {path}: {exc.strerror or exc}"


def is_shared_dir(st: os.stat_result) -> bool:
    """A directory meant for everyone (``/tmp``-like: sticky bit) is never ours to tighten."""
    return bool(st.st_mode & stat.S_ISVTX)
