"""An account whose refresh token died stays listed as needing a sign-in, with its reason and last
expiry, across restarts, until the user logs it out (real daemon processes, the emulator, the CLI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from cway_contract.contract import ErrorCode
from cway_contract.daemon_client import DaemonError
from cway_emulator.server import EmulatorServer
from tests.daemon_server.test_cli import cli
from tests.helpers.daemon import daemon_env, running_daemon
from tests.helpers.fleet import seed_fleet, stored_records


@pytest.fixture
def fleet_env(emu: EmulatorServer) -> Iterator[dict[str, str]]:
    env = daemon_env(emu.env())  # code mode: the daemon holds Cway's refresh token only
    yield env
    shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)


def test_invalid_grant_keeps_the_account_listed_across_a_restart_until_logout(
    emu: EmulatorServer, fleet_env: dict[str, str]
) -> None:
    dead, alive = seed_fleet(emu, fleet_env, 2)
    last_good = stored_records(fleet_env)[dead].access_expires_at
    with running_daemon(fleet_env, mode="process", cleanup=False) as daemon:
        emu.knobs.fail("cway_token", "invalid_grant")  # Cway refuses the refresh token: a sign-in is needed
        with pytest.raises(DaemonError) as refused:
            daemon.call(lambda c: c.force_refresh(dead))
        assert refused.value.code == ErrorCode.SIGN_IN_REQUIRED
        assert daemon.call(lambda c: c.account(dead)).state == "needs_sign_in"
        assert daemon.stop() == 0

    assert dead not in stored_records(fleet_env)  # the dead tokens are deleted, the account is not forgotten
    with running_daemon(fleet_env, mode="process", cleanup=False) as again:
        listed = {a.username: a for a in again.call(lambda c: c.accounts())}
        assert set(listed) == {dead, alive}
        info = listed[dead]
        assert info.state == "needs_sign_in"
        assert info.last_error and "invalid_grant" in info.last_error
        assert info.access_expires_at == last_good
        with pytest.raises(DaemonError) as after:
            again.call(lambda c: c.bearer(dead))
        assert after.value.code == ErrorCode.SIGN_IN_REQUIRED  # not "not_signed_in": it is known and why
        status = cli(fleet_env, "status")
        assert status.returncode == 1, status.stdout + status.stderr
        assert f"{dead} needs a sign-in" in status.stdout
        assert again.call(lambda c: c.logout(dead)).removed
        assert cli(fleet_env, "status").returncode == 0
        assert again.stop() == 0

    with running_daemon(fleet_env, mode="process", cleanup=False) as third:
        assert [a.username for a in third.call(lambda c: c.accounts())] == [alive]
        assert third.stop() == 0
