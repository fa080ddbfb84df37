"""Run the daemon: open the core, claim the socket, serve two listeners, shut down cleanly.

The order of start-up is chosen so that every failure is a clean one-line message and nothing
is left half-claimed:

1. the socket directory is created 0700 or checked (owner, no group/other bits), ssh-agent style;
2. an existing socket is probed: a live daemon answering on it is never clobbered ("already
   running, pid N");
3. the core is opened (it takes the state-dir lock and resolves the store key); only now is a
   dead socket (connect refused) unlinked as stale: before the lock, a refused connect may mean
   a daemon that has bound its socket but not yet called ``listen()``;
4. the loopback callback port is bound (so "port in use" is reported before anything listens);
5. the Unix socket is bound by us, under umask 0o177, then chmod 0600 and verified *before*
   ``listen()``, so there is no window in which it exists with a looser mode;
6. both uvicorn servers start on the pre-bound sockets in one event loop.

We bind the sockets ourselves instead of handing uvicorn ``uds=``/``port=``: uvicorn's UDS path
creates the socket with the process umask and only then chmods it (0666 by default), and its TCP
path reports a busy port by ``sys.exit``. The servers are :class:`uvicorn.Server` subclasses that
leave signals alone; the runner installs one SIGTERM/SIGINT handler for both, which lets in-flight
requests finish, then stops the core and removes the socket file (only if it is still ours).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import ipaddress
import logging
import os
import signal
import socket
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from cway_common.clock import SYSTEM_CLOCK, Clock
from cway_common.config import ConfigError, RedirectTarget, Settings
from cway_common.discovery import DaemonRecord, remove_record, write_record

from . import last_error
from .daemon_exit import (
    EXIT_ALREADY_RUNNING,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PERMISSIONS,
    EXIT_PORT_IN_USE,
    supervisor,
)
from .sd_notify import notify
from .socket_activation import ActivationError, passed_control_socket

if TYPE_CHECKING:
    from .core import DaemonCore

log = logging.getLogger("cway_authd.runner")

SOCKET_MODE = 0o600
# Long enough for a refresh that is retrying (RetryPolicy.budget, 30 s) to answer its caller;
# systemd's default TimeoutStopSec (90 s) and launchd's exit timeout (20 s + SIGKILL) bound it.
GRACEFUL_SHUTDOWN_SECONDS = 35
# The callback listener's listen() queue, and the most connections asyncio accepts in one go.
CALLBACK_BACKLOG = 64
_LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class StartupError(Exception):
    """A reason not to start, worded as one line for the operator, with the exit status it means."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``; leave an already configured root logger (tests, embedding) alone.

    uvicorn's own logging config is not used (``log_config=None``) and its access log is off:
    the callback URL's query string carries the authorization code.
    """
    logging.basicConfig(level=level, stream=sys.stderr, format=_LOG_FORMAT)
    for name in ("cway_authd", "uvicorn.error"):
        logging.getLogger(name).setLevel(level)
    # httpx logs every request URL at INFO; keep that out of the daemon log unless debugging.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True


class _Server(uvicorn.Server):
    """A uvicorn server that does not touch signal handlers: the runner owns them for both servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_server(app: Any, *, peer_checked: bool, log_level: str = "info") -> uvicorn.Server:
    """A server for pre-bound sockets. ``peer_checked`` selects the SO_PEERCRED-checking protocol."""
    from .callback_guard import guarded_protocol
    from .control_api import PeerCheckedH11Protocol
    from .fd_budget import callback_connection_cap

    config = uvicorn.Config(
        app,
        # The loopback port is open to every local user: a capped, timed-out protocol (callback_guard).
        http=PeerCheckedH11Protocol if peer_checked else guarded_protocol(callback_connection_cap()),
        # uvicorn hands this to asyncio as the number of connections accepted per wake-up, too.
        backlog=2048 if peer_checked else CALLBACK_BACKLOG,
        ws="none",
        lifespan="off",
        log_config=None,
        log_level=log_level.lower(),
        access_log=False,
        proxy_headers=False,  # nobody sits in front of us; never trust X-Forwarded-*
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return _Server(config)


async def run_daemon(
    settings: Settings,
    *,
    clock: Clock = SYSTEM_CLOCK,
    ready: Callable[[], None] | None = None,
    shutdown: asyncio.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``shutdown`` is set); return the process exit code.

    ``ready`` is called once both listeners accept requests. ``shutdown`` lets an embedding
    thread (tests) stop the daemon where signal handlers cannot be installed. Logging is the
    caller's to set up (``cway-auth daemon`` calls :func:`configure_logging`): it is process-wide
    state, and an embedding process (a test run) must not have its logger levels changed.
    """
    from .fd_budget import raise_fd_limit
    from .store import StoreError, StoreLockedError, StorePermissionError

    raise_fd_limit()
    try:
        passed = passed_control_socket()
    except ActivationError as exc:
        return _failed(settings, StartupError(str(exc), EXIT_PERMISSIONS))
    if passed is not None:
        if passed[1] != settings.socket_path:
            log.info("using the socket the service manager passed, %s (not %s)", passed[1], settings.socket_path)
            settings = dataclasses.replace(settings, socket_path=passed[1])
    else:
        try:
            prepare_socket_dir(settings.socket_path)
            await _refuse_live_daemon(settings.socket_path, remove_stale=False)
        except StartupError as exc:
            return _failed(settings, exc)
    from .core import DaemonCore

    try:
        core = await DaemonCore.open(settings, clock=clock)
    except (StoreError, ConfigError, OSError) as exc:
        if passed is not None:
            passed[0].close()
        code = EXIT_FAILED
        if isinstance(exc, StoreLockedError):
            code = EXIT_ALREADY_RUNNING
        elif isinstance(exc, StorePermissionError):
            code = EXIT_PERMISSIONS
        elif isinstance(exc, ConfigError):
            code = EXIT_CONFIG
        return _failed(settings, StartupError(f"cannot start: {exc}", code))
    try:
        if passed is None:
            try:
                # Only with the state-dir lock held may a socket that refuses connections be removed as
                # stale: before that, it may be the socket of a daemon that has bound but not yet listened.
                await _refuse_live_daemon(settings.socket_path)
            except StartupError as exc:
                return _failed(settings, exc)
        return await _serve(core, settings, ready, shutdown, passed[0] if passed else None)
    finally:
        with contextlib.suppress(Exception):
            await core.stop()


def _failed(settings: Settings, exc: StartupError) -> int:
    """Log why the daemon does not start and keep it for `cway-auth service status`."""
    log.error("%s", exc)
    last_error.write(settings.state_dir, exc.code, str(exc))
    return exc.code


async def _serve(
    core: DaemonCore,
    settings: Settings,
    ready: Callable[[], None] | None,
    shutdown: asyncio.Event | None,
    passed: socket.socket | None,
) -> int:
    from .callback_app import create_callback_app
    from .control_api import create_control_app
    from .fd_budget import filter_accept_errors

    try:
        tcp_socks = bind_callback_sockets(settings.redirect)
    except StartupError as exc:
        if passed is not None:
            passed.close()
        return _failed(settings, exc)
    identity: tuple[int, int] | None = None  # a passed socket is the service manager's to remove
    if passed is not None:
        uds = passed
    else:
        try:
            uds, identity = bind_control_socket(settings.socket_path)
        except StartupError as exc:
            for sock in tcp_socks:
                sock.close()
            return _failed(settings, exc)
    stop = shutdown or asyncio.Event()
    control = build_server(
        create_control_app(core, settings.socket_path), peer_checked=True, log_level=settings.log_level
    )
    callback = build_server(create_callback_app(core, settings), peer_checked=False, log_level=settings.log_level)
    servers = (control, callback)
    uninstall = _install_signal_handlers(stop, servers)
    unfilter = filter_accept_errors(asyncio.get_running_loop())
    try:
        try:
            await core.start()
        except Exception:
            log.exception("cannot start: the daemon core failed to start")
            last_error.write(settings.state_dir, EXIT_FAILED, "the daemon core failed to start (see its log)")
            return EXIT_FAILED
        tasks = [
            asyncio.create_task(control.serve(sockets=[uds]), name="control-server"),
            asyncio.create_task(callback.serve(sockets=tcp_socks), name="callback-server"),
        ]
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.01)
        ok = all(server.started for server in servers)
        if ok:
            log.info(
                "cway-auth daemon %d ready: control socket %s, sign-in callback %s",
                os.getpid(),
                settings.socket_path,
                settings.redirect.uri,
            )
            record_daemon(settings)
            last_error.clear(settings.state_dir)
            # Only now: `systemctl start` returns, and a shim may connect, once the socket answers.
            notify(f"READY=1\nSTATUS=serving on {settings.socket_path}\nMAINPID={os.getpid()}")
            if ready is not None:
                ready()
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            ok = stop.is_set()
        log.info("shutting down")
        notify("STOPPING=1")
        for server in servers:
            server.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("listener failed: %r", result)
                ok = False
        return EXIT_OK if ok else EXIT_FAILED
    finally:
        uninstall()
        unfilter()
        for sock in (uds, *tcp_socks):
            sock.close()
        if identity is not None:
            remove_socket_if_ours(settings.socket_path, identity)
        remove_record(settings.state_dir, os.getpid())
        log.info("stopped")


def record_daemon(settings: Settings) -> None:
    """Tell clients whose environment leads them elsewhere where this daemon (the lock holder) listens."""
    try:
        record = DaemonRecord(os.getpid(), settings.socket_path, settings.redirect.uri, supervisor())
        write_record(settings.state_dir, record)
    except OSError as exc:  # clients then rely on the socket rule alone
        log.warning("cannot record the daemon's socket in %s: %s", settings.state_dir, exc.strerror or exc)


def _install_signal_handlers(stop: asyncio.Event, servers: tuple[uvicorn.Server, ...]) -> Callable[[], None]:
    """SIGTERM/SIGINT → graceful stop; a second one forces the servers to drop in-flight requests."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.warning("%s again: not waiting for in-flight requests", sig.name)
            for server in servers:
                server.force_exit = True
        else:
            log.info("%s received", sig.name)
            stop.set()

    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig)

    def uninstall() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)

    return uninstall


def prepare_socket_dir(socket_path: Path) -> None:
    """Create the socket's directory 0700 (or check an existing one) with the store's rules."""
    from .store import StorePermissionError, ensure_private_dir

    try:
        ensure_private_dir(socket_path.parent)
    except StorePermissionError as exc:
        raise StartupError(f"socket directory refused: {exc}", EXIT_PERMISSIONS) from None
    except OSError as exc:
        raise StartupError(f"cannot create the socket directory {socket_path.parent}: {exc.strerror}") from None


async def _refuse_live_daemon(socket_path: Path, *, remove_stale: bool = True) -> None:
    """Leave a live daemon alone; unlink a stale socket file (``remove_stale``); refuse anything else there."""
    if not probe_socket(socket_path, remove_stale=remove_stale):
        return
    from cway_common.daemon_client import DaemonClient, DaemonError, DaemonUnavailable

    pid: str = "unknown"
    try:
        async with DaemonClient(socket_path, timeout=5.0) as client:
            pid = str((await client.health()).pid)
    except (DaemonUnavailable, DaemonError) as exc:
        log.debug("the live socket did not answer /v1/health: %s", exc)
    raise StartupError(f"cway-auth daemon already running, pid {pid} (socket {socket_path})", EXIT_ALREADY_RUNNING)


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
