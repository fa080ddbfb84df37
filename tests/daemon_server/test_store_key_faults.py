"""The token store under a wrong key, a lost key file and bad files in its folder, with a real daemon process.

Nothing here may sign everybody out: a wrong key refuses to start (and renames nothing, so the
right key brings everyone back); a deleted key file is not silently replaced; one bad file is set
aside with its reason and the daemon starts and says so in ``status``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cway_emulator.server import EmulatorServer
from tests.daemon_server.test_cli import cli
from tests.helpers.daemon import DaemonStartFailed, daemon_env, running_daemon
from tests.helpers.fleet import seed_fleet

pytestmark = pytest.mark.slow


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(auto_approve=True) as server:
        yield server


def token_files(env: dict[str, str]) -> list[str]:
    return sorted(n for n in os.listdir(Path(env["CWAY_MCP_STATE_DIR"]) / "tokens") if n.endswith(".token"))


def test_a_wrong_key_refuses_to_start_and_the_right_key_brings_everyone_back(emu: EmulatorServer) -> None:
    env = daemon_env(emu.env())
    try:
        names = seed_fleet(emu, env, 3)
        before = token_files(env)
        wrong = {**env, "CWAY_MCP_STORE_KEY": Fernet.generate_key().decode()}
        with pytest.raises(DaemonStartFailed) as failed:
            with running_daemon(wrong, mode="process", cleanup=False):
                pass
        assert failed.value.exit_code not in (0, None)
        assert "none of the 3 stored sign-in(s)" in failed.value.stderr and "nothing was changed" in failed.value.stderr
        assert "Traceback" not in failed.value.stderr
        assert token_files(env) == before  # nothing renamed, nothing deleted
        with running_daemon(env, mode="process", cleanup=False) as daemon:
            assert sorted(a.username for a in daemon.call(lambda c: c.accounts())) == names
    finally:
        shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)


def test_a_deleted_key_file_does_not_silently_sign_everyone_out(emu: EmulatorServer) -> None:
    env = daemon_env(emu.env())
    env.pop("CWAY_MCP_STORE_KEY")  # the key lives in the key file the daemon creates
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    try:
        with running_daemon(env, mode="process", cleanup=False):
            pass
        key_file = Path(env["CWAY_MCP_STATE_DIR"]) / "keys" / "store.key"
        seed_fleet(emu, {**env, "CWAY_MCP_STORE_KEY": key_file.read_text().strip()}, 2)
        key_file.unlink()
        with pytest.raises(DaemonStartFailed) as failed:
            with running_daemon(env, mode="process", cleanup=False):
                pass
        assert "store key file" in failed.value.stderr and "is missing but sign-ins are stored" in failed.value.stderr
        assert not key_file.exists() and len(token_files(env)) == 2
    finally:
        shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)


def test_doctor_warns_when_the_key_file_lies_beside_the_tokens() -> None:
    env = daemon_env()
    env.pop("CWAY_MCP_STORE_KEY")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    try:
        with running_daemon(env, mode="process", cleanup=False):
            done = cli(env, "doctor")
        assert "! store key: key-file:" in done.stdout and "lies beside the tokens" in done.stdout, done.stdout
        assert "✓ store key" not in done.stdout
    finally:
        shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)


def test_one_bad_token_file_is_set_aside_and_the_daemon_starts(emu: EmulatorServer) -> None:
    env = daemon_env(emu.env())
    try:
        names = seed_fleet(emu, env, 4)
        tokens = Path(env["CWAY_MCP_STATE_DIR"]) / "tokens"
        files = sorted(tokens.iterdir())
        files[0].chmod(0o644)  # wrong permissions
        files[1].unlink()
        files[1].symlink_to(files[3])  # a symlink in its place
        files[2].unlink()
        files[2].mkdir()  # a directory in its place
        with running_daemon(env, mode="process", cleanup=False) as daemon:
            accounts = daemon.call(lambda c: c.accounts())
            health = daemon.call(lambda c: c.health())
            status = cli(env, "status")
        doctor = cli(env, "doctor")
        assert "! set-aside token files: 3 in" in doctor.stdout, doctor.stdout
        assert status.stdout.count("set aside") == 3, status.stdout
        assert len(accounts) == 1 and accounts[0].username in names
        reasons = " ".join(health.store_problems)
        assert len(health.store_problems) == 3
        assert "wrong_permissions" in reasons and "symlink" in reasons and "directory" in reasons
        aside = [p.name for p in tokens.iterdir() if ".corrupt-" in p.name]
        assert len(aside) == 3  # kept, under a name readers ignore: recoverable
        assert "Traceback" not in daemon.stderr_text()
    finally:
        shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)
