"""Run the daemon: open the core, claim the socket, serve two listeners, shut down cleanly.

The order of start-up is chosen so that every failure is a clean one-line message and nothing
is left half-claimed:

1. the socket directory is created 0700 or checked (owner, no group/other bits), ssh-agent style,
   and the directories above it are checked as every client checks them (nobody else may replace
   the socket); a daemon no client would trust does not start;
2. an existing socket is probed: a live daemon answering on it is never clobbered ("already
   running, pid N");
3. the core is opened (it takes the state-dir lock and resolves the store key); only now is a
   dead socket (connect refused) unlinked as stale: before the lock, a refused connect may mean
   a daemon that has bound its socket but not yet called ``listen()``;
4. the loopback callback port is bound (so "port in use" is reported before anything listens);
5. the Unix socket is bound by us, under umask 0o177, then chmod 0600 and verified *before*
   ``listen()``, so there is no window in which it exists with a looser mode;
6. both uvicorn servers start on the pre-bound sockets in one event loop.

The sockets are bound by :mod:`cway_authd.control.sockets` (why: see there). The servers are
:class:`uvicorn.Server` subclasses that leave signals alone; the runner installs one
SIGTERM/SIGINT handler for both, which lets in-flight requests finish, then stops the core and
removes the socket file (only if it is still ours).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from cway_authd import last_error
from cway_authd.control.socket_activation import ActivationError, passed_control_socket
from cway_authd.control.sockets import (
    CALLBACK_BACKLOG,
    StartupError,
    bind_callback_sockets,
    bind_control_socket,
    check_socket_location,
    prepare_socket_dir,
    probe_socket,
    remove_socket_if_ours,
)
from cway_authd.daemon_exit import EXIT_ALREADY_RUNNING, EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_PERMISSIONS, supervisor
from cway_authd.daemon_log import LOG_FORMAT as _LOG_FORMAT
from cway_authd.sd_notify import notify
from cway_contract import SYSTEM_CLOCK, Clock, ConfigError, DaemonRecord, Settings, remove_record, write_record

if TYPE_CHECKING:
    from cway_authd.core import DaemonCore

log = logging.getLogger("cway_authd.runner")

# The listeners' share of a stop is ShutdownBudget.drain (CWAY_STOP_TIMEOUT_SECONDS, see shutdown_budget.py).
GRACEFUL_SHUTDOWN_SECONDS = 35


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


def build_server(
    app: Any, *, peer_checked: bool, log_level: str = "info", graceful_seconds: float = GRACEFUL_SHUTDOWN_SECONDS
) -> uvicorn.Server:
    """A server for pre-bound sockets. ``peer_checked`` selects the SO_PEERCRED-checking protocol."""
    from cway_authd.control.guard import control_protocol
    from cway_authd.fd_budget import callback_connection_cap
    from cway_authd.web.callback_guard import guarded_protocol

    config = uvicorn.Config(
        app,
        # The loopback port is open to every local user: a capped, timed-out protocol (callback_guard);
        # the socket's is peer-checked, capped and timed out too (control_guard): a buggy client is enough.
        http=control_protocol() if peer_checked else guarded_protocol(callback_connection_cap()),
        # uvicorn hands this to asyncio as the number of connections accepted per wake-up, too.
        backlog=2048 if peer_checked else CALLBACK_BACKLOG,
        ws="none",
        lifespan="off",
        log_config=None,
        log_level=log_level.lower(),
        access_log=False,
        proxy_headers=False,  # nobody sits in front of us; never trust X-Forwarded-*
        server_header=False,
        timeout_graceful_shutdown=max(1, int(graceful_seconds)),
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
    from cway_authd.fd_budget import raise_fd_limit
    from cway_authd.store import StoreError, StoreLockedError, StorePermissionError
    from cway_authd.store.format import StoreVersionError

    raise_fd_limit()
    try:
        passed = passed_control_socket()
    except ActivationError as exc:
        return _failed(settings, StartupError(str(exc), EXIT_PERMISSIONS))
    if passed is not None:
        if passed[1] != settings.socket_path:
            log.info("using the socket the service manager passed, %s (not %s)", passed[1], settings.socket_path)
            settings = dataclasses.replace(settings, socket_path=passed[1])
        try:
            check_socket_location(settings.socket_path)
        except StartupError as exc:
            passed[0].close()
            return _failed(settings, exc)
    else:
        try:
            prepare_socket_dir(settings.socket_path)
            check_socket_location(settings.socket_path)
            await _refuse_live_daemon(settings.socket_path, remove_stale=False)
        except StartupError as exc:
            return _failed(settings, exc)
    from cway_authd.core import DaemonCore

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
        elif isinstance(exc, ConfigError | StoreVersionError):  # a newer store: restarting cannot help
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
        code = await _serve(core, settings, ready, shutdown, passed[0] if passed else None)
    finally:
        with contextlib.suppress(Exception):
            await core.stop()
    if core.lost_at_shutdown:  # refreshed tokens no disk would take (logged by name): not a clean exit
        return EXIT_FAILED
    return code


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
    from cway_authd.control.api import create_control_app
    from cway_authd.fd_budget import filter_accept_errors
    from cway_authd.web.callback_app import create_callback_app

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
    graceful = core.shutdown_budget.drain
    control = build_server(
        create_control_app(core, settings.socket_path),
        peer_checked=True,
        log_level=settings.log_level,
        graceful_seconds=graceful,
    )
    callback = build_server(
        create_callback_app(core, settings), peer_checked=False, log_level=settings.log_level, graceful_seconds=graceful
    )
    servers = (control, callback)
    uninstall = _install_signal_handlers(stop, servers)
    unfilter = filter_accept_errors(asyncio.get_running_loop())
    try:
        # Recorded as soon as the socket listens (connections wait in its backlog), not once serving:
        # a client that finds the socket answering must also find the record.
        record_daemon(settings)
        serving = asyncio.Event()  # the stored accounts are loaded once the listeners accept connections
        try:
            await core.start(load_when=serving)
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
        serving.set()
        if ok:
            log.info(
                "cway-auth daemon %d ready: control socket %s, sign-in callback %s",
                os.getpid(),
                settings.socket_path,
                settings.redirect.uri,
            )
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
        await core.begin_shutdown()  # the stop's clock starts; unsaved accounts go to the rescue store now
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


async def _refuse_live_daemon(socket_path: Path, *, remove_stale: bool = True) -> None:
    """Leave a live daemon alone; unlink a stale socket file (``remove_stale``); refuse anything else there."""
    if not probe_socket(socket_path, remove_stale=remove_stale):
        return
    from cway_contract import DaemonClient, DaemonError, DaemonUnavailable

    pid: str = "unknown"
    try:
        async with DaemonClient(socket_path, timeout=5.0) as client:
            pid = str((await client.health()).pid)
    except (DaemonUnavailable, DaemonError) as exc:
        log.debug("the live socket did not answer /v1/health: %s", exc)
    raise StartupError(f"cway-auth daemon already running, pid {pid} (socket {socket_path})", EXIT_ALREADY_RUNNING)
