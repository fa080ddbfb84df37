"""The daemon's exit statuses, and what a service manager should do with each.

Distinct statuses separate "try again later" from "will never work until someone fixes
something", so that the units can stop on the latter instead of restarting every few seconds
forever (systemd: ``RestartPreventExitStatus=2 3 4 5``; launchd, which cannot skip chosen
statuses, gets exit 0 for them, see :func:`for_supervisor`). ``cway-auth service status`` shows
the daemon's last error (:mod:`cway_authd.last_error`).

==== =============================================================================
0    stopped cleanly (SIGTERM/SIGINT)
1    failed; worth restarting (a listener died, an unexpected error)
2    configuration error (a setting is missing or wrong)
3    another daemon already runs for this socket or state dir
4    bad permissions: a socket, state or key path that others can reach or that is not yours,
     an unusable socket passed by the service manager
5    the callback port (``AZURE_REDIRECT_URI``) is in use by another program
==== =============================================================================
"""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_ALREADY_RUNNING = 3
EXIT_PERMISSIONS = 4
EXIT_PORT_IN_USE = 5

#: Restarting cannot help: someone has to change something first.
PERMANENT = frozenset({EXIT_CONFIG, EXIT_ALREADY_RUNNING, EXIT_PERMISSIONS, EXIT_PORT_IN_USE})


def supervisor() -> str | None:
    """Which service manager runs this process: "systemd", "launchd", or None (by hand, or a shim)."""
    if os.environ.get("CWAY_MCP_SUPERVISOR") == "launchd":
        return "launchd"
    if os.environ.get("INVOCATION_ID") or os.environ.get("NOTIFY_SOCKET"):
        return "systemd"
    return None


def for_supervisor(code: int) -> int:
    """launchd's KeepAlive restarts on any non-zero status: report a permanent failure as 0 there."""
    if code in PERMANENT and supervisor() == "launchd":
        return EXIT_OK
    return code
