"""The launchd agent for the daemon, built as data and serialised with :mod:`plistlib`.

Never by text substitution: a path is data, and pasting it into XML (or into an XML comment,
where ``--`` is not allowed) breaks the file for paths that are perfectly valid on disk.

Why no ``Sockets`` entry (launchd's socket activation): taking the socket from launchd needs
``launch_activate_socket(3)`` from libSystem, reachable from Python only through ctypes, and it
cannot be exercised anywhere but on a logged-in macOS session, which this project's tests do not
have. The agent runs at load (``RunAtLoad``) instead, so the daemon is up at login, and the race
that socket activation would settle (two shims autostarting at once) is settled by the state-dir
lock and the daemon's record of its socket (see :mod:`cway_contract.discovery`).

No restart loop: launchd's ``KeepAlive`` cannot skip chosen exit codes, so under launchd
(``CWAY_MCP_SUPERVISOR=launchd``) the daemon exits 0 after a "will never work until fixed"
failure, having recorded it for ``cway-auth service status``, and ``KeepAlive`` with
``SuccessfulExit=false`` restarts only real crashes, at most every ``ThrottleInterval`` seconds.
"""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

from cway_contract import DEFAULT_STOP_TIMEOUT_SECONDS

LAUNCHD_LABEL = "se.cway.mcp.daemon"
SUPERVISOR_VARIABLE = "CWAY_MCP_SUPERVISOR"


def agent(executable: Path, log_dir: Path, *, stop_timeout: int = DEFAULT_STOP_TIMEOUT_SECONDS) -> dict[str, Any]:
    """The agent's property list as a dict (paths absolute: launchd expands neither ~ nor $HOME)."""
    log_file = str(log_dir / "daemon.log")
    return {
        "Label": LAUNCHD_LABEL,
        # The daemon writes and rotates daemon.log itself; launchd's redirection below only catches
        # what is printed before logging is set up (it is the same file, opened for appending).
        "ProgramArguments": [str(executable), "daemon", "--log-file", log_file],
        "RunAtLoad": True,
        # Restart after a crash, not after a clean stop or a recorded permanent failure (exit 0).
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "ProcessType": "Background",
        # CWAY_STOP_TIMEOUT_SECONDS: the daemon plans its own shutdown to end well inside it.
        "ExitTimeOut": stop_timeout,
        "Umask": 0o077,  # everything it creates is private to you
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1", SUPERVISOR_VARIABLE: "launchd"},
        "StandardOutPath": log_file,
        "StandardErrorPath": log_file,
    }


def render(executable: Path, log_dir: Path, *, stop_timeout: int = DEFAULT_STOP_TIMEOUT_SECONDS) -> str:
    return plistlib.dumps(agent(executable, log_dir, stop_timeout=stop_timeout), sort_keys=False).decode("utf-8")
