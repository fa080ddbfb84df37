"""The silent re-exchange with the real clock and a real daemon process: a machine off for longer than
Cway's refresh token lives comes back signed in, without a browser (no ManualClock)."""

from __future__ import annotations

import shutil
import time

import httpx
import pytest

from cway_auth_core.identity import LOGIN_INFO_QUERY
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import daemon_env, running_daemon

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"


def test_a_daemon_off_longer_than_cways_refresh_token_comes_back_signed_in(emu: EmulatorServer) -> None:
    refresh_lifetime = 5
    emu.knobs.update(
        {"cway_exchange_token": "id_token", "cway_access_lifetime": 5, "cway_refresh_lifetime": refresh_lifetime}
    )
    emu.knobs.idp_refresh_single_use = True  # stricter than Entra: the daemon must keep the newest one
    env = daemon_env({**emu.env(), "CWAY_EXCHANGE_TOKEN": "id_token", "CWAY_REFRESH_THRESHOLD_SECONDS": "1"})
    emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
    try:
        with running_daemon(env, mode="process", cleanup=False) as daemon:
            assert browser_sign_in(daemon, emu, ALICE).status.state == "completed"
        off_since = time.monotonic()
        while time.monotonic() - off_since < refresh_lifetime + 1:  # the subject is time passing: the weekend
            time.sleep(0.25)
        with running_daemon(env, mode="process", cleanup=False) as daemon:
            bearer = daemon.call(lambda c: c.bearer(ALICE))
            me = httpx.post(
                emu.cway_api_url,
                json={"query": LOGIN_INFO_QUERY},
                headers={"Authorization": f"Bearer {bearer.access_token}"},
                trust_env=False,
                timeout=30,
            )
            info = daemon.call(lambda c: c.account(ALICE))
        assert me.json()["data"]["loginInfo"]["user"]["username"] == ALICE, me.text
        assert info.silent_reexchange and info.state in ("ok", "refreshing")
        counters = emu.counters
        assert counters["idp_authorize"] == 1  # one browser sign-in, ever
        assert counters["idp_token_refresh"] >= 1 and counters["cway_token_azure"] >= 2
    finally:
        shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)
