"""Sign-in against the emulator, both flows, and every way a callback can be wrong."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from cway_auth_core.identity import LOGIN_INFO_QUERY
from cway_authd.control.peercred import PeerCredentials
from cway_authd.core import DaemonCore
from cway_authd.errors import CoreError
from cway_contract.clock import ManualClock
from cway_contract.contract import ErrorCode, SignInCompleteRequest
from cway_emulator import EmulatorServer

from .conftest import ALICE, BOB, CAROL, CoreFactory, browser, sign_in

PEER = PeerCredentials(pid=4242, uid=1000, gid=1000)


async def cway_whoami(emu: EmulatorServer, token: str) -> str:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            emu.cway_api_url, json={"query": LOGIN_INFO_QUERY}, headers={"Authorization": f"Bearer {token}"}
        )
    response.raise_for_status()
    return str(response.json()["data"]["loginInfo"]["user"]["username"])


def token_files(core: DaemonCore) -> list[str]:
    return sorted(p.name for p in (core.settings.state_dir / "tokens").iterdir() if p.name.endswith(".token"))


async def test_cway_flow_end_to_end(core: DaemonCore, emu: EmulatorServer) -> None:
    result = await sign_in(core, emu, ALICE)
    assert result.outcome.ok and result.outcome.status_code == 200
    assert result.outcome.message == f"Signed in as {ALICE}."
    assert result.final.state == "completed" and result.final.username == ALICE
    assert not result.final.identity_mismatch
    counters = emu.counters
    assert counters["cway_token_azure"] == 1 and counters["idp_token_code"] == 1  # Cway redeemed the code
    assert counters["cway_token_rejected"] == 0

    [info] = await core.list_accounts()
    assert info.username == ALICE and info.state == "ok" and info.organisation_name
    assert len(token_files(core)) == 1
    bearer = await core.bearer(None, PEER)
    assert bearer.username == ALICE and await cway_whoami(emu, bearer.access_token) == ALICE
    assert core.engine.scheduled_keys() == [ALICE]


def direct_scopes(emu: EmulatorServer) -> str:
    return f"openid profile email {emu.cway_api_scope}"


async def idp_claims(emu: EmulatorServer, token: str) -> dict[str, Any]:
    """Verify ``token`` against the IdP's published keys (as a resource server would) and return its claims."""
    async with httpx.AsyncClient(trust_env=False) as http:
        jwks = (await http.get(emu.authority.removesuffix("/v2.0") + "/discovery/v2.0/keys")).json()
    return dict(jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"]).claims)


async def test_direct_flow_end_to_end_with_rotating_idp_refresh(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    core = await open_core(AUTH_FLOW="direct", AZURE_SCOPES=direct_scopes(emu))
    result = await sign_in(core, emu, ALICE)
    assert result.outcome.ok, result.outcome.message
    asked = parse_qs(urlsplit(result.status.authorization_url or "").query)["scope"][0].split()
    assert asked == ["openid", "profile", "email", emu.cway_api_scope, "offline_access"]
    counters = emu.counters
    assert counters["idp_token_code"] == 1 and counters["cway_token_azure"] == 0 and counters["idp_jwks"] >= 1
    assert counters["graphql"] == 1 and counters["graphql_unauthorized"] == 0  # loginInfo took the IdP's token
    record = await core.store.load(ALICE)
    assert record is not None and record.tenant == emu.tenant and record.username == ALICE

    # The stored bearer is the IdP's own access token, issued for the Cway API, and Cway takes it.
    claims = await idp_claims(emu, record.access_token)
    assert claims["aud"] == emu.cway_app_id and claims["iss"] == emu.authority
    assert claims["scp"] == "user_impersonation" and claims["preferred_username"] == ALICE
    assert await cway_whoami(emu, record.access_token) == ALICE
    first_refresh_token = record.refresh_token

    clock.advance(3600 - 300)
    bearer = await core.bearer(ALICE, PEER)
    assert bearer.access_token != record.access_token
    counters = emu.counters
    assert counters["idp_token_refresh"] == 1 and counters["cway_token_refresh"] == 0
    assert (await idp_claims(emu, bearer.access_token))["aud"] == emu.cway_app_id
    assert await cway_whoami(emu, bearer.access_token) == ALICE
    stored = await core.store.load(ALICE)
    assert stored is not None and stored.refresh_token != first_refresh_token  # rotated and persisted
    assert stored.access_token == bearer.access_token

    # With the single-use knob (stricter than Entra) the refresh token the daemon held before is dead:
    # the daemon kept the newest one, so nothing depends on Entra's leniency.
    emu.knobs.idp_refresh_single_use = True
    async with httpx.AsyncClient(trust_env=False) as http:
        replay = await http.post(
            emu.idp_token_url,
            data={"grant_type": "refresh_token", "client_id": emu.client_id, "refresh_token": first_refresh_token},
        )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    clock.advance(3600 - 300)
    assert (await core.bearer(ALICE, PEER)).access_token != bearer.access_token


async def test_direct_flow_fails_cleanly_when_cway_refuses_idp_tokens(
    open_core: CoreFactory, emu: EmulatorServer
) -> None:
    emu.knobs.cway_accepts_idp_tokens = False
    core = await open_core(AUTH_FLOW="direct", AZURE_SCOPES=direct_scopes(emu))
    result = await sign_in(core, emu, ALICE)
    assert not result.outcome.ok and result.outcome.status_code == 502
    assert "loginInfo" in result.outcome.message and "401" in result.outcome.message
    assert emu.counters["idp_token_code"] == 1 and emu.counters["graphql_unauthorized"] == 1
    assert await core.store.list() == [] and await core.list_accounts() == []


async def test_direct_flow_rejects_an_id_token_with_the_wrong_nonce(
    open_core: CoreFactory, emu: EmulatorServer
) -> None:
    core = await open_core(AUTH_FLOW="direct", AZURE_SCOPES=direct_scopes(emu))
    status = await core.start_sign_in(ALICE)
    flow = core.sign_in.flows.get(status.flow_id)
    assert flow is not None
    params = await browser(emu, status.authorization_url or "")
    flow.nonce = "not-the-nonce-we-sent"
    outcome = await core.handle_callback(params)
    assert not outcome.ok and "nonce" in outcome.message
    assert await core.list_accounts() == [] and await core.store.list() == []


async def test_identity_mismatch_is_reported_and_stored_under_the_real_user(
    core: DaemonCore, emu: EmulatorServer
) -> None:
    result = await sign_in(core, emu, ALICE, as_user=BOB)
    assert result.outcome.ok
    assert result.final.identity_mismatch and result.final.username == BOB
    assert result.final.requested_username == ALICE
    assert result.final.message == f"You asked for {ALICE} but signed in as {BOB}; the tokens are stored under {BOB}."
    assert [a.username for a in await core.list_accounts()] == [BOB]
    with pytest.raises(CoreError) as err:
        await core.bearer(ALICE, PEER)
    assert err.value.code is ErrorCode.NOT_SIGNED_IN and err.value.status == 401 and err.value.sign_in_url


async def test_a_user_cway_does_not_know_is_refused_and_nothing_is_stored(
    core: DaemonCore, emu: EmulatorServer
) -> None:
    result = await sign_in(core, emu, CAROL, as_user=CAROL)
    assert not result.outcome.ok and result.outcome.status_code == 502
    assert result.final.state == "failed" and "403" in (result.final.message or "")
    assert await core.store.list() == [] and await core.list_accounts() == []


async def test_idp_error_fails_the_flow_cleanly(core: DaemonCore, emu: EmulatorServer) -> None:
    status = await core.start_sign_in(ALICE)
    params = await browser(emu, status.authorization_url or "", approve=False)
    assert params["error"] == "access_denied"
    outcome = await core.handle_callback(params)
    assert not outcome.ok and outcome.status_code == 400 and "access_denied" in outcome.message
    assert core.sign_in_status(status.flow_id).state == "failed"
    assert emu.counters["cway_token_azure"] == 0 and await core.store.list() == []


async def test_reused_state_is_refused(core: DaemonCore, emu: EmulatorServer) -> None:
    result = await sign_in(core, emu, ALICE)
    assert result.outcome.ok
    again = await core.handle_callback(result.params)
    assert not again.ok and again.status_code == 400 and "already been used" in again.message
    assert emu.counters["cway_token_azure"] == 1  # the replay never reached Cway
    with pytest.raises(CoreError) as err:
        await core.complete_sign_in(SignInCompleteRequest(code=result.params["code"], state=result.params["state"]))
    assert err.value.code is ErrorCode.BAD_REQUEST


async def test_expired_flow_is_refused_and_nothing_is_stored(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    status = await core.start_sign_in(ALICE)
    params = await browser(emu, status.authorization_url or "")
    clock.advance(601)
    outcome = await core.handle_callback(params)
    assert not outcome.ok and outcome.status_code == 400 and "expired" in outcome.message
    assert core.sign_in_status(status.flow_id).state == "expired"
    assert emu.counters["cway_token_azure"] == 0 and await core.store.list() == []


@pytest.mark.parametrize("tamper", ["mismatched", "missing", "empty"])
async def test_wrong_or_missing_state_is_refused(core: DaemonCore, emu: EmulatorServer, tamper: str) -> None:
    status = await core.start_sign_in(ALICE)
    params = await browser(emu, status.authorization_url or "")
    if tamper == "mismatched":
        params["state"] = params["state"][:-2] + ("AA" if not params["state"].endswith("AA") else "BB")
    elif tamper == "missing":
        del params["state"]
    else:
        params["state"] = ""
    outcome = await core.handle_callback(params)
    assert not outcome.ok and outcome.status_code == 400
    assert core.sign_in_status(status.flow_id).state == "pending"  # the real flow is untouched
    assert emu.counters["cway_token_azure"] == 0 and await core.store.list() == []


async def test_complete_from_a_pasted_redirect_url(core: DaemonCore, emu: EmulatorServer) -> None:
    status = await core.start_sign_in(None)
    from cway_emulator import browser_sign_in_async

    location = await browser_sign_in_async(status.authorization_url or "")
    final = await core.complete_sign_in(SignInCompleteRequest(redirect_url=location))
    assert final.state == "completed" and final.username == ALICE and final.flow_id == status.flow_id
    with pytest.raises(CoreError) as err:
        await core.complete_sign_in(SignInCompleteRequest(redirect_url="http://127.0.0.1:1/callback?code=x&state=y"))
    assert err.value.code is ErrorCode.NOT_FOUND and err.value.status == 404
    with pytest.raises(CoreError) as err:
        await core.complete_sign_in(SignInCompleteRequest(code="only-a-code"))
    assert err.value.code is ErrorCode.BAD_REQUEST


async def test_sign_in_status_of_an_unknown_flow(core: DaemonCore) -> None:
    with pytest.raises(CoreError) as err:
        core.sign_in_status("nope")
    assert err.value.code is ErrorCode.NOT_FOUND and err.value.status == 404
