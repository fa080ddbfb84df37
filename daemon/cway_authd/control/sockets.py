"""Claiming the daemon's two listening sockets, before any server runs on them.

The runner binds the sockets itself and hands them to uvicorn (``Server.serve(sockets=...)``)
instead of passing ``uds=``/``port=``, for two reasons: a Unix socket bound by uvicorn is
created with the process umask and only then chmod-ed (0666 by default, for a moment), and a
busy TCP port makes uvicorn ``sys.exit``. Here the control socket is bound under umask 0o177,
chmod 0600 and verified *before* ``listen()``, so it never exists with a looser mode, and every
refusal is a one-line :class:`StartupError` carrying the exit status it means.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import socket
import stat
from pathlib import Path

from cway_authd.daemon_exit import EXIT_ALREADY_RUNNING, EXIT_FAILED, EXIT_PERMISSIONS, EXIT_PORT_IN_USE
from cway_contract import RedirectTarget, socket_location_problem, unusable_path

log = logging.getLogger("cway_authd.runner")

SOCKET_MODE = 0o600
# The callback listener's listen() queue, and the most connections asyncio accepts in one go. Small,
# so that a flood of reconnects is accepted in small bites between the owner's requests (median
# bearer latency under a reconnecting 1 100-connection flood: 108 ms at 64, 12 ms at 16); a browser
# finishing a sign-in needs a handful of connections at most.
CALLBACK_BACKLOG = 16


class StartupError(Exception):
    """A reason not to start, worded as one line for the operator, with the exit status it means."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def prepare_socket_dir(socket_path: Path) -> None:
    """Create the socket's directory 0700 (or check an existing one) with the store's rules."""
    from cway_authd.store import StorePermissionError, ensure_private_dir

    try:
        ensure_private_dir(socket_path.parent)
    except StorePermissionError as exc:
        raise StartupError(f"socket directory refused: {exc}", EXIT_PERMISSIONS) from None
    except OSError as exc:
        raise StartupError(f"cannot create the socket directory: {unusable_path(socket_path.parent, exc)}") from None


def check_socket_location(socket_path: Path) -> None:
    """Refuse to serve where every client would refuse the socket (the rule clients apply on connecting)."""
    problem = socket_location_problem(socket_path)
    if problem is not None:
        raise StartupError(
            f"no client would trust a socket at {socket_path}: {problem}; set CWAY_MCP_SOCKET to a path "
            "in a directory only you can write to (e.g. under $XDG_RUNTIME_DIR)",
            EXIT_PERMISSIONS,
        )


def probe_socket(socket_path: Path, *, remove_stale: bool = True) -> bool:
    """True if something is listening on ``socket_path``; a dead socket file is removed if ``remove_stale``."""
    try:
        st = os.lstat(socket_path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        raise StartupError(
            f"{socket_path} exists and is not a socket; move it away or set CWAY_MCP_SOCKET", EXIT_PERMISSIONS
        )
    if st.st_uid != os.geteuid():
        raise StartupError(
            f"{socket_path} belongs to uid {st.st_uid}, not to you; remove it or set CWAY_MCP_SOCKET", EXIT_PERMISSIONS
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2.0)
    try:
        probe.connect(str(socket_path))
    except (ConnectionRefusedError, FileNotFoundError):
        if remove_stale:
            log.info("removing stale socket %s (no daemon behind it)", socket_path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(socket_path)
        return False
    except OSError as exc:
        raise StartupError(f"cannot probe the existing socket {socket_path}: {exc.strerror or exc}") from None
    finally:
        probe.close()
    return True


def bind_control_socket(socket_path: Path) -> tuple[socket.socket, tuple[int, int]]:
    """Bind and verify the 0600 control socket; return it (listening) and its (dev, inode).

    The umask is process-wide, so it is changed only around ``bind`` and only ever tightened.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(socket_path))
        finally:
            os.umask(old_umask)
        os.chmod(socket_path, SOCKET_MODE)
        st = os.lstat(socket_path)
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid() or mode & 0o077:
            os.unlink(socket_path)
            raise StartupError(
                f"{socket_path} did not come out as an owner-only socket (mode {mode:04o})", EXIT_PERMISSIONS
            )
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"cway-auth daemon already running (socket {socket_path} was just taken)", EXIT_ALREADY_RUNNING
            ) from None
        raise StartupError(f"cannot bind the control socket {socket_path}: {exc.strerror or exc}") from None
    except StartupError:
        sock.close()
        raise
    return sock, (st.st_dev, st.st_ino)


def remove_socket_if_ours(socket_path: Path, identity: tuple[int, int]) -> None:
    """Unlink the socket file unless a successor has replaced it in the meantime."""
    try:
        st = os.lstat(socket_path)
    except FileNotFoundError:
        return
    if (st.st_dev, st.st_ino) == identity:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)


def loopback_addresses(host: str) -> list[tuple[socket.AddressFamily, str]]:
    """Where to listen for ``host`` from ``AZURE_REDIRECT_URI``; never a non-loopback address.

    ``localhost`` means 127.0.0.1 *and* ::1 when the machine has IPv6: browsers often try ::1
    first, and leaving it free would let another local program catch the redirect there.
    """
    if host.lower() == "localhost":
        return [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
    address = ipaddress.ip_address(host.strip("[]"))
    if not address.is_loopback:
        raise StartupError(f"AZURE_REDIRECT_URI host {host} is not a loopback address")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return [(family, str(address))]


def bind_callback_sockets(redirect: RedirectTarget) -> list[socket.socket]:
    """Bind the loopback listener(s) for the redirect URI, or explain why the port is unusable."""
    socks: list[socket.socket] = []
    candidates = loopback_addresses(redirect.host)
    try:
        for index, (family, address) in enumerate(candidates):
            optional = index > 0  # the ::1 twin of "localhost" is skipped if this machine has no IPv6
            try:
                # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto
                # says TCP, and without it every keep-alive response waits ~40 ms for a delayed ACK.
                sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            except OSError:
                if optional:
                    continue
                raise
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind past TIME_WAIT only
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address, redirect.port))
                sock.listen(CALLBACK_BACKLOG)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                if optional and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue
                if exc.errno == errno.EADDRINUSE:
                    raise StartupError(
                        f"port {redirect.port} (AZURE_REDIRECT_URI) is in use by another program on {address}; "
                        "stop it, or pick another port in AZURE_REDIRECT_URI and register that URI in Entra ID",
                        EXIT_PORT_IN_USE,
                    ) from None
                raise StartupError(
                    f"cannot listen on {address} port {redirect.port} (AZURE_REDIRECT_URI): {exc.strerror or exc}"
                ) from None
            socks.append(sock)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks
