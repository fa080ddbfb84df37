"""The daemon's own log file, for starts that have no journal: the shim's autostart and launchd.

Under systemd the daemon logs to stderr and journald stores and rotates it; in a terminal stderr
is the right place too. A daemon started in the background by the shim (or by launchd) used to
have its stderr redirected into ``daemon.log``, which nobody rotated: a flood of log lines could
fill the disk. With ``cway-auth daemon --log-file PATH`` the daemon owns the file instead: it is
opened without following symlinks, refused unless it is our own regular file, kept 0600, and
rotated by size (``MAX_BYTES`` x ``BACKUP_COUNT``), so its size is bounded however much is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cway_contract import PrivateRotatingFileHandler, make_private_dirs

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FILE_NAME = "daemon.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 3


def log_to_file(path: Path, level: str = "INFO") -> PrivateRotatingFileHandler:
    """Send the root logger to a size-rotated private file at ``path`` (raises ``OSError`` if unsafe)."""
    make_private_dirs(path.parent)
    handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
