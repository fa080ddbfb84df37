"""The three Cway exchange shapes (``CWAY_EXCHANGE_TOKEN``) and the silent re-exchange, against the emulator.

The emulated Cway accepts exactly one shape at a time (``cway_exchange_token`` knob) and checks it
strictly: ``code`` is redeemed at the IdP with client id, verifier and redirect URI; ``access_token``
goes to Graph ``/v1.0/me``; ``id_token`` is checked against the JWKS, the per-tenant issuer,
``aud`` and ``exp``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cway_authd.control.peercred import PeerCredentials
from cway_authd.core import DaemonCore
from cway_authd.errors import CoreError
from cway_contract.clock import ManualClock
from cway_contract.contract import ErrorCode
from cway_emulator import EmulatorServer

from .conftest import ALICE, CoreFactory, sign_in
from .test_sign_in_e2e import cway_whoami, direct_scopes, idp_claims

PEER = PeerCredentials(pid=4242, uid=1000, gid=1000)
SHAPES = ("code", "access_token", "id_token")
CWAY_REFRESH_LIFETIME = 144_000  # the emulator's default: 40 h


@pytest.mark.parametrize("shape", SHAPES)
async def test_each_exchange_shape_signs_in_end_to_end(open_core: CoreFactory, emu: EmulatorServer, shape: str) -> None:
    emu.knobs.cway_exchange_token = shape
    core = await open_core(CWAY_EXCHANGE_TOKEN=shape)
    result = await sign_in(core, emu, ALICE)
    assert result.outcome.ok, result.outcome.message

    counters = emu.counters
    assert counters["cway_token_azure"] == 1 and counters["idp_token_code"] == 1
    # code: Cway redeemed the code and asked Graph; access_token: Cway asked Graph with our token;
    # id_token: Cway checked the signature with the JWKS and asked nobody.
    assert counters["idp_graph_me"] == (0 if shape == "id_token" else 1)
    record = await core.store.load(ALICE)
    assert record is not None and record.username == ALICE and record.tenant == emu.tenant
    # Only the shapes where the daemon redeemed the code hold an Entra refresh token (for a re-exchange).
    assert (record.idp_refresh_token is not None) == (shape != "code")
    assert await cway_whoami(emu, (await core.bearer(ALICE, PEER)).access_token) == ALICE

    health = await core.health("/sock")
    assert health.exchange_token == shape and health.last_exchange is not None
    assert health.last_exchange.ok and health.last_exchange.status == 200 and health.last_exchange.shape == shape
    [info] = await core.list_accounts()
    assert info.silent_reexchange == (shape != "code")


@pytest.mark.parametrize(
    ("daemon_shape", "cway_shape", "said"),
    [
        ("access_token", "code", "Missing required parameter"),
        ("id_token", "access_token", "Microsoft Graph refused the token"),
        ("access_token", "id_token", "for another application"),
        ("code", "id_token", "ID token is not valid"),
    ],
)
async def test_a_wrong_shape_fails_and_doctor_can_see_what_cway_said(
    open_core: CoreFactory, emu: EmulatorServer, daemon_shape: str, cway_shape: str, said: str
) -> None:
    emu.knobs.cway_exchange_token = cway_shape
    core = await open_core(CWAY_EXCHANGE_TOKEN=daemon_shape)
    result = await sign_in(core, emu, ALICE)
    assert not result.outcome.ok and result.final.state == "failed"
    assert await core.store.list() == []
    report = (await core.health("/sock")).last_exchange
    assert report is not None and not report.ok and report.status == 400 and report.shape == daemon_shape
    assert said in (report.description or ""), report
    assert "emu_ac." not in report.model_dump_json() and "eyJ" not in report.model_dump_json()  # no code, no JWT


@pytest.mark.parametrize("shape", ["access_token", "id_token"])
async def test_silent_reexchange_outlives_cways_refresh_token(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock, shape: str
) -> None:
    emu.knobs.cway_exchange_token = shape
    emu.knobs.idp_refresh_single_use = True  # stricter than Entra: the daemon must keep the newest one
    core = await open_core(CWAY_EXCHANGE_TOKEN=shape)
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    first = await core.store.load(ALICE)
    assert first is not None and first.idp_refresh_token

    for _weekend in range(2):  # nobody used it for longer than Cway's refresh token lives, twice
        clock.advance(CWAY_REFRESH_LIFETIME + 3600)
        bearer = await core.bearer(ALICE, PEER)
        assert await cway_whoami(emu, bearer.access_token) == ALICE

    counters = emu.counters
    assert counters["cway_token_azure"] == 3 and counters["idp_token_refresh"] == 2 and counters["idp_authorize"] == 1
    stored = await core.store.load(ALICE)
    assert stored is not None and stored.idp_refresh_token not in (None, first.idp_refresh_token)
    [info] = await core.list_accounts()
    assert info.state == "ok" and info.renewable_until is not None
    assert info.renewable_until > clock.now() + timedelta(days=89)


async def test_silent_reexchange_can_be_turned_off(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    emu.knobs.cway_exchange_token = "access_token"
    core = await open_core(CWAY_EXCHANGE_TOKEN="access_token", CWAY_SILENT_REEXCHANGE="0")
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    record = await core.store.load(ALICE)
    assert record is not None and record.idp_refresh_token is None
    clock.advance(CWAY_REFRESH_LIFETIME + 3600)
    with pytest.raises(CoreError) as caught:
        await core.bearer(ALICE, PEER)
    assert caught.value.code is ErrorCode.SIGN_IN_REQUIRED and caught.value.sign_in_url
    assert emu.counters["idp_token_refresh"] == 0 and await core.store.list() == []


async def test_entra_refusing_the_reexchange_needs_a_sign_in_and_keeps_nothing(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    emu.knobs.cway_exchange_token = "id_token"
    core = await open_core(CWAY_EXCHANGE_TOKEN="id_token")
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    emu.knobs.entra_fault(53003, grant="refresh_token", account=ALICE)  # blocked by Conditional Access
    clock.advance(CWAY_REFRESH_LIFETIME + 3600)
    with pytest.raises(CoreError) as caught:
        await core.bearer(ALICE, PEER)
    assert caught.value.code is ErrorCode.SIGN_IN_REQUIRED and caught.value.sign_in_url
    assert "AADSTS53003" in caught.value.message
    [info] = await core.list_accounts()
    assert info.state == "needs_sign_in" and await core.store.list() == []


async def test_logout_purges_the_entra_refresh_token_and_revokes_it(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    emu.knobs.cway_exchange_token = "access_token"
    emu.knobs.idp_revocation = True
    core = await open_core(CWAY_EXCHANGE_TOKEN="access_token")
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    held = (await core.store.load(ALICE)).idp_refresh_token  # type: ignore[union-attr]
    answer = await core.logout(ALICE)
    assert answer.removed and answer.revoked is True and await core.store.list() == []
    assert emu.counters["idp_revoke"] == 1
    assert held is not None and emu.emulator.idp.refresh[held].revoked


async def test_the_entra_refresh_token_never_crosses_the_socket(open_core: CoreFactory, emu: EmulatorServer) -> None:
    emu.knobs.cway_exchange_token = "id_token"
    core: DaemonCore = await open_core(CWAY_EXCHANGE_TOKEN="id_token")
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    held = (await core.store.load(ALICE)).idp_refresh_token  # type: ignore[union-attr]
    assert held
    shown = [
        (await core.bearer(ALICE, PEER)).model_dump_json(),
        (await core.account(ALICE)).model_dump_json(),
        (await core.health("/sock")).model_dump_json(),
        repr(await core.store.load(ALICE)),
    ]
    assert not any(held in text for text in shown)


async def test_direct_flow_copes_with_v1_access_tokens(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    # An API registration with accessTokenAcceptedVersion null: Entra issues v1 tokens for it
    # (iss https://sts.windows.net/{tid}/, aud the App ID URI) even from the v2 endpoint.
    emu.knobs.idp_api_token_version = 1
    core = await open_core(AUTH_FLOW="direct", AZURE_SCOPES=direct_scopes(emu))
    assert (await sign_in(core, emu, ALICE)).outcome.ok
    record = await core.store.load(ALICE)
    assert record is not None
    claims = await idp_claims(emu, record.access_token)
    assert claims["ver"] == "1.0" and claims["iss"] == f"https://sts.windows.net/{emu.tenant}/"
    assert claims["aud"] == "api://cway" and claims["upn"] == ALICE
    assert await cway_whoami(emu, record.access_token) == ALICE
    clock.advance(3600 - 200)
    refreshed = await core.bearer(ALICE, PEER)
    assert refreshed.access_token != record.access_token and await cway_whoami(emu, refreshed.access_token) == ALICE
