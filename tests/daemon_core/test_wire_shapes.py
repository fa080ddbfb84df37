"""Pin the exact requests the core sends (pytest-httpx): authorize URL, Cway exchange, refresh."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pytest_httpx import HTTPXMock

from cway_authd.control.peercred import PeerCredentials
from cway_authd.core import DaemonCore
from cway_authd.refresh.engine import RetryPolicy
from cway_contract.clock import ManualClock
from cway_contract.config import Settings

from .conftest import MOCK_API_URL, MOCK_AUTHORITY, MOCK_TOKEN_URL

DISCOVERY = {
    "issuer": MOCK_AUTHORITY,
    "authorization_endpoint": "https://login.example.test/tenant-1/oauth2/v2.0/authorize",
    "token_endpoint": "https://login.example.test/tenant-1/oauth2/v2.0/token",
    "jwks_uri": "https://login.example.test/tenant-1/discovery/v2.0/keys",
}
LOGIN_INFO = {
    "data": {
        "loginInfo": {
            "user": {"username": "alice@contoso.example", "email": "alice@contoso.example", "name": "Alice"},
            "currentOrganisation": {"id": "org-1", "name": "Contoso"},
        }
    }
}


def s256(verifier: str) -> str:
    """RFC 7636 §4.2, computed here independently of the daemon's code (and its Appendix B example checks it)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def test_s256_matches_rfc_7636_appendix_b() -> None:
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


PEER = PeerCredentials(pid=1234, uid=1000, gid=1000)


def form_of(request: httpx.Request) -> dict[str, list[str]]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return parse_qs(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=True)


def query_of(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values()), "no parameter may repeat"
    return {k: v[0] for k, v in parsed.items()}


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def core(settings: Settings, clock: ManualClock, fast_retry: RetryPolicy) -> AsyncIterator[DaemonCore]:
    core = DaemonCore(settings, clock=clock, retry=fast_retry)
    yield core
    await core.stop()


def mock_discovery(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="GET", url=f"{MOCK_AUTHORITY}/.well-known/openid-configuration", json=DISCOVERY, is_reusable=True
    )


async def test_authorization_url_has_exactly_the_documented_parameters(
    core: DaemonCore, settings: Settings, httpx_mock: HTTPXMock
) -> None:
    mock_discovery(httpx_mock)
    status = await core.start_sign_in("Alice@Contoso.example")
    assert status.state == "pending" and status.authorization_url
    assert status.authorization_url.startswith(DISCOVERY["authorization_endpoint"] + "?")
    params = query_of(status.authorization_url)
    assert set(params) == {
        "client_id",
        "response_type",
        "redirect_uri",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "login_hint",
    }
    assert "resource" not in params
    assert params["client_id"] == "client-123"
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == settings.redirect.uri
    assert params["response_mode"] == "query"
    assert params["scope"] == "openid profile email User.Read"
    assert params["code_challenge_method"] == "S256"
    assert params["prompt"] == "select_account"
    assert params["login_hint"] == "Alice@Contoso.example"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    flow = core.sign_in.flows.get(status.flow_id)
    assert flow is not None
    assert params["code_challenge"] == s256(flow.code_verifier)
    # a second start for the same account (any spelling) shares the pending flow
    again = await core.start_sign_in("alice@contoso.example ")
    assert again.flow_id == status.flow_id and again.authorization_url == status.authorization_url
    # and without a username there is no login_hint
    anonymous = await core.start_sign_in(None)
    assert anonymous.flow_id != status.flow_id
    assert "login_hint" not in query_of(anonymous.authorization_url or "")


async def sign_in_alice(core: DaemonCore, httpx_mock: HTTPXMock, *, refresh_token: str = "rt-1") -> str:
    mock_discovery(httpx_mock)
    httpx_mock.add_response(
        method="POST",
        url=MOCK_TOKEN_URL,
        json={"access_token": "at-1", "refresh_token": refresh_token, "expires_in": 3600, "token_type": "bearer"},
    )
    httpx_mock.add_response(method="POST", url=MOCK_API_URL, json=LOGIN_INFO)
    status = await core.start_sign_in("alice@contoso.example")
    state = query_of(status.authorization_url or "")["state"]
    outcome = await core.handle_callback({"code": "the-entra-code", "state": state})
    assert outcome.ok, outcome.message
    return state


