"""StoreLock: one daemon per state directory, across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cway_authd.store import StoreLock, StoreLockedError

TRY_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cway_authd.store import StoreLock, StoreLockedError
    try:
        StoreLock(Path(sys.argv[1])).acquire()
    except StoreLockedError as exc:
        print(exc)
        sys.exit(3)
    print("acquired")
    """
)


def _try_in_subprocess(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", TRY_LOCK, str(state_dir)], capture_output=True, text=True, timeout=60)


def test_second_process_is_refused(state_dir: Path) -> None:
    with StoreLock(state_dir) as lock:
        assert lock.held
        assert (state_dir / "daemon.lock").read_text().strip() == str(os.getpid())
        proc = _try_in_subprocess(state_dir)
        assert proc.returncode == 3, proc.stderr
        assert f"another cway-auth daemon (pid {os.getpid()}) is using {state_dir}" in proc.stdout
    assert not lock.held
    proc = _try_in_subprocess(state_dir)
    assert proc.returncode == 0 and "acquired" in proc.stdout, proc.stderr


def test_second_lock_in_same_process_is_refused(state_dir: Path) -> None:
    with StoreLock(state_dir):
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}"):
            StoreLock(state_dir).acquire()


def test_stale_lock_file_from_dead_process_is_fine(state_dir: Path) -> None:
    # the subprocess takes the lock and exits without releasing: the file keeps its pid
    proc = _try_in_subprocess(state_dir)
    assert proc.returncode == 0
    assert (state_dir / "daemon.lock").read_text().strip() not in ("", str(os.getpid()))
    lock = StoreLock(state_dir).acquire()
    try:
        assert (state_dir / "daemon.lock").read_text().strip() == str(os.getpid())
    finally:
        lock.close()


def test_double_acquire_on_one_object_is_a_bug(state_dir: Path) -> None:
    lock = StoreLock(state_dir).acquire()
    try:
        with pytest.raises(RuntimeError):
            lock.acquire()
    finally:
        lock.release()
    lock.release()  # idempotent
