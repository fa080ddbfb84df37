"""Shared fixtures for the token-store tests.

Every test runs with HOME/XDG pointed into tmp_path and the keyring forced to the "fail"
backend, so nothing here can read or write the developer's real keyring or home directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from cway_authd.store import FileTokenStore, KeyMaterial, resolve_store_key
from cway_contract.clock import ManualClock

from .helpers import START, FakeKeyring


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("CWAY_MCP_STORE_KEY", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def fake_keyring() -> Iterator[FakeKeyring]:
    backend = FakeKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def key_material(state_dir: Path) -> KeyMaterial:
    return resolve_store_key(state_dir, env_key=None, use_keyring=False)


@pytest.fixture
def events() -> list[tuple[str, dict[str, str]]]:
    return []


@pytest.fixture
def store(
    state_dir: Path,
    key_material: KeyMaterial,
    clock: ManualClock,
    events: list[tuple[str, dict[str, str]]],
) -> FileTokenStore:
    return FileTokenStore(state_dir / "tokens", key_material, clock, lambda n, p: events.append((n, p)))
