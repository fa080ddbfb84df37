"""The emulated Cway backend: grant_type=azure over real HTTP, rotation, bearer checks."""

from __future__ import annotations

import httpx

from cway_contract.clock import ManualClock
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ALICE, BOB, CAROL
from cway_emulator.jwt_keys import new_hs256_key, sign_hs256
from tests.emulator.conftest import Flow

LOGIN_INFO = "{ loginInfo { user { username name email } currentOrganisation { id name } } }"


def unauthorized(resp: httpx.Response) -> bool:
    return resp.status_code == 401 and resp.json() == {"errors": [{"message": "Unauthorized"}]}


def test_azure_round_trip_then_graphql_login_info(flow: Flow, emu: EmulatorServer) -> None:
    location = emu.browser_sign_in(flow.authorize_url())
    code = location.split("code=", 1)[1].split("&", 1)[0]
    resp = flow.cway_exchange(code)
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    # Only the fields known to exist in the real Cway's answer (refresh_expires_in is behind a knob).
    assert set(tokens) == {"access_token", "refresh_token", "expires_in", "token_type"}
    info = flow.gql(tokens["access_token"], LOGIN_INFO).json()["data"]["loginInfo"]
    assert info["user"] == {"username": ALICE, "name": "Alice Andersson", "email": ALICE}
    assert info["currentOrganisation"]["name"] == "Contoso Print"
    counters = emu.counters
    # Cway really went to the IdP: one code redemption and one Graph /me call.
    assert counters["cway_token_azure"] == 1 and counters["idp_token_code"] == 1
    assert counters["idp_graph_me"] == 1 and counters["graphql"] == 1


def test_azure_requires_verifier_and_redirect_uri(flow: Flow, emu: EmulatorServer) -> None:
    code = flow.code()
    for missing in ("token", "state", "code_verifier", "redirect_uri"):
        resp = flow.cway_exchange(code, **{missing: None})
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
        assert missing in resp.json()["error_description"]
    assert emu.counters["idp_token_code"] == 0  # rejected before bothering the IdP
    assert flow.cway_exchange(code).status_code == 200


def test_azure_passes_on_idp_rejection(flow: Flow) -> None:
    resp = flow.cway_exchange(flow.code(), code_verifier="x" * 50)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant" and "AADSTS50148" in resp.json()["error_description"]


def test_azure_unknown_cway_user_is_forbidden(flow: Flow) -> None:
    resp = flow.cway_exchange(flow.code(login_hint=CAROL))
    assert resp.status_code == 403 and resp.json()["error"] == "access_denied"
    assert "access_token" not in resp.json()


def test_cway_refresh_rotates(flow: Flow, emu: EmulatorServer) -> None:
    tokens = flow.cway_login()
    first = flow.cway_refresh(tokens["refresh_token"])
    assert first.status_code == 200 and first.json()["refresh_token"] != tokens["refresh_token"]
    reused = flow.cway_refresh(tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert flow.gql(first.json()["access_token"], LOGIN_INFO).status_code == 200
    assert flow.cway_refresh(first.json()["refresh_token"]).status_code == 200
    assert emu.counters["cway_token_refresh"] == 3


def test_cway_refresh_expires(flow: Flow, clock: ManualClock) -> None:
    tokens = flow.cway_login()
    clock.advance(144_000)
    resp = flow.cway_refresh(tokens["refresh_token"])
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_revoked_user_loses_refresh_and_access(flow: Flow, emu: EmulatorServer) -> None:
    tokens = flow.cway_login()
    bob = flow.cway_login(BOB)
    emu.revoke_user(ALICE)
    assert flow.cway_refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert unauthorized(flow.gql(tokens["access_token"], LOGIN_INFO))
    assert flow.gql(bob["access_token"], LOGIN_INFO).status_code == 200  # others unaffected
    assert flow.gql(flow.cway_login()["access_token"], LOGIN_INFO).status_code == 200  # sign in again


def test_graphql_rejects_bad_bearers(flow: Flow, emu: EmulatorServer, clock: ManualClock) -> None:
    tokens = flow.cway_login()
    assert unauthorized(flow.gql(None, LOGIN_INFO))
    assert unauthorized(flow.gql("not-a-jwt", LOGIN_INFO))
    resp = flow.http.post(emu.cway_api_url, json={"query": LOGIN_INFO}, headers={"Authorization": "Basic abc"})
    assert unauthorized(resp)
    forged = sign_hs256(new_hs256_key(), {"sub": ALICE, "exp": 4_000_000_000, "jti": "x"})
    assert unauthorized(flow.gql(forged, LOGIN_INFO))
    assert flow.gql(tokens["access_token"], LOGIN_INFO).status_code == 200
    clock.advance(3600)
    assert unauthorized(flow.gql(tokens["access_token"], LOGIN_INFO))
    assert emu.counters["graphql_unauthorized"] == 5


def test_token_from_another_instance_is_foreign(flow: Flow, clock: ManualClock) -> None:
    with EmulatorServer(clock=clock, auto_approve=True, redirect_uris=[flow.redirect_uri]) as other:
        foreign = Flow(other, flow.http, flow.redirect_uri).cway_login()
    assert unauthorized(flow.gql(foreign["access_token"], LOGIN_INFO))
    assert flow.cway_refresh(foreign["refresh_token"]).json()["error"] == "invalid_grant"


def test_static_tokens(flow: Flow, emu: EmulatorServer) -> None:
    seeded = flow.gql("cway-static-bob-0001", LOGIN_INFO).json()
    assert seeded["data"]["loginInfo"]["user"]["username"] == BOB
    issued = emu.issue_static_token(ALICE)
    assert flow.gql(issued, LOGIN_INFO).json()["data"]["loginInfo"]["user"]["username"] == ALICE
    assert unauthorized(flow.gql("cway-static-nobody", LOGIN_INFO))
    emu.knobs.update({"disabled_users": [ALICE]})
    assert unauthorized(flow.gql(issued, LOGIN_INFO))


def test_unsupported_and_malformed_grants(flow: Flow, emu: EmulatorServer) -> None:
    resp = flow.http.post(emu.cway_token_url, data={"grant_type": "password", "username": ALICE})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"
    resp = flow.http.post(emu.cway_token_url, data={"grant_type": "refresh_token"})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    assert flow.cway_refresh("cway_rt.made-up").json()["error"] == "invalid_grant"
