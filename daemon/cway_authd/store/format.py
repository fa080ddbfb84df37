"""The token store's format version: ``tokens/store.json``, checked before anything in the store is touched.

Why: an upgrade must keep everyone signed in, and a *downgrade* (or an older daemon started by a
stale service unit next to a newer one) must not quietly sign everyone out. Without a marker an
older daemon meeting records it cannot parse would set each one aside as corrupt and clear the
refresh journal: every account lost. So the store says which format it holds, and a daemon that
finds a newer format than it knows refuses to start with one line naming both versions, before it
resolves the key, removes a temp file, replays the journal or reads a record.

The number is the record format (:data:`records.SCHEMA_VERSION`): record files and journal lines
are the same encrypted JSON record, so one version covers both. The marker is
``{"format": N, "written_by": "cway-mcp X.Y.Z"}``, 0600, written atomically: by the first daemon
that opens a store without one (stores written by 0.1.0 have none and are format 1), and by a
release that upgrades the format, *after* it has converted every record. A release that changes
the record format bumps ``SCHEMA_VERSION``, reads the previous format and writes the new one
(docs/upgrading.md has the policy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cway_auth_core import SCHEMA_VERSION, StoreError, atomic_write, read_private_file
from cway_contract import __version__

MARKER_NAME = "store.json"
STORE_FORMAT = SCHEMA_VERSION
_MAX_MARKER_BYTES = 4096


class StoreVersionError(StoreError):
    """The store was written by a newer release (or its marker is unreadable); nothing was changed."""


@dataclass(frozen=True)
class StoreFormat:
    format: int
    written_by: str | None


def read_store_format(directory: Path) -> StoreFormat | None:
    """The marker in ``directory`` (None when there is none: a new store, or one from 0.1.0). Read-only."""
    path = Path(directory) / MARKER_NAME
    raw = read_private_file(path, _MAX_MARKER_BYTES)  # refuses a symlink, a loose mode, another owner
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        value = data["format"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TypeError
        written_by = data.get("written_by")
        return StoreFormat(value, written_by if isinstance(written_by, str) else None)
    except (ValueError, KeyError, TypeError):
        raise StoreVersionError(
            f"{path} does not say which token store format it holds; nothing was changed: "
            f"restore it, or move it away if this store was written by cway-mcp {__version__} or older"
        ) from None


def check_store_format(directory: Path) -> StoreFormat | None:
    """Refuse a store newer than this release reads: one line, both versions, nothing touched."""
    found = read_store_format(directory)
    if found is not None and found.format > STORE_FORMAT:
        by = f" by {found.written_by}" if found.written_by else ""
        raise StoreVersionError(
            f"the token store in {directory} is format {found.format} (written{by}), newer than "
            f"cway-mcp {__version__} reads (format {STORE_FORMAT}); nothing was changed: "
            f"upgrade cway-mcp to {found.written_by or 'that release'} or later"
        )
    return found


def write_store_format(directory: Path) -> None:
    """Record that the store holds this release's format (atomic, 0600)."""
    body = json.dumps({"format": STORE_FORMAT, "written_by": f"cway-mcp {__version__}"}, sort_keys=True)
    atomic_write(Path(directory) / MARKER_NAME, body.encode() + b"\n")


def open_store_format(directory: Path) -> None:
    """At start-up, before the store is used: refuse a newer format; mark an unmarked or older store."""
    found = check_store_format(directory)
    if found is None or found.format < STORE_FORMAT:
        write_store_format(directory)


def store_refusal(state_dir: Path) -> str | None:
    """The line a daemon would refuse to start with because of the store's format, else None (for the CLI)."""
    from cway_auth_core import TOKENS_DIR_NAME

    try:
        check_store_format(Path(state_dir) / TOKENS_DIR_NAME)
    except StoreVersionError as exc:
        return str(exc)
    except (StoreError, OSError):
        return None  # another problem: the daemon's own start-up message names it
    return None
