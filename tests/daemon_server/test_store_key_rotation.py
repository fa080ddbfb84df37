"""Store key rotation as the owner triggers it: a real daemon, its real socket, the emulator.

The test daemons get ``CWAY_MCP_STORE_KEY`` from ``daemon_env``; the key-file tests drop it so the
daemon falls back to ``<state>/keys/store.key`` (the keyring is forced to the "fail" backend, so a
developer's real keyring is never touched), then read the files directly to check the keys.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from keyring.backends import fail

from cway_authd.store import KeyMaterial
from cway_contract.contract import BearerResponse, ErrorCode, KeyRotationResponse
from cway_contract.daemon_client import DaemonClient, DaemonError
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.daemon_server.test_cli import cli
from tests.helpers.daemon import RunningDaemon, running_daemon
from tests.helpers.emulator_gate import EndpointGate
from tests.helpers.faults import fail_nth_token_write

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
USERS = (ALICE, BOB)


@pytest.fixture
def key_file_env(emu_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """``emu_env`` without the env key, and no usable keyring: the daemon uses the key file."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield {k: v for k, v in emu_env.items() if k != "CWAY_MCP_STORE_KEY"}
    finally:
        keyring.set_keyring(previous)


def _state(env: dict[str, str]) -> Path:
    return Path(env["CWAY_MCP_STATE_DIR"])


def _key_file_keys(env: dict[str, str]) -> list[str]:
    return (_state(env) / "keys" / "store.key").read_text().split()


def _token_files(env: dict[str, str]) -> list[Path]:
    return sorted((_state(env) / "tokens").glob("*.token"))


def _corrupt_files(env: dict[str, str]) -> list[Path]:
    return sorted((_state(env) / "tokens").glob("*.corrupt-*"))


def _sign_in_both(daemon: RunningDaemon, emu: EmulatorServer) -> dict[str, str]:
    for user in USERS:
        assert browser_sign_in(daemon, emu, user).status.username == user
    return _bearers(daemon)


def _bearers(daemon: RunningDaemon) -> dict[str, str]:
    async def both(client: DaemonClient) -> list[BearerResponse]:
        return [await client.bearer(user) for user in USERS]

    return {b.username: b.access_token for b in daemon.call(both)}


def _assert_files_only_open_with(env: dict[str, str], key: str, old_keys: list[str]) -> None:
    files = _token_files(env)
    assert len(files) == len(USERS)
    for path in files:
        raw = path.read_bytes()
        Fernet(key.encode()).decrypt(raw)
        for old in old_keys:
            with pytest.raises(InvalidToken):
                Fernet(old.encode()).decrypt(raw)


def _assert_restart_reads_everything(env: dict[str, str], expected: dict[str, str]) -> None:
    with running_daemon(env, cleanup=False) as again:
        accounts = again.call(lambda c: c.accounts())
        assert {(a.username, a.state) for a in accounts} == {(u, "ok") for u in USERS}
        assert _bearers(again) == expected  # the very tokens saved last: nothing refreshed, nothing lost
    assert _corrupt_files(env) == []


def test_rotation_re_encrypts_everything_and_retires_the_old_key(
    emu: EmulatorServer, key_file_env: dict[str, str]
) -> None:
    env = key_file_env
    with running_daemon(env, cleanup=False) as daemon:
        health = daemon.call(lambda c: c.health())
        key_path = _state(env) / "keys" / "store.key"
        assert health.key_source == f"key-file:{key_path}"
        tokens = _sign_in_both(daemon, emu)
        [old_key] = _key_file_keys(env)

        result = daemon.call(lambda c: c.rotate_store_key())

        assert isinstance(result, KeyRotationResponse)
        assert (result.rotated, result.set_aside, result.retired_keys) == (2, 0, 1)
        assert result.key_source == health.key_source
        assert result.message == (f"Re-encrypted 2 account(s) under a new key; retired 1 old key (key file {key_path})")
        assert _bearers(daemon) == tokens  # still served, no refresh needed
        [new_key] = _key_file_keys(env)
        assert new_key != old_key
        assert old_key not in result.model_dump_json() and new_key not in result.model_dump_json()
        _assert_files_only_open_with(env, new_key, [old_key])

        audit = [json.loads(line) for line in (_state(env) / "audit.log").read_text().splitlines()]
        [event] = [e for e in audit if e["event"] == "store_key_rotated"]
        assert event["rotated"] == 2 and event["set_aside"] == 0 and event["retired"] == 1
        assert event["source"] == health.key_source
        audit_text = (_state(env) / "audit.log").read_text()
        assert old_key not in audit_text and new_key not in audit_text
        assert "<refused" not in json.dumps(event)

        again = daemon.call(lambda c: c.rotate_store_key())  # and once more: still one key, still readable
        assert again.rotated == 2 and again.retired_keys == 1
        [newest] = _key_file_keys(env)
        assert newest not in (old_key, new_key)
        _assert_files_only_open_with(env, newest, [old_key, new_key])

    _assert_restart_reads_everything(env, tokens)


