"""Crash-safe file writes and guarded reads shared by the token files and the key file.

A write never leaves a half-written file under the real name: the data goes to a temp file
in the same directory (same filesystem, so ``os.replace`` is atomic), is fsynced, renamed
over the target, and then the directory is fsynced so the rename itself survives a power
loss. A crash at any point leaves either the old file or the new one, plus at worst a stray
temp file, which readers ignore because of its name.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cway_auth_core.permissions import PRIVATE_FILE_MODE, check_private_file_stat
from cway_auth_core.store_errors import StorePermissionError

TEMP_MARKER = ".tmp-"


def temp_name_for(target: Path) -> Path:
    """Hidden, unique temp name next to ``target``; never matches a record file pattern."""
    return target.with_name(f".{target.name}{TEMP_MARKER}{secrets.token_hex(6)}")


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARKER in name


def fsync_dir(directory: Path) -> None:
    """Persist a rename/unlink in ``directory`` (a rename is only durable once its dir is synced)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace ``target`` with ``data`` atomically and durably; the file ends up with ``mode``."""
    tmp = write_temp(target, data, mode)
    commit_temp(tmp, target)
    fsync_dir(target.parent)


def write_temp(target: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> Path:
    """Phase one of :func:`atomic_write`: ``data`` in a fsynced temp file beside ``target``.

    The slow part (the fsync) needs no lock, so concurrent saves of different records overlap
    and the filesystem commits them together instead of one after another."""
    tmp = temp_name_for(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask filtered the O_CREAT mode; fchmod is exact
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard_temp(tmp)
        raise
    return tmp


def commit_temp(tmp: Path, target: Path) -> None:
    """Phase two: rename the temp file over ``target`` (durable once the directory is fsynced)."""
    try:
        os.replace(tmp, target)
    except BaseException:
        discard_temp(tmp)
        raise


def discard_temp(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def read_private_file(path: Path, max_bytes: int) -> bytes | None:
    """Read a file that must be private to us; None if it does not exist.

    Opens without following symlinks and checks owner/mode on the open descriptor, so the
    file checked is the file read. Returns at most ``max_bytes + 1`` bytes so callers can
    reject oversized files without reading them whole.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if os.path.islink(path):
            raise StorePermissionError(
                f"{path} is a symbolic link; cway-auth only reads regular files it owns. Remove the link."
            ) from None
        raise StorePermissionError(f"cannot open {path}: {exc.strerror}") from None
    try:
        check_private_file_stat(path, os.fstat(fd))
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
