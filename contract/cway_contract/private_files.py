"""Create private directories and append to private files, whatever the umask and whatever is planted there.

Shared by the daemon (state dir, socket dir, its log file) and the shim (autostart's log file),
so both follow the same rules:

* :func:`make_private_dirs` creates every *missing* directory of a path, parents included, as
  0700 with an explicit ``chmod`` (``mkdir``'s mode is filtered by the umask: under umask 000 a
  plain ``mkdir -p`` gives 0777). Directories that already exist are left exactly as they are:
  they may be shared ones (``/tmp``, ``~``) that are not ours to change.
* :func:`open_private_append` opens a log file for appending with ``O_NOFOLLOW`` (a planted
  symlink is refused, not followed) and checks with ``fstat`` on the opened descriptor that it is
  a regular file owned by us, with no other hard link, *before* anything is written or its mode
  is changed.
* :class:`PrivateRotatingFileHandler` is a size-rotated log handler whose files are opened that way.
"""

from __future__ import annotations

import io
import logging.handlers
import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class UnsafeLogFile(OSError):
    """The log file path is a symlink, not a regular file, or belongs to someone else."""


def make_private_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents, each 0700 regardless of the umask; return those created."""
    path = Path(os.path.abspath(path))
    missing: list[Path] = []
    for directory in (path, *path.parents):
        if os.path.lexists(directory):
            break
        missing.append(directory)
    created: list[Path] = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # someone else made it in the meantime: not ours to chmod
        os.chmod(directory, PRIVATE_DIR_MODE)
        created.append(directory)
    return created


def open_private_append(path: Path) -> int:
    """An ``O_APPEND`` descriptor for ``path`` (created 0600), refused if it is not our own regular file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, PRIVATE_FILE_MODE)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeLogFile(exc.errno, f"{path} is a symbolic link; refusing to write through it") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeLogFile(f"{path} is not a regular file")
        if st.st_uid != os.geteuid():
            raise UnsafeLogFile(f"{path} belongs to uid {st.st_uid}, not to you; move it away")
        if st.st_nlink > 1:  # a hard link planted there would make us append to (and chmod) another file
            raise UnsafeLogFile(f"{path} has {st.st_nlink} hard links; move it away")
        os.set_blocking(fd, True)  # O_NONBLOCK was only there so that opening a planted FIFO cannot hang
        if stat.S_IMODE(st.st_mode) != PRIVATE_FILE_MODE:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A ``RotatingFileHandler`` whose files are opened with :func:`open_private_append`."""

    def _open(self) -> io.TextIOWrapper:
        fd = open_private_append(Path(self.baseFilename))
        try:
            return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)  # the handler closes it
        except BaseException:
            os.close(fd)
            raise
