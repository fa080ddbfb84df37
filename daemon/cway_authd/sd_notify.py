"""systemd's readiness protocol (``Type=notify``), in a few lines instead of a dependency.

systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket); the service sends
datagrams such as ``READY=1`` to it. Outside systemd the variable is absent and this does nothing.
The daemon says READY=1 only once its control socket answers, so that ``systemctl --user start``
returns when a shim can connect, and STOPPING=1 when it begins a graceful stop.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send one notification; True if it was sent (False outside systemd or on any failure)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("cannot notify systemd (%s): %s", message.split("=", 1)[0], exc.strerror or exc)
        return False
    return True
