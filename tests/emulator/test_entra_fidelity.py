"""The emulator behaves like Entra where a client could be fooled: loopback redirect ports, refresh
tokens that outlive their redemption, injected refusals per account and grant (in-process and over
HTTP), multi-tenant authorities, and Cway's strict per-shape exchange."""

from __future__ import annotations

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from cway_emulator import EmulatorServer, SignInError
from cway_emulator.emulator import SECOND_TENANT
from cway_emulator.fixtures import ALICE, BOB

from .conftest import Flow, free_port, query_of


def test_a_loopback_redirect_uri_matches_whatever_its_port(flow: Flow, emu: EmulatorServer) -> None:
    other_port = flow.redirect_uri.replace(flow.redirect_uri.split(":")[2].split("/")[0], str(free_port()))
    code = flow.code(redirect_uri=other_port)  # Entra's native-app rule: the port is not compared
    # … but the code is bound to the exact URI used at /authorize
    assert flow.redeem(code, redirect_uri=flow.redirect_uri).json()["error_codes"] == [50011]
    assert flow.redeem(code, redirect_uri=other_port).status_code == 200


def test_the_exact_port_knob_refuses_another_port(flow: Flow, emu: EmulatorServer) -> None:
    emu.knobs.idp_redirect_exact_port = True
    other_port = flow.redirect_uri.replace(flow.redirect_uri.split(":")[2].split("/")[0], str(free_port()))
    with pytest.raises(SignInError, match="AADSTS50011"):
        emu.browser_sign_in(flow.authorize_url(redirect_uri=other_port))


def test_another_path_or_host_never_matches(flow: Flow, emu: EmulatorServer) -> None:
    with pytest.raises(SignInError, match="AADSTS50011"):
        emu.browser_sign_in(flow.authorize_url(redirect_uri=flow.redirect_uri.replace("/callback", "/other")))
    with pytest.raises(SignInError, match="AADSTS50011"):
        emu.browser_sign_in(flow.authorize_url(redirect_uri=flow.redirect_uri.replace("127.0.0.1", "localhost")))


@pytest.mark.parametrize(
    ("aadsts", "error", "status"), [(50076, "interaction_required", 400), (7000215, "invalid_client", 401)]
)
def test_an_injected_fault_hits_only_its_account_and_grant(
    flow: Flow, emu: EmulatorServer, aadsts: int, error: str, status: int
) -> None:
    emu.knobs.entra_fault(aadsts, grant="refresh_token", account=ALICE)
    alice_rt = flow.redeem(flow.code()).json()["refresh_token"]  # the code grant is not hit
    bob_rt = flow.redeem(flow.code(login_hint=BOB)).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": emu.client_id}
    assert flow.idp_token(**form, refresh_token=bob_rt).status_code == 200  # nor is another account
    refused = flow.idp_token(**form, refresh_token=alice_rt)
    assert refused.status_code == status and refused.json()["error"] == error
    assert refused.json()["error_codes"] == [aadsts] and f"AADSTS{aadsts}" in refused.json()["error_description"]
    assert flow.idp_token(**form, refresh_token=alice_rt).status_code == 200  # count=1: spent


def test_faults_over_the_http_admin_route(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    admin = emu.idp_url + "/_emulator/knobs"
    body = {"entra_faults": [{"aadsts": 53003, "grant": "authorization_code", "account": ALICE}]}
    assert http.post(admin, json=body).status_code == 200
    refused = flow.redeem(flow.code())
    assert refused.json()["error"] == "interaction_required" and refused.json()["error_codes"] == [53003]
    assert http.post(admin, json={"entra_faults": [{"aadsts": 1}]}).status_code == 400  # unknown number
    assert http.post(admin, json={"entra_faults": [{"aadsts": 50076, "grant": "password"}]}).status_code == 400


def test_a_code_redeemed_by_cway_meets_the_fault_too(flow: Flow, emu: EmulatorServer) -> None:
    emu.knobs.entra_fault(65001, grant="authorization_code")
    refused = flow.cway_exchange(flow.code())
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "AADSTS65001" in refused.json()["error_description"]  # Cway relays Entra's text


def test_organizations_needs_a_multi_tenant_app_and_issues_per_tenant(
    flow: Flow, emu: EmulatorServer, http: httpx.Client
) -> None:
    url = flow.authorize_url().replace(f"/{emu.tenant}/", "/organizations/")
    with pytest.raises(SignInError, match="AADSTS50194"):
        emu.browser_sign_in(url)
    emu.knobs.idp_app_multi_tenant = True
    emu.emulator.place_user(BOB, SECOND_TENANT)
    doc = http.get(f"{emu.idp_url}/organizations/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{emu.idp_url}/{{tenantid}}/v2.0"
    code = query_of(
        emu.browser_sign_in(flow.authorize_url(login_hint=BOB).replace(f"/{emu.tenant}/", "/organizations/"))
    )["code"]
    tokens = http.post(
        doc["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "client_id": emu.client_id,
            "code": code,
            "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier,
        },
    ).json()
    keys = KeySet.import_key_set(http.get(doc["jwks_uri"]).json())
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["tid"] == SECOND_TENANT and claims["iss"] == f"{emu.idp_url}/{SECOND_TENANT}/v2.0"
    domain = http.get(f"{emu.idp_url}/fabrikam.example/v2.0/.well-known/openid-configuration").json()
    assert domain["issuer"] == f"{emu.idp_url}/{SECOND_TENANT}/v2.0"
    assert http.get(f"{emu.idp_url}/nowhere.example/v2.0/.well-known/openid-configuration").status_code == 400


def test_cways_answer_carries_only_known_fields_unless_the_knob_says_so(flow: Flow, emu: EmulatorServer) -> None:
    assert "refresh_expires_in" not in flow.cway_login()
    emu.knobs.cway_refresh_expires_in = True
    assert flow.cway_login()["refresh_expires_in"] == emu.knobs.cway_refresh_lifetime
