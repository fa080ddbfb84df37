"""Key rotation: everything readable after, old key retired, and a failure midway is harmless."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from cway_authd.store import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    FileTokenStore,
    KeyMaterial,
    KeyRotationError,
    resolve_store_key,
    rotate_key,
)
from cway_authd.store import files as files_module
from cway_contract.clock import ManualClock
from tests.helpers.faults import fail_nth_token_write

from .helpers import FakeKeyring, make_record

USERS = ["alice@x", "Bob@x", "carol@x"]


def _key_file_lines(state_dir: Path) -> list[str]:
    return (state_dir / "keys" / "store.key").read_text().split()


async def _fill(store: FileTokenStore) -> None:
    for user in USERS:
        await store.save(make_record(user))


async def _all_readable(state_dir: Path, clock: ManualClock) -> None:
    """Read everything through a *fresh* key resolution, as after a daemon restart."""
    fresh = FileTokenStore(state_dir / "tokens", resolve_store_key(state_dir, None), clock)
    for user in USERS:
        assert await fresh.load(user) == make_record(user)


async def test_rotation_with_key_file(store: FileTokenStore, key_material: KeyMaterial, state_dir: Path) -> None:
    await _fill(store)
    [old_key] = _key_file_lines(state_dir)

    report = await rotate_key(store, key_material)

    assert (report.rotated, report.set_aside, report.retired_keys) == (3, 0, 1)
    [new_key] = _key_file_lines(state_dir)
    assert new_key != old_key
    for path in store.directory.iterdir():
        with pytest.raises(InvalidToken):
            Fernet(old_key.encode()).decrypt(path.read_bytes())
        Fernet(new_key.encode()).decrypt(path.read_bytes())
    for user in USERS:
        assert await store.load(user) == make_record(user)
    await _all_readable(state_dir, ManualClock())


async def test_failure_midway_keeps_every_record_readable(
    store: FileTokenStore, key_material: KeyMaterial, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _fill(store)
    [old_key] = _key_file_lines(state_dir)
    fail_nth_token_write(monkeypatch, 2, OSError(5, "I/O error"))
    with pytest.raises(KeyRotationError, match="every record is still readable"):
        await rotate_key(store, key_material)
    monkeypatch.undo()

    lines = _key_file_lines(state_dir)
    assert len(lines) == 2 and lines[1] == old_key  # new first, old still there
    await _all_readable(state_dir, ManualClock())
    for user in USERS:
        assert await store.load(user) == make_record(user)

    report = await rotate_key(store, key_material)  # running again finishes the job
    assert report.rotated == 3
    assert len(_key_file_lines(state_dir)) == 1
    await _all_readable(state_dir, ManualClock())


async def test_rotation_with_keyring(state_dir: Path, fake_keyring: FakeKeyring, clock: ManualClock) -> None:
    material = resolve_store_key(state_dir, None)
    assert material.source == "keyring:FakeKeyring"
    store = FileTokenStore(state_dir / "tokens", material, clock)
    await _fill(store)
    old = fake_keyring.data[(KEYRING_SERVICE, KEYRING_USERNAME)]

    report = await rotate_key(store, material)

    stored = fake_keyring.data[(KEYRING_SERVICE, KEYRING_USERNAME)].split("\n")
    assert report.retired_keys == 1 and len(stored) == 1 and stored[0] != old
    await _all_readable(state_dir, clock)


async def test_env_key_cannot_rotate(state_dir: Path, clock: ManualClock) -> None:
    material = resolve_store_key(state_dir, Fernet.generate_key().decode())
    store = FileTokenStore(state_dir / "tokens", material, clock)
    await _fill(store)
    before = {p.name: p.read_bytes() for p in store.directory.iterdir()}
    with pytest.raises(KeyRotationError, match="CWAY_MCP_STORE_KEY"):
        await rotate_key(store, material)
    assert {p.name: p.read_bytes() for p in store.directory.iterdir()} == before
    assert material.key_count == 1


async def test_rotation_sets_aside_unreadable_files(
    store: FileTokenStore, key_material: KeyMaterial, events: list[tuple[str, dict[str, str]]]
) -> None:
    await _fill(store)
    broken = store.directory / make_record("carol@x").file_name
    broken.write_bytes(b"garbage")
    report = await rotate_key(store, key_material)
    assert (report.rotated, report.set_aside) == (2, 1)
    assert [e[1]["reason"] for e in events] == ["decrypt_failed"]
    assert await store.load("alice@x") == make_record("alice@x")


async def test_a_new_account_saved_during_a_rotation_ends_up_under_the_new_key(
    store: FileTokenStore, key_material: KeyMaterial, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The racy case: a save for an account with no file yet is mid-write when rotation starts.

    Had the save encrypted before its write (old key) and the rotation listed the files before the
    write landed, the file would be missed by the re-encryption and left under the retired key.
    """
    await _fill(store)
    newcomer = make_record("dave@x")
    real_write = files_module.write_temp
    writing, release = threading.Event(), threading.Event()

    def gated(path: Path, data: bytes, mode: int = 0o600) -> Path:
        if path.name == newcomer.file_name and not release.is_set():
            writing.set()
            assert release.wait(10)
        return real_write(path, data, mode)

    # The point the race is about: the rotation (new key already added) starts listing the files while
    # the save is still inside its write. No public hook reaches it, so the listing itself signals.
    listing = threading.Event()
    real_listing = store._record_names_locked

    def signalled_listing() -> list[str]:
        listing.set()
        return real_listing()

    monkeypatch.setattr(files_module, "write_temp", gated)  # the save's unlocked phase (temp file + fsync)
    monkeypatch.setattr(store, "_record_names_locked", signalled_listing)
    save = asyncio.create_task(store.save(newcomer))
    assert await asyncio.to_thread(writing.wait, 10)  # the save is inside its write
    rotation = asyncio.create_task(rotate_key(store, key_material))
    assert await asyncio.to_thread(listing.wait, 10)  # the rotation has added its key and is listing the files
    release.set()
    await save
    report = await rotation

    assert report.rotated == 3  # dave was not on disk when listed: his save itself re-encrypted under the new key
    [new_key] = _key_file_lines(state_dir)
    Fernet(new_key.encode()).decrypt((store.directory / newcomer.file_name).read_bytes())
    fresh = FileTokenStore(state_dir / "tokens", resolve_store_key(state_dir, None), ManualClock())
    assert await fresh.load("dave@x") == newcomer
    await _all_readable(state_dir, ManualClock())
