"""Is the socket we just connected to really our daemon's? Asked *after* ``connect()``, before a byte is sent.

Checking the socket file with ``lstat`` and then connecting is racy: whoever can write to a
directory on the way to the socket can swap the file (or a parent directory) between the two
calls, and a forged daemon would then hand us a token of its choosing or receive a pasted
authorization code. So, as ssh does with an agent socket, the client asks the kernel who is
listening on the connection it actually holds (``SO_PEERCRED`` / ``LOCAL_PEERCRED``, the same
code the daemon uses for its own peer check), and refuses the connection unless:

* the listening process runs as our own effective uid, and
* no directory on the way to the socket can be changed by anyone else: every ancestor is owned
  by us or by root and is not group/other-writable, unless it has the sticky bit (``/tmp``),
  where nobody else may rename or remove entries they do not own.

The advice in a refusal never suggests loosening or tightening someone else's directory: it
points at a private socket path instead.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

from cway_contract.peercred import PeerCredentialsUnavailable, peer_credentials

_FIX = "point CWAY_MCP_SOCKET at a socket inside a directory only you can write to (e.g. under $XDG_RUNTIME_DIR)"


class UntrustedSocket(Exception):
    """The connected socket is not provably our own daemon's; the connection must be dropped."""


def verify_daemon_socket(sock: socket.socket | Any, path: Path | str) -> None:
    """Raise :class:`UntrustedSocket` unless ``sock`` (connected to ``path``) is served by our own uid.

    ``sock`` is a connected ``AF_UNIX`` socket, or anything with ``family`` and ``getsockopt``
    (asyncio's ``TransportSocket`` from ``get_extra_info("socket")`` works as is).
    """
    euid = os.geteuid()
    try:
        creds = peer_credentials(sock)
    except PeerCredentialsUnavailable as exc:
        raise UntrustedSocket(f"refusing the daemon socket {path}: cannot tell who serves it ({exc})") from None
    if creds.uid != euid:
        raise UntrustedSocket(
            f"refusing the daemon socket {path}: it is served by uid {creds.uid}, not by you (uid {euid}); {_FIX}"
        )
    problem = parent_chain_problem(Path(path))
    if problem is not None:
        raise UntrustedSocket(f"refusing the daemon socket {path}: {problem}; {_FIX}")


def parent_chain_problem(path: Path) -> str | None:
    """Why someone other than us (or root) could swap ``path`` or a directory above it; None if nobody can.

    Both the path as written and its resolved form are checked, so a symlinked component is judged
    by the directory that holds the link and by the directory it leads to.
    """
    euid = os.geteuid()
    written = Path(os.path.abspath(path)).parent
    resolved = Path(os.path.realpath(written))
    seen: set[Path] = set()
    for directory in (*_self_and_parents(written), *_self_and_parents(resolved)):
        if directory in seen:
            continue
        seen.add(directory)
        try:
            st = os.stat(directory)
        except OSError as exc:
            return f"cannot check {directory} ({exc.strerror or exc})"
        if st.st_uid not in (euid, 0):
            return f"{directory} belongs to uid {st.st_uid}, who could replace the socket"
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o022 and not mode & stat.S_ISVTX:
            who = "everyone" if mode & 0o002 else "its group"
            return f"{directory} (mode {mode:04o}) is writable by {who}, who could replace the socket"
    return None


def _self_and_parents(directory: Path) -> tuple[Path, ...]:
    return (directory, *directory.parents)
