"""The emulated Entra ID enforces what the real one enforces (PKCE, codes, rotation, clients)."""

from __future__ import annotations

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from cway_contract.clock import ManualClock
from cway_emulator import CWAY_CLIENT_ID, EmulatorServer
from cway_emulator.fixtures import ALICE, BOB
from tests.emulator.conftest import Flow, query_of


def aadsts(resp: httpx.Response) -> int:
    body = resp.json()
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}:")
    return int(body["error_codes"][0])


def test_discovery_points_at_emulator_and_revocation_is_a_knob(emu: EmulatorServer, http: httpx.Client) -> None:
    url = emu.authority + "/.well-known/openid-configuration"
    doc = http.get(url).json()
    assert doc["issuer"] == emu.authority
    assert doc["token_endpoint"] == emu.idp_token_url
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "revocation_endpoint" not in doc
    emu.knobs.idp_revocation = True
    assert http.get(url).json()["revocation_endpoint"].endswith("/oauth2/v2.0/revoke")
    assert http.get(f"{emu.idp_url}/other-tenant/v2.0/.well-known/openid-configuration").status_code == 400


def test_full_code_exchange_issues_verifiable_tokens(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    resp = flow.redeem(flow.code())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["refresh_token"]
    jwks = http.get(emu.authority.removesuffix("/v2.0") + "/discovery/v2.0/keys").json()
    claims = jwt.decode(body["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"]).claims
    assert claims["iss"] == emu.authority and claims["aud"] == emu.client_id
    assert claims["nonce"] == "nonce-456" and claims["tid"] == emu.tenant
    assert claims["preferred_username"] == ALICE and claims["email"] == ALICE
    assert claims["sub"] != claims["oid"]  # pairwise subject, as in Entra
    assert claims["exp"] > claims["iat"] == claims["nbf"]


def test_state_is_echoed(flow: Flow, emu: EmulatorServer) -> None:
    location = emu.browser_sign_in(flow.authorize_url(state="xyz"))
    assert query_of(location)["state"] == "xyz"
    assert location.startswith(flow.redirect_uri + "?")


@pytest.mark.parametrize(
    ("overrides", "error", "code"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request", 9002325),
        ({"code_challenge_method": "plain"}, "invalid_request", 5001410),
        ({"code_challenge_method": None}, "invalid_request", 5001410),
        ({"code_challenge": None}, "invalid_request", 900144),
        ({"response_type": "token"}, "unsupported_response_type", 70005),
        ({"resource": "https://graph.microsoft.com"}, "invalid_target", 9010010),
        ({"scope": "openid bogus.scope"}, "invalid_scope", 70011),
        ({"login_hint": "nobody@contoso.example"}, "access_denied", 50034),
    ],
)
def test_authorize_errors_redirect_with_aadsts(
    flow: Flow, emu: EmulatorServer, overrides: dict[str, str | None], error: str, code: int
) -> None:
    query = query_of(emu.browser_sign_in(flow.authorize_url(**overrides)))
    assert "code" not in query
    assert query["error"] == error
    assert query["error_description"].startswith(f"AADSTS{code}:")
    assert query["state"] == "state-123"


def test_untrusted_redirect_uri_gets_an_error_page_not_a_redirect(flow: Flow, http: httpx.Client) -> None:
    resp = http.get(flow.authorize_url(redirect_uri="http://127.0.0.1:1/evil"))
    assert resp.status_code == 400 and "location" not in resp.headers
    assert "AADSTS50011" in resp.text
    unknown = http.get(flow.authorize_url(client_id="11111111-2222-3333-4444-555555555555"))
    assert unknown.status_code == 400 and "AADSTS700016" in unknown.text


def test_pkce_verifier_is_checked(flow: Flow) -> None:
    code = flow.code()
    missing = flow.redeem(code, code_verifier=None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant" and aadsts(missing) == 50148
    wrong = flow.redeem(code, code_verifier="w" * 50)
    assert wrong.status_code == 400 and aadsts(wrong) == 50148
    assert flow.redeem(code).status_code == 200


def test_code_is_single_use(flow: Flow) -> None:
    code = flow.code()
    assert flow.redeem(code).status_code == 200
    again = flow.redeem(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant" and aadsts(again) == 54005


def test_code_expires_after_knob_lifetime(flow: Flow, emu: EmulatorServer, clock: ManualClock) -> None:
    emu.knobs.idp_code_lifetime = 60
    fresh = flow.code()
    clock.advance(59)
    assert flow.redeem(fresh).status_code == 200
    stale = flow.code()
    clock.advance(60)
    resp = flow.redeem(stale)
    assert resp.status_code == 400 and aadsts(resp) == 70008


def test_redirect_uri_must_match_at_token(flow: Flow, emu: EmulatorServer) -> None:
    other = "http://127.0.0.1:2/other"
    emu.register_redirect_uri(other)
    code = flow.code()
    resp = flow.redeem(code, redirect_uri=other)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant" and aadsts(resp) == 50011
    assert aadsts(flow.redeem(code, redirect_uri=None)) == 900144


def test_code_is_bound_to_its_client(flow: Flow, emu: EmulatorServer) -> None:
    code = flow.code()
    resp = flow.redeem(code, client_id=CWAY_CLIENT_ID, client_secret=emu.emulator.cway_client_secret)
    assert resp.status_code == 400 and aadsts(resp) == 70000


def test_confidential_client_needs_its_secret(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    secret = emu.emulator.cway_client_secret
    code = flow.code(client_id=CWAY_CLIENT_ID)
    none = flow.redeem(code, client_id=CWAY_CLIENT_ID)
    assert none.status_code == 401 and none.json()["error"] == "invalid_client" and aadsts(none) == 7000218
    wrong = flow.redeem(code, client_id=CWAY_CLIENT_ID, client_secret="nope")
    assert wrong.status_code == 401 and aadsts(wrong) == 7000215
    basic = http.post(
        emu.idp_token_url,
        auth=(CWAY_CLIENT_ID, secret),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri,
              "code_verifier": flow.verifier},
    )  # fmt: skip
    assert basic.status_code == 200, basic.text


def test_public_client_must_not_send_a_secret(flow: Flow) -> None:
    resp = flow.redeem(flow.code(), client_secret="anything")
    assert resp.status_code == 401 and aadsts(resp) == 700025


def test_refresh_issues_a_new_token_and_the_old_one_stays_valid(flow: Flow, emu: EmulatorServer) -> None:
    # Entra: every redemption returns a new refresh token, the old one lives until its own lifetime ends.
    first = flow.redeem(flow.code()).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": emu.client_id}
    second = flow.idp_token(**form, refresh_token=first)
    assert second.status_code == 200
    new_rt = second.json()["refresh_token"]
    assert new_rt != first
    assert flow.idp_token(**form, refresh_token=first).status_code == 200
    assert flow.idp_token(**form, refresh_token=new_rt).status_code == 200
    assert emu.counters["idp_token_refresh"] == 3


def test_single_use_knob_makes_a_redeemed_refresh_token_die(flow: Flow, emu: EmulatorServer) -> None:
    emu.knobs.idp_refresh_single_use = True
    first = flow.redeem(flow.code()).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": emu.client_id}
    new_rt = flow.idp_token(**form, refresh_token=first).json()["refresh_token"]
    reused = flow.idp_token(**form, refresh_token=first)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert flow.idp_token(**form, refresh_token=new_rt).status_code == 200


def test_no_refresh_token_without_offline_access(flow: Flow) -> None:
    body = flow.redeem(flow.code(scope="openid profile User.Read")).json()
    assert "refresh_token" not in body and "id_token" in body


def test_revoked_user_and_inactivity(flow: Flow, emu: EmulatorServer, clock: ManualClock) -> None:
    form = {"grant_type": "refresh_token", "client_id": emu.client_id}
    rt = flow.redeem(flow.code()).json()["refresh_token"]
    emu.revoke_user(ALICE)
    assert aadsts(flow.idp_token(**form, refresh_token=rt)) == 50173
    rt2 = flow.redeem(flow.code()).json()["refresh_token"]  # a fresh sign-in works again
    emu.knobs.idp_refresh_inactivity = 100
    clock.advance(101)
    assert aadsts(flow.idp_token(**form, refresh_token=rt2)) == 700082


def test_userinfo_and_graph_me(flow: Flow, emu: EmulatorServer, http: httpx.Client, clock: ManualClock) -> None:
    access = flow.redeem(flow.code(login_hint=BOB)).json()["access_token"]
    auth = {"Authorization": f"Bearer {access}"}
    me = http.get(f"{emu.idp_url}/v1.0/me", headers=auth).json()
    assert me["mail"] == BOB and me["userPrincipalName"] == BOB and me["displayName"] == "Bob Berg"
    assert http.get(f"{emu.idp_url}/oidc/userinfo", headers=auth).json()["email"] == BOB
    assert http.get(f"{emu.idp_url}/v1.0/me", headers={"Authorization": "Bearer junk"}).status_code == 401
    assert http.get(f"{emu.idp_url}/oidc/userinfo").status_code == 401
    clock.advance(3600)
    assert http.get(f"{emu.idp_url}/v1.0/me", headers=auth).status_code == 401


def test_sign_in_form_without_auto_approve(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    emu.knobs.auto_approve = False
    page = http.get(flow.authorize_url())
    assert page.status_code == 200 and "<form" in page.text and "Approve" in page.text
    code = query_of(emu.browser_sign_in(flow.authorize_url(), username=BOB))["code"]
    access = flow.redeem(code).json()["access_token"]
    me = http.get(f"{emu.idp_url}/v1.0/me", headers={"Authorization": f"Bearer {access}"}).json()
    assert me["mail"] == BOB
    denied = query_of(emu.browser_sign_in(flow.authorize_url(), approve=False))
    assert denied["error"] == "access_denied" and denied["state"] == "state-123"
    silent = query_of(emu.browser_sign_in(flow.authorize_url(prompt="none")))
    assert silent["error"] == "login_required"
    assert emu.counters["idp_authorize_denied"] == 1


def test_revocation_endpoint_only_when_enabled(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    rt = flow.redeem(flow.code()).json()["refresh_token"]
    url = emu.idp_token_url.removesuffix("/token") + "/revoke"
    assert http.post(url, data={"token": rt}).status_code == 404
    emu.knobs.idp_revocation = True
    assert http.post(url, data={"token": rt, "client_id": emu.client_id}).status_code == 200
    resp = flow.idp_token(grant_type="refresh_token", client_id=emu.client_id, refresh_token=rt)
    assert resp.json()["error"] == "invalid_grant"