async def test_cway_exchange_request_is_exactly_the_contract(
    core: DaemonCore, settings: Settings, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    state = await sign_in_alice(core, httpx_mock)
    flow = next(iter(core.sign_in.flows._flows.values()))
    exchange = httpx_mock.get_request(method="POST", url=MOCK_TOKEN_URL)
    assert exchange is not None
    assert exchange.method == "POST"
    assert str(exchange.url) == MOCK_TOKEN_URL
    form = form_of(exchange)
    # Entra binds a code to client id, redirect URI and verifier: Cway needs all three to redeem it.
    assert set(form) == {"grant_type", "token", "state", "client_id", "code_verifier", "redirect_uri"}
    assert form["client_id"] == [settings.azure_client_id]
    assert form["grant_type"] == ["azure"]
    assert form["token"] == ["the-entra-code"]
    assert form["state"] == [state]
    assert form["redirect_uri"] == [settings.redirect.uri]
    verifier = form["code_verifier"][0]
    assert 43 <= len(verifier) <= 128
    challenge = query_of(flow.authorization_url)["code_challenge"]
    assert s256(verifier) == challenge
    assert "resource" not in form and "client_secret" not in form

    graphql = httpx_mock.get_request(method="POST", url=MOCK_API_URL)
    assert graphql is not None and graphql.headers["authorization"] == "Bearer at-1"

    info = await core.account("alice@contoso.example")
    assert info.state == "ok"
    assert info.access_expires_at == clock.now() + timedelta(seconds=3600)
    assert info.organisation_name == "Contoso"


async def test_refresh_request_is_exactly_the_contract(
    core: DaemonCore, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    await sign_in_alice(core, httpx_mock, refresh_token="rt-original")
    bearer = await core.bearer(None, PEER)
    assert bearer.access_token == "at-1" and bearer.username == "alice@contoso.example"
    assert len(httpx_mock.get_requests(url=MOCK_TOKEN_URL)) == 1  # fast path: no refresh yet

    httpx_mock.add_response(
        method="POST",
        url=MOCK_TOKEN_URL,
        json={"access_token": "at-2", "refresh_token": "rt-rotated", "expires_in": 3600},
    )
    clock.advance(3600 - 299)  # threshold is 300 s
    bearer = await core.bearer("alice@contoso.example", PEER)
    assert bearer.access_token == "at-2"
    refresh = httpx_mock.get_requests(method="POST", url=MOCK_TOKEN_URL)[-1]
    assert refresh.method == "POST"
    assert form_of(refresh) == {"grant_type": ["refresh_token"], "refresh_token": ["rt-original"]}
    stored = await core.store.load("alice@contoso.example")
    assert stored is not None and stored.refresh_token == "rt-rotated"


async def test_a_refresh_answer_without_a_refresh_token_keeps_the_old_one(
    core: DaemonCore, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    # OAuth 2.0 (RFC 6749 section 6) lets a server keep the refresh token it issued: then the old one stays valid.
    await sign_in_alice(core, httpx_mock, refresh_token="rt-original")
    for access in ("at-2", "at-3"):
        httpx_mock.add_response(method="POST", url=MOCK_TOKEN_URL, json={"access_token": access, "expires_in": 3600})
        clock.advance(3600 - 299)
        assert (await core.bearer(None, PEER)).access_token == access
        refresh = httpx_mock.get_requests(method="POST", url=MOCK_TOKEN_URL)[-1]
        assert form_of(refresh)["refresh_token"] == ["rt-original"]
        stored = await core.store.load("alice@contoso.example")
        assert stored is not None and stored.refresh_token == "rt-original" and stored.access_token == access


async def test_transport_error_text_with_a_code_never_leaks(core: DaemonCore, httpx_mock: HTTPXMock) -> None:
    mock_discovery(httpx_mock)
    httpx_mock.add_exception(
        httpx.ConnectError("boom https://cway.example.test/oauth/token?token=SECRETCODE"), url=MOCK_TOKEN_URL
    )
    status = await core.start_sign_in(None)
    state = query_of(status.authorization_url or "")["state"]
    outcome = await core.handle_callback({"code": "SECRETCODE", "state": state})
    assert not outcome.ok and outcome.status_code == 502
    assert "SECRETCODE" not in outcome.message and state not in outcome.message
    assert "could not reach" in outcome.message
    final = core.sign_in_status(status.flow_id)
    assert final.state == "failed" and "SECRETCODE" not in (final.message or "")
    assert "SECRETCODE" not in core._audit.path.read_text()
    assert await core.list_accounts() == []
