"""IdP access tokens at Cway (``AUTH_FLOW=direct``): the audience follows the scopes, as in Entra.

Scopes ``api://cway/<name>`` give a token for the Cway app, which Cway's GraphQL accepts; Graph
scopes give a Graph token, which it refuses. A token request naming both resources is refused.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from cway_contract.clock import ManualClock
from cway_emulator import CWAY_API_SCOPE, CWAY_CLIENT_ID, EmulatorServer
from cway_emulator.fixtures import ALICE, BOB, CAROL
from cway_emulator.idp_model import GRAPH_APP_ID
from tests.emulator.conftest import Flow, query_of

LOGIN_INFO = "{ loginInfo { user { username } } }"
CWAY_SCOPES = f"openid profile email offline_access {CWAY_API_SCOPE}"


def unauthorized(resp: httpx.Response) -> bool:
    return resp.status_code == 401 and resp.json() == {"errors": [{"message": "Unauthorized"}]}


def whoami(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    return str(resp.json()["data"]["loginInfo"]["user"]["username"])


def idp_keys(emu: EmulatorServer, http: httpx.Client) -> KeySet:
    return KeySet.import_key_set(http.get(emu.authority.removesuffix("/v2.0") + "/discovery/v2.0/keys").json())


def claims_of(emu: EmulatorServer, http: httpx.Client, token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, idp_keys(emu, http), algorithms=["RS256"]).claims)


def idp_tokens(flow: Flow, scope: str = CWAY_SCOPES, user: str = ALICE) -> dict[str, Any]:
    resp = flow.redeem(flow.code(scope=scope, login_hint=user))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_cway_scope_gives_a_token_for_the_cway_app_that_cway_accepts(
    flow: Flow, emu: EmulatorServer, http: httpx.Client
) -> None:
    assert emu.cway_api_scope == "api://cway/user_impersonation" and emu.cway_app_id == CWAY_CLIENT_ID
    tokens = idp_tokens(flow)
    assert tokens["refresh_token"] and tokens["id_token"]
    claims = claims_of(emu, http, tokens["access_token"])
    assert claims["aud"] == CWAY_CLIENT_ID and claims["iss"] == emu.authority and claims["ver"] == "2.0"
    assert claims["scp"] == "user_impersonation" and claims["preferred_username"] == ALICE
    assert claims["azp"] == emu.client_id and claims["tid"] == emu.tenant
    assert whoami(flow.gql(tokens["access_token"], LOGIN_INFO)) == ALICE
    # ... and it is no Graph token: Graph /me refuses it
    me = http.get(f"{emu.idp_url}/v1.0/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401
    assert emu.counters["graphql"] == 1 and emu.counters["graphql_unauthorized"] == 0


def test_a_graph_token_is_refused_by_cway(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    tokens = idp_tokens(flow, scope="openid profile email offline_access User.Read")
    claims = claims_of(emu, http, tokens["access_token"])
    assert claims["aud"] == GRAPH_APP_ID and "User.Read" in claims["scp"].split()
    me = http.get(f"{emu.idp_url}/v1.0/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["mail"] == ALICE  # a fine Graph token ...
    assert unauthorized(flow.gql(tokens["access_token"], LOGIN_INFO))  # ... that Cway does not take
    # Only OIDC scopes: Entra still issues a Graph token (User.Read), which Cway refuses too.
    oidc_only = idp_tokens(flow, scope="openid profile email")
    assert claims_of(emu, http, oidc_only["access_token"])["aud"] == GRAPH_APP_ID
    assert unauthorized(flow.gql(oidc_only["access_token"], LOGIN_INFO))
    assert emu.counters["graphql"] == 2 and emu.counters["graphql_unauthorized"] == 2


def test_knob_off_means_cway_refuses_idp_tokens(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    token = idp_tokens(flow)["access_token"]
    emu.knobs.cway_accepts_idp_tokens = False
    assert unauthorized(flow.gql(token, LOGIN_INFO))
    assert http.post(emu.cway_base_url + "/_emulator/knobs", json={"cway_accepts_idp_tokens": True}).status_code < 300
    assert whoami(flow.gql(token, LOGIN_INFO)) == ALICE
    assert emu.counters["graphql_unauthorized"] == 1


def test_an_expired_idp_token_is_refused(flow: Flow, clock: ManualClock) -> None:
    token = idp_tokens(flow)["access_token"]
    clock.advance(3599)
    assert whoami(flow.gql(token, LOGIN_INFO)) == ALICE
    clock.advance(1)
    assert unauthorized(flow.gql(token, LOGIN_INFO))


def test_a_token_signed_by_another_key_is_refused(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    real = idp_tokens(flow)["access_token"]
    verified = jwt.decode(real, idp_keys(emu, http), algorithms=["RS256"])
    claims, header = dict(verified.claims), verified.header
    forger = RSAKey.generate_key(2048, parameters={"kid": header["kid"]}, private=True)
    forged = jwt.encode({"alg": "RS256", "typ": "JWT", "kid": header["kid"]}, claims, forger)
    assert unauthorized(flow.gql(forged, LOGIN_INFO))
    # the same claims HMAC-signed (an algorithm-confusion attempt) do not pass either
    hs256 = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key("x" * 32))
    assert unauthorized(flow.gql(hs256, LOGIN_INFO))
    assert whoami(flow.gql(real, LOGIN_INFO)) == ALICE


def test_a_token_of_another_emulator_instance_is_refused(flow: Flow, clock: ManualClock) -> None:
    with EmulatorServer(clock=clock, auto_approve=True, redirect_uris=[flow.redirect_uri]) as other:
        foreign = idp_tokens(Flow(other, flow.http, flow.redirect_uri))["access_token"]
    assert unauthorized(flow.gql(foreign, LOGIN_INFO))  # same signing key in this process, other issuer


def test_revoked_disabled_and_unknown_cway_users_are_refused(flow: Flow, emu: EmulatorServer) -> None:
    alice, bob = idp_tokens(flow)["access_token"], idp_tokens(flow, user=BOB)["access_token"]
    carol = idp_tokens(flow, user=CAROL)["access_token"]  # in Entra, not in Cway
    assert unauthorized(flow.gql(carol, LOGIN_INFO))
    emu.revoke_user(ALICE)
    assert unauthorized(flow.gql(alice, LOGIN_INFO))
    assert whoami(flow.gql(idp_tokens(flow)["access_token"], LOGIN_INFO)) == ALICE  # signs in again
    emu.knobs.update({"disabled_users": [BOB]})
    assert unauthorized(flow.gql(bob, LOGIN_INFO))


def test_no_refresh_token_without_offline_access(flow: Flow) -> None:
    tokens = idp_tokens(flow, scope=f"openid profile email {CWAY_API_SCOPE}")
    assert "refresh_token" not in tokens and tokens["access_token"] and tokens["id_token"]


def test_refresh_keeps_the_cway_audience_and_rotates(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    first = idp_tokens(flow)["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": emu.client_id, "scope": CWAY_SCOPES}
    resp = flow.idp_token(**form, refresh_token=first)
    assert resp.status_code == 200, resp.text
    assert claims_of(emu, http, resp.json()["access_token"])["aud"] == CWAY_CLIENT_ID
    assert whoami(flow.gql(resp.json()["access_token"], LOGIN_INFO)) == ALICE
    # Entra does not revoke a redeemed refresh token: it lives until its own lifetime ends.
    assert flow.idp_token(**form, refresh_token=first).status_code == 200


def test_a_token_request_for_two_resources_is_refused(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    # /authorize may ask for consent to several resources; a token is for one of them.
    code = flow.code(scope=f"{CWAY_SCOPES} User.Read")
    mixed = flow.redeem(code)
    assert mixed.status_code == 400 and mixed.json()["error"] == "invalid_scope"
    assert mixed.json()["error_codes"] == [28000] and "more than one resource" in mixed.json()["error_description"]
    # the refusal did not spend the code: naming one resource works
    narrowed = flow.redeem(code, scope=CWAY_SCOPES)
    assert narrowed.status_code == 200, narrowed.text
    assert claims_of(emu, http, narrowed.json()["access_token"])["aud"] == CWAY_CLIENT_ID
    form = {
        "grant_type": "refresh_token",
        "client_id": emu.client_id,
        "refresh_token": narrowed.json()["refresh_token"],
    }
    again = flow.idp_token(**form, scope=f"{CWAY_SCOPES} User.Read")
    assert again.status_code == 400 and again.json()["error_codes"] == [28000]
    # the refresh token is multi-resource, as in Entra: it may be redeemed for the other consented one
    graph = flow.idp_token(**form, scope="openid User.Read offline_access")
    assert graph.status_code == 200, graph.text
    assert claims_of(emu, http, graph.json()["access_token"])["aud"] == GRAPH_APP_ID


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        ("openid api://unknown-app/user_impersonation", "invalid_resource", 500011),
        ("openid api://cway/no_such_scope", "invalid_scope", 70011),
        ("openid api://cway", "invalid_scope", 70011),
    ],
)
def test_unknown_api_resources_and_scopes_are_refused_at_authorize(
    flow: Flow, emu: EmulatorServer, scope: str, error: str, code: int
) -> None:
    query = query_of(emu.browser_sign_in(flow.authorize_url(scope=scope)))
    assert "code" not in query and query["error"] == error
    assert query["error_description"].startswith(f"AADSTS{code}:")


def test_the_cway_api_can_be_named_by_client_id_and_default(
    flow: Flow, emu: EmulatorServer, http: httpx.Client
) -> None:
    tokens = idp_tokens(flow, scope=f"openid offline_access api://{CWAY_CLIENT_ID}/.default")
    claims = claims_of(emu, http, tokens["access_token"])
    assert claims["aud"] == CWAY_CLIENT_ID and claims["scp"] == "user_impersonation"
    assert whoami(flow.gql(tokens["access_token"], LOGIN_INFO)) == ALICE
