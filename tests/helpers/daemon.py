"""Run a real ``cway-auth`` daemon for a test, on a real Unix socket, and always stop it.

Two ways to run it, same API:

* ``mode="thread"`` (default): :func:`cway_authd.runner.run_daemon` in a background thread with
  its own event loop. Fast, shares the test's process (so a ``ManualClock`` can be injected and
  ``caplog`` sees the daemon's log), stopped through the runner's ``shutdown`` event because
  signal handlers only work in the main thread.
* ``mode="process"``: ``python -m cway_authd.cli daemon`` as a subprocess, for what only a real
  process shows: signals, exit codes, stderr, a second daemon competing for the socket.

Typical use, with the emulator started by the test::

    with EmulatorServer(auto_approve=True) as emu:
        env = daemon_env(emu.env())
        emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
        with running_daemon(env) as daemon:
            status = daemon.call(lambda c: c.start_sign_in(None))
            ...

Socket paths must fit ``sun_path`` (104 bytes on macOS), and pytest's ``tmp_path`` can be longer,
so :func:`short_tmpdir` makes ``/tmp/cw-XXXXXX`` directories instead; :func:`daemon_env` puts
HOME, state dir, socket, config file and store key inside one of them, so a test never touches
the developer's real configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from cryptography.fernet import Fernet

from cway_contract.clock import SYSTEM_CLOCK, Clock
from cway_contract.config import Settings, load_settings
from cway_contract.daemon_client import DaemonClient

T = TypeVar("T")

#: Environment variables a test daemon must never inherit from the developer's shell.
_CWAY_VARS_PREFIXES = ("CWAY_", "AZURE_", "AUTH_")


class DaemonStartFailed(RuntimeError):
    """The daemon exited (or never answered) before it was ready; ``exit_code`` and ``stderr`` tell why."""

    def __init__(self, message: str, exit_code: int | None, stderr: str = "") -> None:
        super().__init__(f"{message} (exit code {exit_code})\n{stderr}")
        self.exit_code = exit_code
        self.stderr = stderr


def short_tmpdir(prefix: str = "cw-") -> Path:
    """A fresh 0700 directory directly under /tmp, short enough for Unix socket paths."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago: the suite's one free-port helper.

    The kernel picks it (port 0), so parallel workers do not walk the same range; a server that
    can be handed a pre-bound socket should get one instead (no window at all).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def daemon_env(
    extra: Mapping[str, str] | None = None, *, base: Path | None = None, redirect_port: int | None = None
) -> dict[str, str]:
    """Settings for a hermetic daemon: everything under ``base`` (a new :func:`short_tmpdir` by default).

    ``extra`` (typically ``emu.env()``) is applied last. The result also carries ``CWAY_TEST_BASE``
    so that :func:`running_daemon` can remove the directory afterwards.
    """
    base = base or short_tmpdir()
    (base / "home").mkdir(exist_ok=True)
    config = base / "config.toml"
    config.touch()
    port = redirect_port or free_port()
    env = {
        "CWAY_TEST_BASE": str(base),
        "HOME": str(base / "home"),
        "CWAY_MCP_CONFIG": str(config),
        "CWAY_MCP_STATE_DIR": str(base / "state"),
        "CWAY_MCP_SOCKET": str(base / "run" / "daemon.sock"),
        "CWAY_MCP_STORE_KEY": Fernet.generate_key().decode(),
        "CWAY_MCP_OPEN_BROWSER": "0",
        "CWAY_MCP_LOG_LEVEL": "INFO",
        "AUTH_METHOD": "oauth2",
        "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
        "AZURE_REDIRECT_URI": f"http://localhost:{port}/callback",
        # Unreachable by default: tests that sign in pass the emulator's URLs in ``extra``.
        "AZURE_AUTHORITY": "http://127.0.0.1:9/tenant/v2.0",
        "CWAY_API_URL": "http://127.0.0.1:9/graphql",
        # Every tool, not the small default set: the end-to-end tests call tools of every toolset.
        # Tests of the default list and of enable_toolset override it (tests/shim/test_toolsets_e2e.py).
        "CWAY_TOOLSETS": "all",
    }
    env.update(extra or {})
    return env


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """``load_settings`` for the daemon, without the process environment or a stray ``.env``."""
    return load_settings(env, component="daemon", cwd=Path(env["CWAY_TEST_BASE"]))


