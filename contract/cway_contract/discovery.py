"""Where the running daemon listens, as the shim and the CLI find it.

The socket rule (:func:`cway_contract.contract.default_socket_path`) no longer depends on the
environment, but a daemon can still listen elsewhere: started with an explicit ``CWAY_MCP_SOCKET``
(a test, a second config), or by an older rule. So the daemon that holds the state-dir lock records
where it listens in ``<state dir>/daemon.json`` (0600, written after it has the lock and its socket,
removed when it stops), and a client whose own ``CWAY_MCP_SOCKET`` is not set connects to *that*
daemon instead of starting a second one that would only die on the lock.

The record is only a hint: it is trusted while its pid is alive and its socket is a socket we own;
the connection itself then proves the daemon is there (and the client's owner check still applies).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cway_contract.config import Settings

RECORD_NAME = "daemon.json"


@dataclass(frozen=True)
class DaemonRecord:
    pid: int
    socket_path: Path
    callback_url: str | None = None
    #: "systemd" or "launchd" when a service manager runs it; None when started by hand or by a shim.
    supervisor: str | None = None


def record_path(state_dir: Path) -> Path:
    return state_dir / RECORD_NAME


def write_record(state_dir: Path, record: DaemonRecord) -> None:
    """Atomically write the record, owner-only (called by the daemon holding the state-dir lock)."""
    path = record_path(state_dir)
    tmp = path.with_name(f".{RECORD_NAME}.{os.getpid()}.tmp")
    body = {
        "pid": record.pid,
        "socket": str(record.socket_path),
        "callback_url": record.callback_url,
        "supervisor": record.supervisor,
    }
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, json.dumps(body).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def remove_record(state_dir: Path, pid: int) -> None:
    """Remove the record if it is still this daemon's (a successor may have written its own)."""
    found = read_record(state_dir)
    if found is not None and found.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(record_path(state_dir))


def read_record(state_dir: Path) -> DaemonRecord | None:
    path = record_path(state_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > 4096:
            return None
        data = json.loads(os.read(fd, 4096))
        return DaemonRecord(
            int(data["pid"]), Path(str(data["socket"])), data.get("callback_url"), data.get("supervisor")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)


def is_alive(pid: int) -> bool:
    """The process exists, is ours and has not exited (a zombie, exited but not yet reaped by the
    shim or test that started it, counts as gone: it listens on nothing and holds no lock)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's pid: not our daemon
        return False
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): existence is all we can tell
        return True
    return stat_line.rpartition(")")[2].split()[:1] != ["Z"]


def live_record(state_dir: Path) -> DaemonRecord | None:
    """The record of the daemon that is running for ``state_dir`` (its pid alive), or None."""
    record = read_record(state_dir)
    return record if record is not None and is_alive(record.pid) else None


def recorded_socket(state_dir: Path) -> Path | None:
    """The socket of the live daemon recorded in ``state_dir``, or None."""
    record = read_record(state_dir)
    if record is None or not is_alive(record.pid):
        return None
    try:
        st = os.lstat(record.socket_path)
    except OSError:
        return None
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
        return None
    return record.socket_path


def daemon_socket(settings: Settings) -> Path:
    """The socket to connect to: ``CWAY_MCP_SOCKET`` if set, else the recorded live daemon's, else the rule's."""
    if settings.socket_is_explicit:
        return settings.socket_path
    return recorded_socket(settings.state_dir) or settings.socket_path
