"""The committed 0.1.0 state (tests/fixtures/upgrade/v0.1.0), copied where a test may use it.

Git keeps no modes, and the daemon refuses a state dir that group or others can read, so the copy
gets 0700 folders and 0600 files, as the daemon left them. The emulator is taught the refresh
tokens Cway had issued to those accounts (live ones usable once, spent ones already used), which is
what a real Cway would know about them: a refresh from a stale token fails like it would there.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from cway_emulator.cway_core import _Refresh
from cway_emulator.server import EmulatorServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "v0.1.0"


def accounts() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / "accounts.json").read_text())["accounts"]
    return data


def copy_state(target: Path) -> Path:
    """``target`` becomes a private copy of the fixture state dir; returns it."""
    shutil.copytree(FIXTURES / "state", target)
    for root, dirs, files in os.walk(target):
        os.chmod(root, 0o700)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            os.chmod(os.path.join(root, name), 0o600)
    return target


def teach_refresh_tokens(emu: EmulatorServer, live: dict[str, str], spent: dict[str, list[str]]) -> None:
    core = emu.emulator.cway
    expires = emu.clock.now() + timedelta(days=1)
    with emu.emulator.store.lock:
        for username, token in live.items():
            core.refresh[token] = _Refresh(username, emu.emulator.store.generation(username), expires)
        for username, tokens in spent.items():
            for token in tokens:
                core.refresh[token] = _Refresh(username, emu.emulator.store.generation(username), expires, True)


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int, int]]:
    """Every path under ``root``: content (files), mode and mtime in ns: what "nothing rewritten" compares."""
    seen: dict[str, tuple[bytes | None, int, int]] = {}
    for path in sorted([root, *root.rglob("*")]):
        st = path.lstat()
        content = path.read_bytes() if path.is_file() else None
        seen[str(path.relative_to(root))] = (content, st.st_mode, st.st_mtime_ns)
    return seen
