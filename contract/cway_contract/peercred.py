"""Who is on the other end of a connected Unix socket: the kernel's answer, not the client's.

The daemon hands out bearer tokens over a Unix socket. File permissions (a 0700 directory
holding a 0600 socket) already keep other users out, but permissions can be loosened by
mistake, and a socket can be passed around. So, like OpenSSH's ssh-agent, the daemon also
asks the kernel for the credentials of every peer and refuses anyone who is not the daemon's
own user. Credentials obtained this way cannot be forged by the client: the kernel records
them at ``connect()`` time.

* Linux: ``SO_PEERCRED`` returns ``struct ucred { pid_t pid; uid_t uid; gid_t gid; }``.
* macOS (and the BSDs that share the call): ``LOCAL_PEERCRED`` at level ``SOL_LOCAL`` returns
  ``struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }``
  (what ``getpeereid(3)`` uses), and ``LOCAL_PEERPID`` gives the pid.
* Anything else: :class:`PeerCredentialsUnavailable`. A daemon that cannot tell who is asking
  must not answer, so callers treat this as a refusal rather than guessing.

Only the standard library is used here, so the module is cheap to import and easy to audit. It
lives in ``cway_contract`` because both sides use it: the daemon checks who connected to it, and
the client (:mod:`cway_contract.socket_trust`) checks who it connected to.
"""

from __future__ import annotations

import socket
import struct
import sys
from dataclasses import dataclass

# macOS <sys/un.h>: SOL_LOCAL = 0, LOCAL_PEERCRED = 0x001, LOCAL_PEERPID = 0x002.
# Python's socket module does not export these names, so they are spelled out here.
_SOL_LOCAL = 0
_LOCAL_PEERCRED = 0x001
_LOCAL_PEERPID = 0x002
_XUCRED_VERSION = 0
# Native alignment ("@") inserts the two padding bytes after the short, as the C compiler does.
_XUCRED_FORMAT = "@IIh16I"
_UCRED_FORMAT = "3i"


class PeerCredentialsUnavailable(OSError):
    """The peer's credentials could not be read; the connection must be refused."""


@dataclass(frozen=True)
class PeerCredentials:
    """What the kernel says about the process that connected.

    ``pid`` may be ``None`` where the platform cannot report it; ``uid`` is always known,
    because without it nothing can be decided.
    """

    pid: int | None
    uid: int
    gid: int | None


def peer_credentials(sock: socket.socket) -> PeerCredentials:
    """Return the credentials of the peer of the connected ``AF_UNIX`` socket ``sock``."""
    if sock.family != socket.AF_UNIX:
        raise PeerCredentialsUnavailable(f"peer credentials need an AF_UNIX socket, not {sock.family!r}")
    if sys.platform.startswith("linux"):
        return _linux_peer_credentials(sock)
    if sys.platform == "darwin":
        return _darwin_peer_credentials(sock)
    raise PeerCredentialsUnavailable(f"reading peer credentials is not implemented on {sys.platform}")


def _linux_peer_credentials(sock: socket.socket) -> PeerCredentials:
    so_peercred = getattr(socket, "SO_PEERCRED", 17)  # 17 on every Linux architecture Python runs on
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize(_UCRED_FORMAT))
    except OSError as exc:
        raise PeerCredentialsUnavailable(f"SO_PEERCRED failed: {exc.strerror or exc}") from None
    pid, uid, gid = struct.unpack(_UCRED_FORMAT, raw)
    # The kernel reports uid/gid -1 (overflow id) for a peer it cannot describe; refuse those.
    if uid < 0:
        raise PeerCredentialsUnavailable("SO_PEERCRED returned no uid")
    return PeerCredentials(pid=pid if pid > 0 else None, uid=uid, gid=gid if gid >= 0 else None)


def _darwin_peer_credentials(sock: socket.socket) -> PeerCredentials:
    try:
        raw = sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, struct.calcsize(_XUCRED_FORMAT))
    except OSError as exc:
        raise PeerCredentialsUnavailable(f"LOCAL_PEERCRED failed: {exc.strerror or exc}") from None
    if len(raw) < struct.calcsize("@IIh"):
        raise PeerCredentialsUnavailable("LOCAL_PEERCRED returned a short struct xucred")
    raw = raw.ljust(struct.calcsize(_XUCRED_FORMAT), b"\0")
    version, uid, ngroups, *groups = struct.unpack(_XUCRED_FORMAT, raw)
    if version != _XUCRED_VERSION:
        raise PeerCredentialsUnavailable(f"LOCAL_PEERCRED returned xucred version {version}")
    gid = groups[0] if ngroups > 0 else None
    pid: int | None
    try:
        (pid,) = struct.unpack("@i", sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERPID, struct.calcsize("@i")))
    except OSError:
        pid = None  # older macOS: the uid is what matters; the pid is only for the audit log
    return PeerCredentials(pid=pid if pid and pid > 0 else None, uid=uid, gid=gid)
