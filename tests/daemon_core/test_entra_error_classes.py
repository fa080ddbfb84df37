"""Every Entra error class at refresh and at sign-in: account state, the caller's answer, what stays on disk.

Refresh is driven in ``AUTH_FLOW=direct`` (where the daemon refreshes at Entra itself) and through
Cway; sign-in through the daemon's own redemption (``CWAY_EXCHANGE_TOKEN=access_token``) and
through Cway's (``code``: Cway relays Entra's refusal as ``invalid_grant`` with the AADSTS text).
"""

from __future__ import annotations

import pytest

from cway_authd.control.peercred import PeerCredentials
from cway_authd.core import DaemonCore
from cway_authd.errors import CoreError
from cway_contract.clock import ManualClock
from cway_contract.contract import ErrorCode
from cway_emulator import EmulatorServer

from .conftest import ALICE, CoreFactory, sign_in
from .test_sign_in_e2e import direct_scopes

PEER = PeerCredentials(pid=4242, uid=1000, gid=1000)
SIGN_IN_CODES = (70008, 700082, 50173, 70000, 50076, 50079, 53003, 65001, 50058)
ADMIN_CODES = (7000215, 700016, 700025, 50011, 50194)


async def direct_core(open_core: CoreFactory, emu: EmulatorServer) -> DaemonCore:
    core = await open_core(AUTH_FLOW="direct", AZURE_SCOPES=direct_scopes(emu))
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    return core


@pytest.mark.parametrize("aadsts", SIGN_IN_CODES)
async def test_a_sign_in_class_refusal_at_refresh_ends_the_session_with_a_sign_in_url(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock, aadsts: int
) -> None:
    core = await direct_core(open_core, emu)
    emu.knobs.entra_fault(aadsts, grant="refresh_token", account=ALICE, count=5)
    clock.advance(3600 - 200)  # due, still valid
    with pytest.raises(CoreError) as caught:
        await core.bearer(ALICE, PEER)
    assert caught.value.code is ErrorCode.SIGN_IN_REQUIRED and caught.value.sign_in_url
    assert f"AADSTS{aadsts}" in caught.value.message
    assert emu.counters["idp_token_refresh"] == 1  # not retried: retrying cannot help
    [info] = await core.list_accounts()
    assert info.state == "needs_sign_in" and await core.store.list() == []
    assert (await core.health("/sock")).config_problem is None


@pytest.mark.parametrize("aadsts", ADMIN_CODES)
async def test_an_admin_class_refusal_at_refresh_keeps_every_token_and_says_ask_your_administrator(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock, aadsts: int
) -> None:
    core = await direct_core(open_core, emu)
    before = await core.store.load(ALICE)
    emu.knobs.entra_fault(aadsts, grant="refresh_token", count=50)
    clock.advance(3600 - 200)
    served = await core.bearer(ALICE, PEER)  # the current token, still valid, is served
    assert before is not None and served.access_token == before.access_token
    [info] = await core.list_accounts()
    assert info.state == "misconfigured" and f"AADSTS{aadsts}" in (info.last_error or "")
    assert "ask your administrator" in (info.last_error or "")
    problem = (await core.health("/sock")).config_problem
    assert problem is not None and problem.code == f"AADSTS{aadsts}"

    clock.advance(400)  # now expired, and the configuration is still wrong
    with pytest.raises(CoreError) as caught:
        await core.bearer(ALICE, PEER)
    assert caught.value.code is ErrorCode.CONFIGURATION_ERROR and not caught.value.sign_in_url
    assert "ask your administrator" in caught.value.message and f"AADSTS{aadsts}" in caught.value.message
    assert await core.store.load(ALICE) == before  # nothing deleted, nothing changed

    emu.knobs.update({"clear_failures": True})  # the administrator fixed the registration
    clock.advance(120)  # past the cool-down
    assert (await core.bearer(ALICE, PEER)).access_token != before.access_token
    assert (await core.health("/sock")).config_problem is None


async def test_an_admin_error_is_logged_once_however_often_it_happens(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    core = await direct_core(open_core, emu)
    emu.knobs.entra_fault(7000215, grant="refresh_token", count=50)
    for _ in range(4):
        clock.advance(3600)
        with pytest.raises(CoreError):
            await core.bearer(ALICE, PEER)
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "AADSTS7000215" in r.getMessage()]
    assert len(errors) == 1
    problem = (await core.health("/sock")).config_problem
    assert problem is not None and problem.count >= 4


async def test_a_401_invalid_client_from_cways_token_endpoint_deletes_nothing(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    # Issue 7: a proxy hiccup or an admin's typo must not sign a user out.
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    before = await core.store.load(ALICE)
    emu.knobs.fail("cway_token", "401", count=3)
    clock.advance(3600 - 200)
    assert (await core.bearer(ALICE, PEER)).access_token == before.access_token  # type: ignore[union-attr]
    [info] = await core.list_accounts()
    assert info.state == "misconfigured" and "invalid_client" in (info.last_error or "")
    assert await core.store.load(ALICE) == before
    assert emu.counters["cway_token_refresh"] == 1


async def test_transient_failures_back_off_and_serve_the_current_token(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    before = await core.store.load(ALICE)
    emu.knobs.fail("cway_token", "503", count=10)
    clock.advance(3600 - 200)
    assert (await core.bearer(ALICE, PEER)).access_token == before.access_token  # type: ignore[union-attr]
    assert emu.counters["cway_token_refresh"] > 1  # retried with backoff
    assert await core.store.load(ALICE) == before


# ---- at sign-in -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["access_token", "code"])
@pytest.mark.parametrize(("aadsts", "admin"), [(65001, False), (50076, False), (7000215, True), (50011, True)])
async def test_each_class_at_sign_in_keeps_the_existing_session(
    open_core: CoreFactory, emu: EmulatorServer, shape: str, aadsts: int, admin: bool
) -> None:
    emu.knobs.cway_exchange_token = shape
    core = await open_core(CWAY_EXCHANGE_TOKEN=shape)
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    before = await core.store.load(ALICE)
    emu.knobs.entra_fault(aadsts, grant="authorization_code", account=ALICE)
    again = await sign_in(core, emu, ALICE)
    assert not again.outcome.ok and again.final.state == "failed"
    assert f"AADSTS{aadsts}" in again.outcome.message
    assert ("ask your administrator" in again.outcome.message) == admin
    assert await core.store.load(ALICE) == before  # a failed sign-in never touches the stored session
    [info] = await core.list_accounts()
    assert info.state == "ok"
    problem = (await core.health("/sock")).config_problem
    assert (problem is not None and problem.code == f"AADSTS{aadsts}") == admin


async def test_an_admin_error_in_the_sign_in_redirect_is_reported_for_doctor(core: DaemonCore) -> None:
    status = await core.start_sign_in(ALICE)
    assert status.authorization_url
    state = status.authorization_url.split("state=", 1)[1].split("&", 1)[0]
    outcome = await core.handle_callback(
        {"state": state, "error": "unauthorized_client", "error_description": "AADSTS700016: Application not found"}
    )
    assert not outcome.ok and "Ask your administrator (AADSTS700016" in outcome.message
    problem = (await core.health("/sock")).config_problem
    assert problem is not None and problem.code == "AADSTS700016"
