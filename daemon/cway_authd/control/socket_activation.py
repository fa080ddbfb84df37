"""Taking the control socket from the service manager (systemd's ``LISTEN_FDS`` protocol).

With ``cway-mcp-daemon.socket`` installed, systemd creates ``%t/cway-mcp/daemon.sock`` (0600, in a
0700 directory) at login and starts the daemon on the first connection, handing the listening
socket over as fd 3. A shim that connects therefore starts the daemon itself: no autostart race.

The protocol: ``LISTEN_PID`` names the process the fds are for (a child that inherits the
environment must not take them), ``LISTEN_FDS`` how many, starting at fd 3. We take exactly one
listening ``AF_UNIX`` stream socket and check its file like one we bound ourselves (a socket,
ours, no group/other bits), then remove the variables so nothing we start inherits them.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

SD_LISTEN_FDS_START = 3


class ActivationError(Exception):
    """The service manager passed something this daemon cannot use, as one line."""


def passed_control_socket() -> tuple[socket.socket, Path] | None:
    """The listening socket systemd passed to this process and its path, or None when none was passed."""
    pid, count = os.environ.get("LISTEN_PID"), os.environ.get("LISTEN_FDS")
    if not pid or not count:
        return None
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    if pid != str(os.getpid()):
        return None  # meant for another process (we inherited a parent's environment)
    if count != "1":
        raise ActivationError(f"the service manager passed {count} sockets (LISTEN_FDS); the daemon takes exactly one")
    fd = SD_LISTEN_FDS_START
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise ActivationError(f"fd {fd} from the service manager is not a socket: {exc.strerror or exc}") from None
    try:
        os.set_inheritable(fd, False)
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            raise ActivationError("the passed socket is not a Unix stream socket (ListenStream= with a path)")
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise ActivationError("the passed socket is not listening")
        name = sock.getsockname()
        if not isinstance(name, str) or not name.startswith("/"):
            raise ActivationError(f"the passed socket has no filesystem path ({name!r})")
        path = Path(name)
        check_owner_only(path)
        sock.setblocking(False)
    except BaseException:
        sock.detach()  # leave fd 3 to the service manager's bookkeeping; we exit anyway
        raise
    return sock, path


def check_owner_only(path: Path) -> None:
    """The socket file and its directory must be ours and closed to group and others."""
    try:
        st = os.lstat(path)
        parent = os.lstat(path.parent)
    except OSError as exc:
        raise ActivationError(f"cannot inspect the passed socket {path}: {exc.strerror or exc}") from None
    uid = os.geteuid()
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != uid or stat.S_IMODE(st.st_mode) & 0o077:
        raise ActivationError(
            f"the passed socket {path} is not an owner-only socket (mode {stat.S_IMODE(st.st_mode):04o}); "
            "set SocketMode=0600 in the .socket unit"
        )
    if parent.st_uid != uid or stat.S_IMODE(parent.st_mode) & 0o077:
        raise ActivationError(
            f"the passed socket's directory {path.parent} is open to others (mode {stat.S_IMODE(parent.st_mode):04o}); "
            "set DirectoryMode=0700 in the .socket unit"
        )
