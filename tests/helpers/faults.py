"""Injected failures shared by the store's and the daemon's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from cway_authd.store import files as files_module


def fail_nth_token_write(monkeypatch: pytest.MonkeyPatch, n: int, error: OSError) -> None:
    """Make the ``n``-th write of a token file raise ``error`` (a full or failing disk midway);
    every other write goes through. ``monkeypatch.undo()`` restores the real writer."""
    real_write = files_module.atomic_write
    calls = 0

    def flaky(path: Path, data: bytes, mode: int = 0o600) -> None:
        nonlocal calls
        calls += 1
        if calls == n:
            raise error
        real_write(path, data, mode)

    monkeypatch.setattr(files_module, "atomic_write", flaky)
