"""Single-daemon guard: one cway-auth process per state directory.

Two daemons refreshing the same refresh tokens would race and invalidate each other's
(rotating) refresh tokens, so the second one must refuse to start. ``flock`` is used rather
than "pid file exists" because the kernel drops the lock when the holder dies: a stale file
left by a crash never blocks a restart. The file is never unlinked (unlinking a flocked file
lets two processes lock two different inodes).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from cway_auth_core import PRIVATE_FILE_MODE, StoreLockedError, check_private_file_stat, ensure_private_dir

LOCK_FILE_NAME = "daemon.lock"


class StoreLock:
    """``with StoreLock(state_dir):`` – held until close/exit (or process death)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> StoreLock:
        if self._fd is not None:
            raise RuntimeError("StoreLock already held by this object")
        ensure_private_dir(self.state_dir)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE_MODE)
        try:
            check_private_file_stat(self.path, os.fstat(fd))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(fd)
                who = f"pid {pid}" if pid is not None else "pid unknown"
                raise StoreLockedError(
                    f"another cway-auth daemon ({who}) is using {self.state_dir}; "
                    f"stop it first, or give this one a different state directory"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.ftruncate(fd, 0)  # an empty file means "nobody"; only cosmetic
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    close = release

    def __enter__(self) -> StoreLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
