"""Starting ``cway-auth daemon`` when a tool call finds no daemon on the socket.

MCP clients spawn the shim, not the daemon, and a person should not have to remember a second
command before their first tool call. So, unless ``CWAY_MCP_AUTOSTART=0``, the shim starts the
daemon detached (its own session, no stdin; the shim's stdout is the MCP channel and must never
receive a byte from it) and waits for its socket. The daemon writes ``<state dir>/daemon.log``
itself (``--log-file``: rotated by size); only what it prints before its logging is set up (an
interpreter crash) goes to that file through stderr. The file is opened with ``O_NOFOLLOW`` and
its owner checked before a byte is written, and the state dir is created 0700 whatever the umask.

Two shims may do this at the same moment; the daemon holds a lock on its state dir, so the
second one exits and both shims simply wait for the socket of the first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from cway_contract import (
    UNTRUSTED_SOCKET_ADVICE,
    DaemonClient,
    DaemonUnavailable,
    Settings,
    UntrustedDaemonSocket,
    make_private_dirs,
    open_private_append,
    unusable_path,
)

log = logging.getLogger(__name__)

#: How long to wait for a freshly started daemon to answer (it imports FastAPI, uvicorn, ...).
STARTUP_WAIT_SECONDS = 8.0
POLL_INTERVAL_SECONDS = 0.1
EARLY_EXIT_GRACE_SECONDS = 2.0
LOG_FILE_NAME = "daemon.log"

HOW_TO_START = (
    "Start it with `cway-auth daemon` (or install it as a login service with `cway-auth service install`), then retry."
)


def daemon_command() -> list[str]:
    """The ``cway-auth`` installed next to this interpreter, else the same code run as a module."""
    exe = Path(sys.executable).parent / "cway-auth"
    if exe.is_file() and os.access(exe, os.X_OK):
        return [str(exe), "daemon"]
    return [sys.executable, "-m", "cway_authd.cli", "daemon"]


def not_running_message(settings: Settings, detail: str) -> str:
    return (
        f"The cway-auth daemon is not running ({detail}) and CWAY_MCP_AUTOSTART=0 keeps this server from "
        f"starting it. {HOW_TO_START}"
    )


class DaemonLauncher:
    """Starts the daemon at most once at a time per process, then waits for it to answer."""

    def __init__(self, settings: Settings, client: DaemonClient, *, wait_seconds: float = STARTUP_WAIT_SECONDS) -> None:
        self._settings = settings
        self.client = client
        self._wait_seconds = wait_seconds
        self._lock = asyncio.Lock()

    @property
    def log_path(self) -> Path:
        return self._settings.state_dir / LOG_FILE_NAME

    async def answers(self) -> bool:
        try:
            await self.client.health()
        except DaemonUnavailable:
            return False
        except Exception:  # any answer at all (even an error body) means a daemon is there
            return True
        return True

    async def ensure_running(self, unavailable: DaemonUnavailable) -> None:
        """Return once a daemon answers; otherwise raise a ``ToolError`` saying how to start one.

        ``unavailable`` is the failure that brought us here, quoted when nothing can be done.
        """
        if isinstance(unavailable, UntrustedDaemonSocket):  # perhaps running, but refused: starting one cannot help
            raise ToolError(f"The cway-auth daemon's socket was refused: {unavailable}; {UNTRUSTED_SOCKET_ADVICE}.")
        if not self._settings.autostart:
            raise ToolError(not_running_message(self._settings, str(unavailable)))
        async with self._lock:
            if await self.answers():
                return
            try:
                process = await asyncio.to_thread(self._spawn)
            except OSError as exc:
                detail = unusable_path(exc.filename, exc) if exc.filename else (exc.strerror or str(exc))
                raise ToolError(
                    f"The cway-auth daemon is not running ({unavailable}) and starting it failed ({detail}). "
                    f"{HOW_TO_START}"
                ) from None
            log.info("started the cway-auth daemon (pid %d); waiting for %s", process.pid, self._settings.socket_path)
            if await self._wait_for_socket(process):
                return
        if process.poll() is not None:
            said = self.last_log_line()
            raise ToolError(
                f"The cway-auth daemon could not start (exit status {process.returncode}"
                + (f"; it said: {said}" if said else "")
                + f"; log: {self.log_path}). {HOW_TO_START}"
            )
        raise ToolError(
            f"The cway-auth daemon did not answer within {self._wait_seconds:g} s of being started "
            f"(see {self.log_path}). {HOW_TO_START}"
        )

    async def _wait_for_socket(self, process: subprocess.Popen[bytes]) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_seconds
        while loop.time() < deadline:
            if await self.answers():
                return True
            # A daemon that exits early either lost the race to another shim's daemon (whose socket
            # will answer in a moment) or cannot start at all: allow a short grace, not the full wait.
            if process.poll() is not None:
                deadline = min(deadline, loop.time() + EARLY_EXIT_GRACE_SECONDS)
            await asyncio.sleep(POLL_INTERVAL_SECONDS)
        return await self.answers()

    def last_log_line(self) -> str | None:
        """The daemon's own last word (e.g. its configuration error), for the message to the person."""
        try:
            fd = os.open(self.log_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)  # never read through a link
            with os.fdopen(fd, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
                lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return None
        return lines[-1][:300] if lines else None

    def _spawn(self) -> subprocess.Popen[bytes]:
        state_dir = self._settings.state_dir
        make_private_dirs(state_dir)
        fd = open_private_append(self.log_path)
        try:
            env = dict(os.environ)
            # The daemon must listen where this shim looks, whatever source the shim's settings came from.
            env["CWAY_MCP_SOCKET"] = str(self._settings.socket_path)
            env["CWAY_MCP_STATE_DIR"] = str(state_dir)
            return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [*daemon_command(), "--log-file", str(self.log_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=fd,
                start_new_session=True,
                close_fds=True,
                env=env,  # same working dir as the shim too, so that both read the same .env
            )
        finally:
            os.close(fd)
