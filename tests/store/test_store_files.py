"""FileTokenStore: encryption, modes, atomic writes, corrupt-file isolation, locks."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cway_authd.store import (
    EVENT_FILE_SET_ASIDE,
    FileTokenStore,
    KeyMaterial,
    StorePermissionError,
    TokenStore,
    record_file_name,
)
from cway_contract.clock import ManualClock

from .helpers import make_record

Events = list[tuple[str, dict[str, str]]]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


async def test_round_trip_and_nothing_plaintext_on_disk(store: FileTokenStore) -> None:
    record = make_record("Alice@Example.com")
    await store.save(record)
    loaded = await store.load("  alice@example.COM ")
    assert loaded == record
    assert loaded is not None and loaded.username == "Alice@Example.com"

    [path] = list(store.directory.iterdir())
    assert path.name == record_file_name("alice@example.com")
    raw = path.read_bytes()
    for secret in (record.access_token, record.refresh_token, "Alice@Example.com", "alice@example.com"):
        assert secret.encode() not in raw
    assert record.email is not None and record.email.encode() not in raw


async def test_file_readable_only_with_the_key(store: FileTokenStore, key_material: KeyMaterial) -> None:
    record = make_record()
    await store.save(record)
    raw = (store.directory / record.file_name).read_bytes()
    assert key_material.multifernet.decrypt(raw) == record.to_json_bytes()


async def test_missing_list_delete(store: FileTokenStore) -> None:
    assert await store.load("nobody@x") is None
    await store.save(make_record("Bob@x"))
    await store.save(make_record("alice@x"))
    assert [r.username for r in await store.list()] == ["alice@x", "Bob@x"]
    assert await store.delete("BOB@X") is True
    assert await store.delete("bob@x") is False
    assert [r.username for r in await store.list()] == ["alice@x"]


async def test_save_overwrites(store: FileTokenStore) -> None:
    await store.save(make_record("a@x"))
    newer = make_record("a@x", access_token="NEW-ACCESS")
    await store.save(newer)
    assert await store.load("a@x") == newer
    assert len(list(store.directory.iterdir())) == 1


@pytest.mark.usefixtures("permissive_umask")
async def test_modes_with_permissive_umask(state_dir: Path, key_material: KeyMaterial, clock: ManualClock) -> None:
    # key_material was resolved under umask 0 too (fixture order) – check its files as well
    key_file = state_dir / "keys" / "store.key"
    assert _mode(state_dir / "keys") == 0o700
    assert _mode(key_file) == 0o600
    store = FileTokenStore(state_dir / "tokens", key_material, clock)
    assert _mode(store.directory) == 0o700
    await store.save(make_record())
    assert _mode(store.directory / make_record().file_name) == 0o600


def test_protocol_conformance(store: FileTokenStore) -> None:
    assert isinstance(store, TokenStore)


# -- atomic writes -------------------------------------------------------------------------


@pytest.mark.parametrize("victim", ["replace", "fsync"])
async def test_failed_write_keeps_old_record(
    store: FileTokenStore, monkeypatch: pytest.MonkeyPatch, victim: str
) -> None:
    old = make_record("a@x")
    await store.save(old)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, victim, boom)
    with pytest.raises(OSError):
        await store.save(make_record("a@x", access_token="NEW"))
    monkeypatch.undo()

    assert await store.load("a@x") == old
    assert _names(store.directory) == {old.file_name}  # temp file cleaned up


async def test_crash_between_write_and_rename(store: FileTokenStore, key_material: KeyMaterial) -> None:
    """A process killed after writing the temp file but before the rename."""
    old = make_record("a@x")
    await store.save(old)
    target = store.directory / old.file_name
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from cway_auth_core import atomic
        os.replace = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        atomic.atomic_write(Path({str(target)!r}), b"PARTIAL-NEW-RECORD")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    stray = [n for n in _names(store.directory) if n != old.file_name]
    assert len(stray) == 1 and stray[0].startswith(".")

    assert await store.load("a@x") == old
    assert await store.list() == [old]

    # too new to be removed by default; removed once old enough (as on the next start)
    assert store.remove_stale_temp_files() == 0
    os.utime(store.directory / stray[0], (0, 0))
    FileTokenStore(store.directory, key_material, ManualClock())
    assert _names(store.directory) == {old.file_name}


# -- corrupt files -------------------------------------------------------------------------


def _garbage(path: Path, km: KeyMaterial) -> None:
    path.write_bytes(b"this is not a fernet token at all")


def _truncated(path: Path, km: KeyMaterial) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _empty(path: Path, km: KeyMaterial) -> None:
    path.write_bytes(b"")


def _wrong_key(path: Path, km: KeyMaterial) -> None:
    plaintext = km.multifernet.decrypt(path.read_bytes())
    path.write_bytes(Fernet(Fernet.generate_key()).encrypt(plaintext))


def _future_schema(path: Path, km: KeyMaterial) -> None:
    plaintext = km.multifernet.decrypt(path.read_bytes()).replace(b'"schema_version":1', b'"schema_version":2')
    path.write_bytes(km.multifernet.encrypt(plaintext))


def _other_account(path: Path, km: KeyMaterial) -> None:
    bob = path.parent / record_file_name("bob@x")
    path.write_bytes(bob.read_bytes())


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_garbage, "decrypt_failed"),
        (_truncated, "decrypt_failed"),
        (_empty, "decrypt_failed"),
        (_other_account, "username_mismatch"),
    ],
)
async def test_corrupt_file_is_set_aside(
    store: FileTokenStore,
    key_material: KeyMaterial,
    events: Events,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path, KeyMaterial], None],
    reason: str,
) -> None:
    alice, bob = make_record("alice@x"), make_record("bob@x")
    await store.save(alice)
    await store.save(bob)
    path = store.directory / alice.file_name
    damage(path, key_material)
    damaged = path.read_bytes()

    with caplog.at_level(logging.WARNING, logger="cway_authd.store"):
        assert await store.load("Alice@X") is None

    aside = f"{alice.file_name}.corrupt-20260101T000000Z"
    assert _names(store.directory) == {aside, bob.file_name}
    assert (store.directory / aside).read_bytes() == damaged  # kept, never deleted
    assert events == [(EVENT_FILE_SET_ASIDE, {"file": alice.file_name, "reason": reason, "moved_to": aside})]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert alice.file_name in message and reason in message
    for secret in (alice.access_token, alice.refresh_token, bob.access_token, "alice@x"):
        assert secret not in message
    assert damaged.decode("latin-1") not in message or not damaged

    # the other account is unaffected, and the set-aside file is not reported again
    assert await store.load("bob@x") == bob
    assert await store.list() == [bob]
    assert len(events) == 1
    # the account can sign in again
    await store.save(alice)
    assert await store.load("alice@x") == alice


async def test_list_sets_aside_corrupt_files(store: FileTokenStore, events: Events) -> None:
    alice, bob = make_record("alice@x"), make_record("bob@x")
    await store.save(alice)
    await store.save(bob)
    (store.directory / alice.file_name).write_bytes(b"garbage")
    assert await store.list() == [bob]
    assert [e[1]["file"] for e in events] == [alice.file_name]
    assert not (store.directory / alice.file_name).exists()


async def test_set_aside_names_do_not_collide(store: FileTokenStore) -> None:
    alice = make_record("alice@x")
    for _ in range(2):
        (store.directory / alice.file_name).write_bytes(b"garbage")
        (store.directory / alice.file_name).chmod(0o600)
        assert await store.load("alice@x") is None
    assert _names(store.directory) == {
        f"{alice.file_name}.corrupt-20260101T000000Z",
        f"{alice.file_name}.corrupt-20260101T000000Z-1",
    }


async def test_failing_event_callback_does_not_break_load(
    state_dir: Path, key_material: KeyMaterial, clock: ManualClock
) -> None:
    def broken(name: str, payload: dict[str, str]) -> None:
        raise RuntimeError("callback bug")

    store = FileTokenStore(state_dir / "tokens", key_material, clock, broken)
    path = store.directory / record_file_name("a@x")
    path.write_bytes(b"garbage")
    path.chmod(0o600)
    assert await store.load("a@x") is None


# -- permissions ---------------------------------------------------------------------------


def test_group_readable_dir_is_refused(state_dir: Path, key_material: KeyMaterial, clock: ManualClock) -> None:
    tokens = state_dir / "tokens"
    tokens.mkdir()
    tokens.chmod(0o750)
    with pytest.raises(StorePermissionError) as info:
        FileTokenStore(tokens, key_material, clock)
    message = str(info.value)
    assert str(tokens) in message and "0750" in message and f"chmod 700 {tokens}" in message
    assert _mode(tokens) == 0o750  # refused, not silently "fixed"


def test_foreign_owned_dir_is_refused(state_dir: Path, key_material: KeyMaterial, clock: ManualClock) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another uid needs root (CI runs as root)")
    tokens = state_dir / "tokens"
    tokens.mkdir(mode=0o700)
    os.chown(tokens, 65534, 65534)
    with pytest.raises(StorePermissionError) as info:
        FileTokenStore(tokens, key_material, clock)
    message = str(info.value)
    assert str(tokens) in message and "uid 65534" in message
    # Not ours to change: the advice is a directory of our own, never a chown of theirs.
    assert "a directory of your own" in message and "chown" not in message


async def test_a_record_under_another_key_is_left_in_place(store: FileTokenStore, key_material: KeyMaterial) -> None:
    alice, bob = make_record("alice@x"), make_record("bob@x")
    await store.save(alice)
    await store.save(bob)
    _wrong_key(store.directory / alice.file_name, key_material)
    assert await store.list() == [bob]
    assert _names(store.directory) == {alice.file_name, bob.file_name}  # never renamed: the right key brings it back
    assert any("do not decrypt with the configured store key" in p for p in store.problems)


def _aside(store: FileTokenStore, name: str) -> list[str]:
    return [n for n in _names(store.directory) if n.startswith(name + ".corrupt-")]


async def test_group_readable_token_file_is_set_aside(store: FileTokenStore) -> None:
    record, other = make_record(), make_record("bob@x")
    await store.save(record)
    await store.save(other)
    path = store.directory / record.file_name
    path.chmod(0o640)
    assert await store.list() == [other]  # the others load
    assert not path.exists() and len(_aside(store, record.file_name)) == 1
    assert any("wrong_permissions" in p for p in store.problems)


async def test_foreign_owned_token_file_is_set_aside(store: FileTokenStore) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another uid needs root (CI runs as root)")
    record = make_record()
    await store.save(record)
    os.chown(store.directory / record.file_name, 65534, 65534)
    assert await store.load(record.username) is None
    assert len(_aside(store, record.file_name)) == 1


async def test_symlinked_token_file_is_set_aside(store: FileTokenStore, tmp_path: Path) -> None:
    record = make_record()
    await store.save(record)
    elsewhere = tmp_path / "elsewhere"
    (store.directory / record.file_name).rename(elsewhere)
    (store.directory / record.file_name).symlink_to(elsewhere)
    assert await store.load(record.username) is None
    [aside] = _aside(store, record.file_name)
    assert (store.directory / aside).is_symlink() and elsewhere.exists()  # the link moved, its target untouched


# -- per-account locks ---------------------------------------------------------------------


async def test_locks_are_per_normalised_account(store: FileTokenStore) -> None:
    a1, a2, b = store.lock("Alice@X "), store.lock("alice@x"), store.lock("bob@x")
    assert isinstance(a1, asyncio.Lock)
    assert a1 is a2
    assert a1 is not b
    async with a1:
        assert a2.locked() and not b.locked()
        async with asyncio.timeout(1):
            async with b:  # another account is not blocked
                pass
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await a2.acquire()


async def test_a_record_from_a_newer_release_is_left_in_place_and_reported(
    store: FileTokenStore, key_material: KeyMaterial, events: Events
) -> None:
    """Not corrupt: setting it aside would sign that account out of the newer release too (store/format.py)."""
    await store.save(make_record("alice@x"))
    path = store.directory / record_file_name("alice@x")
    _future_schema(path, key_material)
    before = path.read_bytes()
    assert await store.list() == []
    assert path.read_bytes() == before
    assert sorted(p.name for p in store.directory.iterdir()) == [path.name]
    assert any("newer cway-mcp" in problem for problem in store.problems)
    assert events == []