def process_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` on top of the test process's environment, minus any cway-mcp setting from the shell."""
    merged = {k: v for k, v in os.environ.items() if not k.startswith(_CWAY_VARS_PREFIXES)}
    merged.pop("XDG_RUNTIME_DIR", None)
    merged.update(env)
    merged["PYTHONUNBUFFERED"] = "1"
    return merged


@dataclass
class RunningDaemon:
    """A started daemon. ``pid`` is the daemon's process (the test process in thread mode)."""

    env: dict[str, str]
    settings: Settings
    mode: Literal["thread", "process"]
    pid: int
    process: subprocess.Popen[bytes] | None = None
    stderr_path: Path | None = None
    exit_code: int | None = None
    _stop: Callable[[], int | None] = field(default=lambda: None, repr=False)

    @property
    def socket_path(self) -> Path:
        return self.settings.socket_path

    @property
    def callback_base(self) -> str:
        """``http://localhost:PORT``, the loopback listener's origin."""
        return f"http://localhost:{self.settings.redirect.port}"

    def call(self, fn: Callable[[DaemonClient], Awaitable[T]]) -> T:
        """Run one coroutine against a fresh :class:`DaemonClient` (from synchronous test code)."""

        async def run() -> T:
            async with DaemonClient(self.socket_path, timeout=15.0) as client:
                return await fn(client)

        return asyncio.run(run())

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path and self.stderr_path.exists() else ""

    def stop(self) -> int | None:
        """Stop gracefully (SIGTERM in process mode); idempotent; returns the exit code."""
        if self.exit_code is None:
            self.exit_code = self._stop()
        return self.exit_code


def _wait_for_socket(path: Path, alive: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            probe.connect(str(path))
            return
        time.sleep(0.05)
    raise TimeoutError(f"no daemon socket at {path} after {timeout}s")


def start_daemon(
    env: Mapping[str, str],
    *,
    mode: Literal["thread", "process"] = "thread",
    clock: Clock = SYSTEM_CLOCK,
    timeout: float = 20.0,
    preexec_fn: Callable[[], None] | None = None,
    command: Sequence[str] | None = None,
) -> RunningDaemon:
    """Start a daemon and wait until it serves; the caller must call ``.stop()`` (see :func:`running_daemon`).

    ``preexec_fn`` (process mode) runs in the child before ``exec``, e.g. to lower its fd limit.
    ``command`` (process mode) replaces ``python -m cway_authd.cli``, e.g. an installed ``cway-auth``.
    """
    env = dict(env)
    settings = settings_from_env(env)
    if mode == "process":
        return _start_process(env, settings, timeout, preexec_fn, command)
    if command is not None:
        raise ValueError("a command needs mode='process'")
    if clock is not SYSTEM_CLOCK and mode != "thread":
        raise ValueError("a custom clock needs mode='thread'")
    return _start_thread(env, settings, clock, timeout)


def _start_thread(env: dict[str, str], settings: Settings, clock: Clock, timeout: float) -> RunningDaemon:
    from cway_authd.runner import run_daemon

    ready = threading.Event()
    box: dict[str, object] = {}

    def target() -> None:
        async def main() -> int:
            box["loop"] = asyncio.get_running_loop()
            box["shutdown"] = shutdown = asyncio.Event()
            return await run_daemon(settings, clock=clock, ready=ready.set, shutdown=shutdown)

        try:
            box["code"] = asyncio.run(main())
        except BaseException as exc:
            box["error"] = exc
            box["code"] = -1

    thread = threading.Thread(target=target, name="cway-authd-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if not thread.is_alive() or time.monotonic() > deadline:
            _stop_thread(thread, box, reraise=False)
            code = box.get("code")
            raise DaemonStartFailed(
                "the daemon thread did not become ready",
                code if isinstance(code, int) else None,
                repr(box.get("error", "")),
            )

    def stop() -> int | None:
        return _stop_thread(thread, box)

    return RunningDaemon(env=env, settings=settings, mode="thread", pid=os.getpid(), _stop=stop)


def _stop_thread(thread: threading.Thread, box: dict[str, object], *, reraise: bool = True) -> int | None:
    loop, shutdown = box.get("loop"), box.get("shutdown")
    if thread.is_alive() and isinstance(loop, asyncio.AbstractEventLoop) and isinstance(shutdown, asyncio.Event):
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(shutdown.set)
    thread.join(30)
    if thread.is_alive():
        raise RuntimeError("the daemon thread did not stop within 30s")
    if reraise and "error" in box:
        raise RuntimeError("the daemon thread crashed") from box["error"]  # type: ignore[misc]
    code = box.get("code")
    return code if isinstance(code, int) else None


def _start_process(
    env: dict[str, str],
    settings: Settings,
    timeout: float,
    preexec_fn: Callable[[], None] | None = None,
    command: Sequence[str] | None = None,
) -> RunningDaemon:
    base = Path(env["CWAY_TEST_BASE"])
    stderr_path = base / f"daemon-{time.monotonic_ns()}.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [*(command or (sys.executable, "-m", "cway_authd.cli")), "daemon"],
            env=process_env(env),
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            preexec_fn=preexec_fn,
        )

    def stop() -> int | None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        return process.returncode

    daemon = RunningDaemon(
        env=env,
        settings=settings,
        mode="process",
        pid=process.pid,
        process=process,
        stderr_path=stderr_path,
        _stop=stop,
    )
    try:
        _wait_for_socket(settings.socket_path, lambda: process.poll() is None, timeout)
        daemon.call(lambda c: c.health())
    except Exception:
        code = daemon.stop()
        raise DaemonStartFailed("the daemon process did not become ready", code, daemon.stderr_text()) from None
    return daemon


@contextlib.contextmanager
def running_daemon(
    env: Mapping[str, str],
    *,
    mode: Literal["thread", "process"] = "thread",
    clock: Clock = SYSTEM_CLOCK,
    timeout: float = 20.0,
    cleanup: bool = True,
    preexec_fn: Callable[[], None] | None = None,
    command: Sequence[str] | None = None,
) -> Iterator[RunningDaemon]:
    """Start a daemon for the ``with`` block, stop it afterwards, and (``cleanup``) remove its base dir."""
    try:
        daemon = start_daemon(env, mode=mode, clock=clock, timeout=timeout, preexec_fn=preexec_fn, command=command)
    except BaseException:
        if cleanup and "CWAY_TEST_BASE" in env:
            shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)
        raise
    try:
        yield daemon
    finally:
        daemon.stop()
        if cleanup and "CWAY_TEST_BASE" in env:
            shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)