def test_an_env_key_cannot_be_rotated_and_the_answer_says_how(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    env_key = emu_daemon.env["CWAY_MCP_STORE_KEY"]
    assert emu_daemon.call(lambda c: c.health()).key_source == "env:CWAY_MCP_STORE_KEY"
    browser_sign_in(emu_daemon, emu, ALICE)
    before = {p.name: p.read_bytes() for p in _token_files(emu_daemon.env)}

    with pytest.raises(DaemonError) as caught:
        emu_daemon.call(lambda c: c.rotate_store_key())

    assert caught.value.status == 400 and caught.value.code is ErrorCode.BAD_REQUEST
    message = caught.value.body.message
    assert "CWAY_MCP_STORE_KEY" in message and "newest first" in message and "restart" in message
    assert env_key not in message
    assert {p.name: p.read_bytes() for p in _token_files(emu_daemon.env)} == before
    assert emu_daemon.call(lambda c: c.bearer(ALICE)).username == ALICE

    done = cli(emu_daemon.env, "rotate-key")
    assert done.returncode == 1
    assert "CWAY_MCP_STORE_KEY" in done.stderr and "Traceback" not in done.stderr
    assert env_key not in done.stdout + done.stderr


def test_cli_rotate_key_prints_counts_and_where_never_a_key(emu: EmulatorServer, key_file_env: dict[str, str]) -> None:
    env = key_file_env
    with running_daemon(env, cleanup=False) as daemon:
        _sign_in_both(daemon, emu)
        [old_key] = _key_file_keys(env)

        done = cli(env, "rotate-key")

        assert done.returncode == 0, done.stderr
        key_path = _state(env) / "keys" / "store.key"
        assert done.stdout.strip() == (
            f"Re-encrypted 2 account(s) under a new key; retired 1 old key (key file {key_path})"
        )
        [new_key] = _key_file_keys(env)
        output = done.stdout + done.stderr
        assert old_key not in output and new_key not in output
        assert old_key[:12] not in output and new_key[:12] not in output

    assert cli(env, "rotate-key").returncode == 3  # daemon gone: "not reachable", as for every command


def test_a_refresh_during_the_rotation_is_saved_readable_and_not_overwritten(
    emu: EmulatorServer, key_file_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = key_file_env
    with running_daemon(env, cleanup=False) as daemon:
        before = _sign_in_both(daemon, emu)
        [old_key] = _key_file_keys(env)
        cway = EndpointGate(monkeypatch)  # both refreshes stay in flight (under their locks) until released
        key_added = threading.Event()
        real_add = KeyMaterial.add_primary_key

        def add_and_signal(self: KeyMaterial, key: bytes) -> None:
            real_add(self, key)
            key_added.set()

        monkeypatch.setattr(KeyMaterial, "add_primary_key", add_and_signal)

        async def scenario(client: DaemonClient) -> tuple[KeyRotationResponse, list[BearerResponse]]:
            refreshes = [asyncio.create_task(client.force_refresh(user)) for user in USERS]
            await cway.arrived(len(USERS))  # both are at Cway now, each holding its lock
            rotation = asyncio.create_task(client.rotate_store_key())
            assert await asyncio.to_thread(key_added.wait, 30)  # the rotation has begun: its new key is stored
            refreshes.append(asyncio.create_task(client.force_refresh(ALICE)))  # one more, mid-rotation
            assert not rotation.done()  # it cannot re-encrypt an account whose refresh holds the lock
            cway.release()
            return await rotation, await asyncio.gather(*refreshes)

        try:
            rotation, refreshed = daemon.call(scenario)
        finally:
            cway.release()

        assert rotation.rotated == 2 and rotation.retired_keys == 1
        assert {r.username for r in refreshed} == set(USERS)
        current = _bearers(daemon)
        assert all(current[u] != before[u] for u in USERS)  # the refreshes happened
        assert current[ALICE] == refreshed[-1].access_token
        [new_key] = _key_file_keys(env)
        _assert_files_only_open_with(env, new_key, [old_key])

    _assert_restart_reads_everything(env, current)


def test_a_rotation_that_fails_midway_keeps_both_keys_and_running_it_again_finishes(
    emu: EmulatorServer, key_file_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = key_file_env
    with running_daemon(env, cleanup=False) as daemon:  # thread mode: the patch reaches the daemon's store
        tokens = _sign_in_both(daemon, emu)
        [old_key] = _key_file_keys(env)
        fail_nth_token_write(monkeypatch, 2, OSError(28, "No space left on device"))
        with pytest.raises(DaemonError) as caught:
            daemon.call(lambda c: c.rotate_store_key())
        monkeypatch.undo()

        assert caught.value.status == 500 and caught.value.code is ErrorCode.INTERNAL
        message = caught.value.body.message
        assert "rotation failed" in message and "still readable" in message and "run the rotation again" in message
        keys = _key_file_keys(env)
        assert len(keys) == 2 and keys[1] == old_key  # new first, old kept
        assert old_key not in message and keys[0] not in message
        assert _bearers(daemon) == tokens
        both = MultiFernet([Fernet(k.encode()) for k in keys])
        for path in _token_files(env):  # one already under the new key, one still under the old
            both.decrypt(path.read_bytes())

    _assert_restart_reads_everything(env, tokens)  # a restart with both keys reads everything

    with running_daemon(env, cleanup=False) as daemon:
        result = daemon.call(lambda c: c.rotate_store_key())
        assert result.rotated == 2 and result.retired_keys == 2
        [newest] = _key_file_keys(env)
        _assert_files_only_open_with(env, newest, keys)
    _assert_restart_reads_everything(env, tokens)
