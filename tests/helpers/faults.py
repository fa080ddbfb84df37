"""Injected failures shared by the store's and the daemon's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from cway_authd.store import files as files_module


def fail_nth_token_write(monkeypatch: pytest.MonkeyPatch, n: int, error: OSError) -> None:
    """Make the ``n``-th write of a token file raise ``error`` (a full or failing disk midway);
    every other write goes through. ``monkeypatch.undo()`` restores the real writer."""
    real_write, real_temp = files_module.atomic_write, files_module.write_temp
    calls = 0

    def fail_now() -> bool:
        nonlocal calls
        calls += 1
        return calls == n

    def flaky(path: Path, data: bytes, mode: int = 0o600) -> None:
        if fail_now():
            raise error
        real_write(path, data, mode)

    def flaky_temp(path: Path, data: bytes, mode: int = 0o600) -> Path:
        if fail_now():
            raise error
        return real_temp(path, data, mode)

    # A save writes a temp file and renames it; a rotation rewrites in one call: both count.
    monkeypatch.setattr(files_module, "atomic_write", flaky)
    monkeypatch.setattr(files_module, "write_temp", flaky_temp)
